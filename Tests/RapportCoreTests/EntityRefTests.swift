import Foundation
@testable import RapportCore
import RapportEventLog
import Testing

/// A reference's kind is an entity kind however the reference is made, so
/// its tag never traps: a bad kind from a caller is a typed error, and one
/// in a stored payload a decoding error.
@Suite("Entity references")
struct EntityRefTests {
    static let badKinds = [
        "", "Deal", "DEAL", "deal ", " deal", "de al", "deal!", "deal:x", "deal_x", "1deal", "-deal", "déal",
        "deal\u{0}", "deal\n", "deal\u{7F}", "deal\u{85}", String(repeating: "d", count: 41), String(repeating: "d", count: 300),
    ]

    static func refusal(_ kind: String) -> CRMError {
        .invalidValue(field: "kind", reason: "\"\(kind)\" is not an entity kind (1 to 40 lower-case letters, digits and -, starting with a letter)")
    }

    @Test func aKindThatIsNotAnEntityKindIsRefusedWithATypedError() throws {
        let id = UUID()
        for kind in Self.badKinds {
            do throws(CRMError) {
                let made = try EntityRef(kind: kind, id: id)
                Issue.record("accepted \(made)")
            } catch {
                #expect(error == Self.refusal(kind))
            }
        }
        for kind in ["deal", "d", "sales-order", "x1", "a-1-b", String(repeating: "d", count: 40)] {
            let reference = try EntityRef(kind: kind, id: id)
            #expect(reference.kind == kind && reference.id == id)
            #expect(reference.tag.rawValue == "\(kind):\(id.lowercasedText)" && reference.description == reference.tag.rawValue)
        }
    }

    @Test func aStoredReferenceWithABadKindDoesNotDecode() throws {
        let id = UUID().lowercasedText
        func json(_ kind: String) throws -> Data {
            try JSONSerialization.data(withJSONObject: ["id": id, "kind": kind], options: [.sortedKeys])
        }
        for kind in Self.badKinds {
            do {
                let decoded = try JSONDecoder().decode(EntityRef.self, from: try json(kind))
                Issue.record("decoded \(decoded)")
            } catch let DecodingError.dataCorrupted(context) {
                #expect(context.codingPath.map(\.stringValue) == ["kind"], "\(kind)")
                #expect(context.debugDescription == "\"\(kind)\" is not an entity kind (1 to 40 lower-case letters, digits and -, starting with a letter)")
            }
        }
        #expect(try JSONDecoder().decode(EntityRef.self, from: try json("deal")) == EntityRef(kind: "deal", id: try #require(UUID(text: id))))
    }

    /// In an activity's payload too: the fast path declines the payload, and
    /// `JSONDecoder` refuses it, so a bad kind never reaches `tag`.
    @Test func anActivityPayloadWithABadLinkKindDoesNotDecode() throws {
        let codec = JSONEventCodec()
        let deal = try EntityRef(kind: "deal", id: UUID())
        let logged = ActivityLogged(details: .note(text: "n"), links: [deal], loggedBy: "user:anna",
                                    occurredAt: Date(timeIntervalSince1970: 1_700_000_000), notes: nil, outcome: nil)
        let payload = String(decoding: try codec.encode(logged), as: UTF8.self)
        #expect(payload.contains(#""kind":"deal""#))
        #expect(ActivityLogged(fastJSON: Data(payload.utf8)) != nil, "the fast path reads the payload as written")
        for kind in ["Deal", "", "deal\\u0000", String(repeating: "d", count: 300)] {
            let tampered = Data(payload.replacingOccurrences(of: #""kind":"deal""#, with: "\"kind\":\"\(kind)\"").utf8)
            #expect(ActivityLogged(fastJSON: tampered) == nil, "\(kind)")
            #expect(throws: DecodingError.self, "\(kind)") { try codec.decode(ActivityLogged.self, from: tampered) }
        }
    }

    /// Every CRM aggregate's kind is an entity kind, so its stream ids, tags and
    /// references are always valid (`Identifier` stops the process otherwise).
    @Test func everyCRMAggregateKindMakesValidStreamIDsTagsAndReferences() throws {
        func check<A: Aggregate>(_ type: A.Type) throws -> String {
            let id = Identifier<A>()
            #expect(throws: Never.self) { try EntityRef(kind: A.kind, id: id.uuid) }
            #expect(id.streamID == (try StreamID("\(A.kind)-\(id.uuid.lowercasedText)")))
            #expect(id.tag == (try Tag("\(A.kind):\(id.uuid.lowercasedText)")))
            #expect(EntityRef(id).tag == id.tag && EntityRef(id).identifier(as: A.self) == id)
            let decoded = try JSONDecoder().decode(EntityRef.self, from: try JSONEncoder().encode(EntityRef(id)))
            #expect(decoded == EntityRef(id))
            return A.kind
        }
        let kinds = try EventTypeRegistry.crmAggregates.map { try check($0) }
        #expect(Set(kinds) == ["contact", "company", "lead", "deal", "pipeline", "activity", "task", "campaign"] && kinds.count == 8)
    }
}

/// An aggregate defined outside the library whose kind breaks the entity-kind
/// rule: references made from its identifiers are refused as links.
struct Gadget: Aggregate {
    static let kind = "Gadget"
    static let eventTypes: [any Event.Type] = []
    let id: Identifier<Gadget>
    init(id: Identifier<Gadget>) { self.id = id }
    mutating func apply(_ event: any Event) {}
}

/// An aggregate whose kind could not even make a stream id (a line break).
struct Unruly: Aggregate {
    static let kind = "un\nruly"
    static let eventTypes: [any Event.Type] = []
    let id: Identifier<Unruly>
    init(id: Identifier<Unruly>) { self.id = id }
    mutating func apply(_ event: any Event) {}
}

@Suite("Aggregate kinds")
struct AggregateKindTests {
    /// A repository refuses an aggregate type whose kind breaks the rule with
    /// a typed error naming the type, before it makes a stream id (which would
    /// stop the process for `Unruly`), and appends nothing.
    @Test func aRepositoryRefusesAKindThatBreaksTheRuleAndAppendsNothing() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        func isKindError(_ error: any Error, naming type: String) -> Bool {
            guard case .invalidValue(let field, let reason) = error as? CRMError else { return false }
            return field == "kind" && reason.hasPrefix("\(type).kind:")
        }
        let unruly = Command<Unruly>(name: "unruly.create", target: .new) { _, _ in [] }
        let gadget = Command<Gadget>(name: "gadget.create", target: .new) { _, _ in [] }
        await #expect { try await repository.load(Identifier<Unruly>()) } throws: { isKindError($0, naming: "Unruly") }
        await #expect { try await repository.load(Identifier<Unruly>(), asOf: LogPosition(1)) } throws: { isKindError($0, naming: "Unruly") }
        await #expect { try await repository.execute(unruly, on: Identifier<Unruly>(), context: context()) } throws: {
            isKindError($0, naming: "Unruly")
        }
        await #expect { try await repository.execute(gadget, on: Identifier<Gadget>(), context: context()) } throws: {
            isKindError($0, naming: "Gadget")
        }
        await #expect {
            try await repository.transaction(context: context()) { unit throws(CRMError) in try await unit.execute(gadget, on: Identifier<Gadget>()) }
        } throws: { isKindError($0, naming: "Gadget") }
        #expect(try await store.headPosition() == LogPosition(0))
    }
}
