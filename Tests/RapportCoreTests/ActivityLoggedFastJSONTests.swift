import Foundation
@testable import RapportCore
@testable import RapportEventLog
import Testing

/// `ActivityLogged`'s fast JSON path must read exactly what `JSONDecoder`
/// reads, or decline: never a different value, never a value where
/// `JSONDecoder` fails.
@Suite("ActivityLogged read without JSONDecoder") struct ActivityLoggedFastJSONTests {
    /// Foundation's decoder, configured as the codec configures it, without the fast path.
    static let foundation: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom(JSONEventCodec.decodeDate)
        return decoder
    }()

    static func same(_ a: ActivityLogged, _ b: ActivityLogged) -> Bool {
        a.details == b.details && a.links == b.links && a.loggedBy == b.loggedBy && a.occurredAt == b.occurredAt
            && a.notes == b.notes && a.outcome == b.outcome
    }

    static let plainWords = ["budget", "call back", "Q3 review", "ümlaut ✓ 🎉", "a/b", "contact-us", ""]
    static let awkwardWords = ["quote \" inside", "back\\slash", "tab\there", "new\nline", "control \u{01}"]

    static func word(_ random: inout SplitMix64, awkward: Bool) -> String {
        let words = awkward && random.next() % 3 == 0 ? awkwardWords : plainWords
        return words[Int(random.next() % UInt64(words.count))]
    }

    static func activity(_ random: inout SplitMix64, awkward: Bool) -> ActivityLogged {
        let date = Date(timeIntervalSince1970: Double(1_600_000_000 + random.next() % 100_000_000))
        let direction: ActivityDirection = random.next() % 2 == 0 ? .inbound : .outbound
        let details: ActivityDetails = switch random.next() % 7 {
        case 0: .call(direction: direction, duration: [0, 1, 921, 12.5, 0.1, 3_600.25][Int(random.next() % 6)])
        case 1: .meeting(title: word(&random, awkward: awkward), attendees: (0..<random.next() % 3).map { _ in word(&random, awkward: awkward) },
                         start: date, end: date.addingTimeInterval(1_800))
        case 2: .email(direction: direction, subject: word(&random, awkward: awkward))
        case 3: .sms(direction: direction, text: word(&random, awkward: awkward))
        case 4: .chat(text: word(&random, awkward: awkward))
        case 5: .note(text: word(&random, awkward: awkward))
        default: .webForm(form: word(&random, awkward: awkward),
                          fields: Dictionary((0..<random.next() % 3).map { ("f\($0)", word(&random, awkward: awkward)) }, uniquingKeysWith: { a, _ in a }))
        }
        let links = (0..<random.next() % 4).map { _ in [EntityRef(ContactID()), EntityRef(CompanyID()), EntityRef(DealID())][Int(random.next() % 3)] }
        return ActivityLogged(details: details, links: links, loggedBy: "user:rep-\(random.next() % 10)", occurredAt: date,
                              notes: random.next() % 2 == 0 ? nil : word(&random, awkward: awkward),
                              outcome: random.next() % 2 == 0 ? nil : word(&random, awkward: awkward))
    }

    @Test("the codec's own payloads read the same, and plain ones take the fast path")
    func codecPayloads() throws {
        var random = SplitMix64(seed: 3)
        var fast = 0
        for round in 0..<2_000 {
            let awkward = round % 2 == 1
            let payload = try JSONEventCodec().encode(Self.activity(&random, awkward: awkward))
            let expected = try Self.foundation.decode(ActivityLogged.self, from: payload)
            if let read = ActivityLogged(fastJSON: payload) {
                fast += 1
                #expect(Self.same(read, expected), "\(String(decoding: payload, as: UTF8.self))")
            } else {
                #expect(awkward, "a plain payload declined: \(String(decoding: payload, as: UTF8.self))")
            }
            #expect(Self.same(try JSONEventCodec().decode(ActivityLogged.self, from: payload), expected))
        }
        #expect(fast >= 1_000)
    }

    @Test("other spellings of the same JSON read the same or are declined")
    func otherSpellings() throws {
        let id = "7BF3AFAE-1436-413C-9C42-E6692166A688"
        let texts = [
            #"{ "occurredAt" : "2023-05-28T14:28:56Z", "loggedBy":"user:a", "links" : [ { "kind":"contact", "id":"\#(id)" } ], "details" : { "call" : { "duration" : 1e3, "direction" : "inbound" } } }"#,
            #"{"details":{"call":{"direction":"inbound","duration":-0.5E-2}},"links":[],"loggedBy":"u","notes":null,"occurredAt":"2023-05-28T14:28:56Z","outcome":null}"#,
            #"{"details":{"note":{"text":"x"}},"links":[{"id":"\#(id.lowercased())","kind":"deal"}],"loggedBy":"u","occurredAt":"2023-05-28T14:28:56Z"}"#,
            // Declined: an unknown key, a repeated key, numbers JSON does not allow or Double cannot hold, a date in another form.
            #"{"details":{"note":{"text":"x"}},"links":[],"loggedBy":"u","occurredAt":"2023-05-28T14:28:56Z","extra":1}"#,
            #"{"details":{"note":{"text":"x"}},"links":[],"loggedBy":"u","loggedBy":"v","occurredAt":"2023-05-28T14:28:56Z"}"#,
            #"{"details":{"call":{"direction":"inbound","duration":01}},"links":[],"loggedBy":"u","occurredAt":"2023-05-28T14:28:56Z"}"#,
            #"{"details":{"call":{"direction":"inbound","duration":1e400}},"links":[],"loggedBy":"u","occurredAt":"2023-05-28T14:28:56Z"}"#,
            #"{"details":{"call":{"direction":"inbound","duration":.5}},"links":[],"loggedBy":"u","occurredAt":"2023-05-28T14:28:56Z"}"#,
            #"{"details":{"call":{"direction":"inbound","duration":0e1}},"links":[],"loggedBy":"u","occurredAt":"2023-05-28T14:28:56Z"}"#,
            #"{"details":{"note":{"text":"x"}},"links":[],"loggedBy":"u","occurredAt":"2023-05-28T14:28:56Z"} x"#,
            #"{"details":{"note":{"text":"x"}},"links":[],,"loggedBy":"u","occurredAt":"2023-05-28T14:28:56Z"}"#,
            #"{"details":{"note":{"text":"x"}},"links":[]"loggedBy":"u","occurredAt":"2023-05-28T14:28:56Z"}"#,
            #"{"details":{"note":{"text":"x"}},"links":[],"loggedBy":"u","occurredAt":"2023-05-28T14:28:56Z",}"#,
            #"{"details":{"note":{"text":"x"}},"links":[],"loggedBy":"u","occurredAt":"2023-05-28T14:28:56.250Z"}"#,
            #"{"details":{"note":{"text":"x"},"chat":{"text":"y"}},"links":[],"loggedBy":"u","occurredAt":"2023-05-28T14:28:56Z"}"#,
            #"{"details":{"fax":{"text":"x"}},"links":[],"loggedBy":"u","occurredAt":"2023-05-28T14:28:56Z"}"#,
        ]
        for (index, text) in texts.enumerated() {
            let payload = Data(text.utf8)
            let expected = try? Self.foundation.decode(ActivityLogged.self, from: payload)
            let read = ActivityLogged(fastJSON: payload)
            if index < 3 {
                #expect(read != nil && expected != nil && Self.same(read!, expected!), "\(text)")
            } else {
                #expect(read == nil, "\(text)")
            }
            #expect(read.map { r in expected.map { Self.same(r, $0) } ?? false } ?? true, "\(text)")
        }
    }

    @Test("damaged payloads: the fast path declines or agrees with JSONDecoder, never reads what JSONDecoder refuses")
    func damagedPayloads() throws {
        var random = SplitMix64(seed: 9)
        let replacements = Array(#"{}[]",:0123456789.eE-+ antrufl\"#.utf8)
        var agreed = 0, declined = 0
        for _ in 0..<1_000 {
            let payload = Array(try JSONEventCodec().encode(Self.activity(&random, awkward: random.next() % 2 == 0)))
            for _ in 0..<20 {
                var damaged = payload
                // One to three changes: a byte removed, one added, one replaced.
                for _ in 0...(random.next() % 3) {
                    let at = Int(random.next() % UInt64(damaged.count))
                    switch random.next() % 3 {
                    case 0: damaged.remove(at: at)
                    case 1: damaged.insert(replacements[Int(random.next() % UInt64(replacements.count))], at: at)
                    default: damaged[at] = replacements[Int(random.next() % UInt64(replacements.count))]
                    }
                }
                let data = Data(damaged)
                let expected = try? Self.foundation.decode(ActivityLogged.self, from: data)
                guard let read = ActivityLogged(fastJSON: data) else {
                    declined += 1
                    continue
                }
                #expect(expected != nil && Self.same(read, expected!), "\(String(decoding: damaged, as: UTF8.self))")
                agreed += 1
            }
        }
        // Both outcomes happen, so the property was tested both ways.
        #expect(agreed > 100 && declined > 100)
    }
}
