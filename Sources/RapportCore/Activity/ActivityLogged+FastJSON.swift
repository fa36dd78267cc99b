package import Foundation
import RapportEventLog

/// `ActivityLogged` is most of a CRM log's events, and the contact history
/// reads each one: its payload is read here without `JSONDecoder` when it
/// has the shape the codec writes (`FastJSONDecodable`). Anything else
/// (escapes in keys, unknown or repeated keys, other date or number forms)
/// is declined and left to `JSONDecoder`.
extension ActivityLogged: FastJSONDecodable {
    package init?(fastJSON data: Data) {
        let text = JSONText(data)
        var v: [Range<Int>?] = []
        guard FastJSON.object(text, text.whole, keys: ["details", "links", "loggedBy", "occurredAt", "notes", "outcome"], into: &v),
              let details = v[0].flatMap({ Self.details(text, $0) }), let links = v[1].flatMap({ Self.links(text, $0) }),
              let loggedBy = FastJSON.string(text, v[2]), let occurredAt = FastJSON.date(text, v[3]),
              let notes = FastJSON.optionalString(text, v[4]), let outcome = FastJSON.optionalString(text, v[5])
        else { return nil }
        self.init(details: details, links: links, loggedBy: loggedBy, occurredAt: occurredAt, notes: notes, outcome: outcome)
    }

    /// `{"<case>":{<its values by label>}}`, as Swift's synthesized coding writes the enum.
    private static func details(_ text: JSONText, _ range: Range<Int>) -> ActivityDetails? {
        guard let members = text.members(in: range, strict: true), members.count == 1 else { return nil }
        let (kind, body) = members[0]
        var v: [Range<Int>?] = []
        /// The case's values, every label present.
        func values(_ labels: [StaticString]) -> Bool {
            FastJSON.object(text, body, keys: labels, into: &v) && !v.contains { $0 == nil }
        }
        func direction(_ range: Range<Int>?) -> ActivityDirection? {
            FastJSON.string(text, range).flatMap(ActivityDirection.init(rawValue:))
        }
        if text.is(kind, "call") {
            guard values(["direction", "duration"]), let direction = direction(v[0]), let duration = FastJSON.double(text, v[1]) else { return nil }
            return .call(direction: direction, duration: duration)
        } else if text.is(kind, "meeting") {
            guard values(["title", "attendees", "start", "end"]), let title = FastJSON.string(text, v[0]),
                  let attendees = FastJSON.strings(text, v[1]), let start = FastJSON.date(text, v[2]), let end = FastJSON.date(text, v[3])
            else { return nil }
            return .meeting(title: title, attendees: attendees, start: start, end: end)
        } else if text.is(kind, "email") {
            guard values(["direction", "subject"]), let direction = direction(v[0]), let subject = FastJSON.string(text, v[1]) else { return nil }
            return .email(direction: direction, subject: subject)
        } else if text.is(kind, "sms") {
            guard values(["direction", "text"]), let direction = direction(v[0]), let message = FastJSON.string(text, v[1]) else { return nil }
            return .sms(direction: direction, text: message)
        } else if text.is(kind, "chat") {
            guard values(["text"]), let message = FastJSON.string(text, v[0]) else { return nil }
            return .chat(text: message)
        } else if text.is(kind, "note") {
            guard values(["text"]), let message = FastJSON.string(text, v[0]) else { return nil }
            return .note(text: message)
        } else if text.is(kind, "webForm") {
            guard values(["form", "fields"]), let form = FastJSON.string(text, v[0]), let members = text.members(in: v[1]!, strict: true)
            else { return nil }
            var fields: [String: String] = [:]
            for (name, value) in members {
                guard let name = text.string(name), let value = text.string(value), fields.updateValue(value, forKey: name) == nil else { return nil }
            }
            return .webForm(form: form, fields: fields)
        }
        return nil
    }

    /// `[{"id":"<uuid>","kind":"<kind>"}, …]`.
    private static func links(_ text: JSONText, _ range: Range<Int>) -> [EntityRef]? {
        guard let elements = text.elements(in: range, strict: true) else { return nil }
        var links: [EntityRef] = []
        links.reserveCapacity(elements.count)
        var v: [Range<Int>?] = []
        for element in elements {
            guard FastJSON.object(text, element, keys: ["id", "kind"], into: &v), let kind = FastJSON.string(text, v[1]),
                  let id = FastJSON.string(text, v[0]).flatMap(UUID.init(text:)),
                  // A kind that is not an entity kind is declined: JSONDecoder refuses it with its reason.
                  let link = try? EntityRef(kind: kind, id: id) else { return nil }
            links.append(link)
        }
        return links
    }
}
