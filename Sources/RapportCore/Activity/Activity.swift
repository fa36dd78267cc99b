public import Foundation
public import RapportEventLog

/// The identity of an activity.
public typealias ActivityID = Identifier<Activity>

/// One interaction with a customer on some channel (a call, a meeting, an
/// email, an SMS, a chat, a note or a web form submission), linked to the
/// contacts, companies and deals it concerns. Every event of an activity
/// carries the tags of all its linked entities, so each of their histories
/// shows it.
///
/// ```swift
/// let call = ActivityID()
/// try await repository.execute(.logCall(.outbound, duration: 300, outcome: "wants a demo",
///                                       links: [EntityRef(adaID), EntityRef(kind: "deal", id: dealUUID)]),
///                              on: call, context: context)
/// try await repository.execute(.amendNotes("Call back after the board meeting."), on: call, context: context)
/// ```
public struct Activity: Aggregate {
    /// The kind: stream ids `activity-<uuid>`, tags `activity:<uuid>`.
    public static let kind = "activity"
    /// The most entities one activity may link (each link is a tag on every event).
    public static let maximumLinks = 50
    /// The most attendees a meeting lists, as given (at most 300 characters each).
    public static let maximumAttendees = 500
    /// The most fields a web form submission carries (each value at most 10,000 characters). A
    /// submission past the store's record size is still refused at the append
    /// (``CRMError/store(_:)`` with ``EventStoreError/eventTooLarge(id:size:limit:)``).
    public static let maximumFormFields = 200

    /// The activity's identity.
    public let id: ActivityID
    /// False until ``ActivityLogged``.
    public internal(set) var exists = false
    /// What happened, on which channel.
    public internal(set) var details: ActivityDetails?
    /// The contacts, companies, deals… it concerns; never empty once logged.
    public internal(set) var links: [EntityRef] = []
    /// The principal who logged it (the logging command's actor); also its owner.
    public internal(set) var loggedBy: String?
    /// When it happened.
    public internal(set) var occurredAt: Date?
    /// Free-text notes; nil when there are none.
    public internal(set) var notes: String?
    /// What came of it, such as "wants a demo"; nil when none was recorded.
    public internal(set) var outcome: String?
    /// Whether it was removed (a soft delete: its history stays).
    public internal(set) var isRemoved = false
    /// Why it was removed, when a reason was given; nil otherwise.
    public internal(set) var removalReason: String?

    /// An activity that was not logged yet: the state before any event.
    public init(id: ActivityID) { self.id = id }

    /// The kind of interaction.
    public var type: ActivityType? { details?.type }

    /// The owner for access policies and `owner:` tags: who logged it (``loggedBy``).
    public var ownerID: String? { loggedBy }

    /// Refuses commands to a removed activity.
    func ensureActive() throws(CRMError) {
        if isRemoved { throw .invalidTransition(kind: Self.kind, id: id.description, reason: "it was removed") }
    }

    /// Folds one stored activity event into the state; other events are ignored.
    public mutating func apply(_ event: any Event) {
        switch event {
        case let e as ActivityLogged:
            exists = true
            details = e.details
            links = e.links
            loggedBy = e.loggedBy
            occurredAt = e.occurredAt
            notes = e.notes
            outcome = e.outcome
        case let e as ActivityNotesAmended: notes = e.to
        case let e as ActivityOutcomeAmended: outcome = e.to
        case let e as ActivityLinked: if !links.contains(e.entity) { links.append(e.entity) }
        case let e as ActivityUnlinked: links.removeAll { $0 == e.entity }
        case let e as ActivityRemoved:
            isRemoved = true
            removalReason = e.reason
        default: break
        }
    }

    /// Every linked entity's tag, on every event; an unlink also carries the
    /// tag of the entity it leaves.
    public func extraTags(for event: any Event) -> [Tag] {
        var tags = links.map(\.tag)
        if let e = event as? ActivityUnlinked, !links.contains(e.entity) { tags.append(e.entity.tag) }
        return tags
    }
}

/// The kinds of activity.
///
/// ```swift
/// if activity.type == .call { … }
/// ```
public enum ActivityType: String, Hashable, Sendable, Codable, CaseIterable {
    case call, meeting, email, sms, chat, note, webForm = "web-form"
}

/// Whether the customer or the company started a call, an email or an SMS.
///
/// ```swift
/// let details = ActivityDetails.call(direction: .inbound, duration: 120)
/// ```
public enum ActivityDirection: String, Hashable, Sendable, Codable, CaseIterable {
    case inbound, outbound
}

/// What an activity was, with the facts its channel has.
///
/// ```swift
/// let call = ActivityDetails.call(direction: .outbound, duration: 300)
/// let form = ActivityDetails.webForm(form: "contact-us", fields: ["email": "ada@example.com", "message": "Pricing?"])
/// ```
public enum ActivityDetails: Hashable, Sendable, Codable {
    /// A phone call; `duration` in seconds, never negative.
    case call(direction: ActivityDirection, duration: TimeInterval)
    /// A meeting from `start` to `end` (strictly after it); attendees are
    /// principal ids, email addresses or names.
    case meeting(title: String, attendees: [String], start: Date, end: Date)
    /// An email; the subject must not be blank.
    case email(direction: ActivityDirection, subject: String)
    /// A text message; the text must not be blank.
    case sms(direction: ActivityDirection, text: String)
    /// A chat conversation, as a transcript or a summary.
    case chat(text: String)
    /// A note.
    case note(text: String)
    /// A submission of the web form `form`, with its fields by name.
    case webForm(form: String, fields: [String: String])

    /// The kind of interaction.
    public var type: ActivityType {
        switch self {
        case .call: .call
        case .meeting: .meeting
        case .email: .email
        case .sms: .sms
        case .chat: .chat
        case .note: .note
        case .webForm: .webForm
        }
    }

    /// The channel the interaction took place on.
    public var channel: Channel {
        switch self {
        case .call: .phone
        case .meeting: .meeting
        case .email: .email
        case .sms: .sms
        case .chat: .chat
        case .note: .ui
        case .webForm: .webForm
        }
    }

    /// The details with text trimmed and dates to the second, or the first problem found.
    func validated() throws(CRMError) -> ActivityDetails {
        switch self {
        case .call(let direction, let duration):
            guard duration.isFinite else { throw .invalidValue(field: "duration", reason: "it is not a number of seconds") }
            guard duration >= 0 else { throw .invalidValue(field: "duration", reason: "it is negative") }
            return .call(direction: direction, duration: duration)
        case .meeting(let title, let attendees, let start, let end):
            let title = try validatedLabel(title, field: "meeting title", maximum: 300)
            guard attendees.count <= Activity.maximumAttendees else {
                throw .invalidValue(field: "attendees", reason: "a meeting has at most \(Activity.maximumAttendees) attendees")
            }
            var names: [String] = []
            for attendee in attendees {
                let name = try validatedLabel(attendee, field: "attendee", maximum: 300)
                if !names.contains(name) { names.append(name) }
            }
            let start = try validatedDate(start, field: "meeting start"), end = try validatedDate(end, field: "meeting end")
            guard end > start else { throw .invalidValue(field: "meeting end", reason: "it is not after the start") }
            return .meeting(title: title, attendees: names, start: start, end: end)
        case .email(let direction, let subject):
            return .email(direction: direction, subject: try validatedLabel(subject, field: "subject", maximum: 998))
        case .sms(let direction, let text):
            return .sms(direction: direction, text: try requiredText(text, field: "text", maximum: 10_000))
        case .chat(let text):
            return .chat(text: try requiredText(text, field: "text", maximum: 100_000))
        case .note(let text):
            return .note(text: try requiredText(text, field: "text", maximum: 100_000))
        case .webForm(let form, let fields):
            let form = try validatedLabel(form, field: "form name", maximum: 200)
            guard !fields.isEmpty else { throw .invalidValue(field: "form fields", reason: "there are none") }
            guard fields.count <= Activity.maximumFormFields else {
                throw .invalidValue(field: "form fields", reason: "a web form has at most \(Activity.maximumFormFields) fields")
            }
            var checked: [String: String] = [:]
            for (name, value) in fields {
                let name = try validatedLabel(name, field: "form field name", maximum: 200)
                guard value.count <= 10_000 else { throw .invalidValue(field: name, reason: "it is longer than 10000 characters") }
                guard checked[name] == nil else { throw .invalidValue(field: name, reason: "the field is submitted twice") }
                checked[name] = value
            }
            return .webForm(form: form, fields: checked)
        }
    }
}

/// Snapshots store the stored properties as JSON (see `docs/snapshots.md`).
extension Activity: SnapshottableAggregate, Equatable {
    /// Raise with any change to the stored properties or to `apply(_:)`.
    public static let snapshotSchemaVersion: UInt32 = 1
}
