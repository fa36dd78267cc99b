import Foundation
import RapportEventLog
import Testing

/// One event type in three schema versions, as an application keeps them.
private struct NoteV1: Event {
    static let typeName = "NoteAdded"
    static let schemaVersion: UInt32 = 1
    var text: String
}

private struct NoteV2: Event {
    static let typeName = "NoteAdded"
    static let schemaVersion: UInt32 = 2
    var text: String
    var pinned: Bool
}

private struct NoteV3: Event {
    static let typeName = "NoteAdded"
    static let schemaVersion: UInt32 = 3
    var lines: [String]
    var pinned: Bool
}

@Suite("Upcasting")
struct UpcastingTests {
    let metadata = EventMetadata(actor: Principal(id: "user:anna", role: .salesRep), channel: .api)

    /// Stores one event of each version and reads them back as records.
    func records() async throws -> [RecordedEvent] {
        let store = InMemoryEventStore()
        let events = [
            try NewEvent(NoteV1(text: "first"), metadata: metadata),
            try NewEvent(NoteV2(text: "second", pinned: true), metadata: metadata),
            try NewEvent(NoteV3(lines: ["third"], pinned: false), metadata: metadata),
        ]
        try await store.append(events, to: StreamID("note-1"), expecting: .noStream)
        return try await store.readLog(from: 1, filter: .all, limit: 10)
    }

    @Test func aChainOfUpcastersReadsEveryStoredVersionAsTheCurrentOne() async throws {
        var registry = EventTypeRegistry()
        registry.register(NoteV3.self)
        registry.register(upcasting: NoteV1.self, to: NoteV2.self) { NoteV2(text: $0.text, pinned: false) }
        registry.register(upcasting: NoteV2.self, to: NoteV3.self) { NoteV3(lines: [$0.text], pinned: $0.pinned) }
        let read = try await records().map { record throws(EventStoreError) in try registry.decode(record) as? NoteV3 }
        #expect(read.map { $0?.lines } == [["first"], ["second"], ["third"]])
        #expect(read.map { $0?.pinned } == [false, true, false])
    }

    /// The current version registered over an older one with no upcaster
    /// between them: the older records are refused, and the read ends.
    @Test func aVersionWithoutAnUpcasterToTheCurrentOneIsRefusedNotDecodedForEver() async throws {
        var registry = EventTypeRegistry()
        registry.register(NoteV2.self)
        registry.register(NoteV3.self)  // no upcaster from version 2
        let stored = try await records()
        #expect { try registry.decode(stored[1]) } throws: { error in
            guard case EventStoreError.undecodablePayload(let position, let type, let reason) = error else { return false }
            return position == 2 && type == "NoteAdded" && reason == "schema version 2 has no upcaster to version 3"
        }
        #expect { try registry.decode(stored[0]) } throws: { error in
            guard case EventStoreError.undecodablePayload(1, "NoteAdded", let reason) = error else { return false }
            return reason == "schema version 1 has no upcaster to version 3"
        }
        #expect((try registry.decode(stored[2]) as? NoteV3)?.lines == ["third"])
        #expect { try EventTypeRegistry().decode(stored[2]) } throws: { error in
            guard case EventStoreError.undecodablePayload(3, "NoteAdded", "the type is not registered") = error else { return false }
            return true
        }
    }
}
