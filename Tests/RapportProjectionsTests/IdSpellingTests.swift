import Foundation
import RapportCore
import RapportEventLog
import RapportProjections
import Testing

/// Ids are spelled one way everywhere a person or a program reads them:
/// lower-case, as stream ids, tags, the CSV export and the tables spell
/// them; what was stored upper-case before still decodes.
@Suite("Id spelling")
struct IdSpellingTests {
    static let upper = "7BF3AFAE-1436-413C-9C42-E6692166A688"
    static let lower = upper.lowercased()

    func json(_ value: some Encodable) throws -> String {
        String(decoding: try ProjectionTimestamp.makeEncoder().encode(value), as: UTF8.self)
    }

    @Test func identifiersAndReferencesEncodeLowerCaseAndDecodeEitherCase() throws {
        let uuid = try #require(UUID(uuidString: Self.upper))
        #expect(try json(DealID(uuid)) == "\"\(Self.lower)\"")
        #expect(try json(EventID(uuid)) == "\"\(Self.lower)\"")
        #expect(try json(EntityRef(kind: "contact", id: uuid)) == #"{"id":"\#(Self.lower)","kind":"contact"}"#)
        for text in [Self.upper, Self.lower] {
            #expect(try JSONDecoder().decode(DealID.self, from: Data("\"\(text)\"".utf8)) == DealID(uuid))
            #expect(try JSONDecoder().decode(EntityRef.self, from: Data(#"{"id":"\#(text)","kind":"deal"}"#.utf8)) == EntityRef(kind: "deal", id: uuid))
        }
        // Ids inside payloads as the codec writes them: lower-case.
        let payload = try JSONEncoder().encode([DealContact(contactID: ContactID(uuid), role: .decisionMaker)])
        let text = String(decoding: payload, as: UTF8.self)
        #expect(text.contains(Self.lower) && !text.contains(Self.upper), "\(text)")
    }

    @Test func auditAndTimelineEntriesWriteLowerCaseIdsAndReadBothCases() throws {
        let uuid = try #require(UUID(uuidString: Self.upper))
        let entry = AuditEntry(
            position: 7, eventID: EventID(uuid), streamID: "deal-\(Self.lower)", recordedAt: Date(timeIntervalSince1970: 1_700_000_000),
            occurredAt: nil, actor: Principal(id: "user:anna", role: .salesRep), entityKind: "deal", entityID: Self.lower,
            action: "DealRenamed", changes: [FieldChange(field: "title", oldValue: "\"a\"", newValue: "\"b\"")], channel: .ui,
            correlationID: uuid, causationID: uuid)
        let line = try json(entry)
        #expect(!line.contains(Self.upper) && line.contains(Self.lower), "\(line)")
        #expect(try AuditTrail.decodeJSONLine(line) == entry)
        #expect(try AuditTrail.decodeJSONLine(line.replacingOccurrences(of: Self.lower, with: Self.upper)).correlationID == uuid,
                "lines written upper-case before still read")
    }

    @Test func timelineEntriesWriteLowerCaseIds() async throws {
        let w = try World()
        let ada = ContactID()
        try await w.run(.create(name: try PersonName(given: "Ada", family: "Lovelace"), owner: "user:anna"), on: ada, context(anna, day: 1))
        try await w.runner.catchUp()
        let entry = try #require(try ContactHistory().timeline(of: ada, in: w.live).items.first)
        #expect(entry.correlationID != nil)
        let encoded = try json(entry)
        #expect(encoded.range(of: "[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}", options: .regularExpression) == nil, "\(encoded)")
        #expect(try ProjectionTimestamp.makeDecoder().decode(TimelineEntry.self, from: Data(encoded.utf8)) == entry)
    }
}
