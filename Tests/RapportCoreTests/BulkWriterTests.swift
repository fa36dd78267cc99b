import Foundation
@testable import RapportCore
import RapportEventLog
import Testing

@Suite("Bulk writer")
struct BulkWriterTests {
    @Test func batchesAppendsAndRollsBackAFailedRun() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        var writer = BulkWriter(repository: repository, eventsPerCommit: 10, cachedStates: 5)
        var contacts: [ContactID] = []
        for index in 0..<25 {
            let id = ContactID()
            contacts.append(id)
            try await writer.run(context: context()) { unit throws(CRMError) in
                try await unit.execute(.create(name: try PersonName(given: "P\(index)", family: "X")), on: id)
            }
        }
        #expect(try await store.headPosition() == 20, "two batches of ten appended, five pending")
        // A run that fails half-way leaves nothing of itself pending.
        await #expect(throws: CRMError.invalidEmail("broken")) {
            try await writer.run(context: context()) { unit throws(CRMError) in
                try await unit.execute(.addEmail("ok@example.com"), on: contacts[0])
                try await unit.execute(.addEmail("broken"), on: contacts[1])
            }
        }
        // States survive flushes (and are reloaded after eviction): commands keep deciding on fresh state.
        try await writer.run(context: context()) { unit throws(CRMError) in
            try await unit.execute(.addEmail("ada@example.com"), on: contacts[0])
            try await unit.execute(.addEmail("ada@example.com"), on: contacts[0])  // no-op: already there
        }
        try await writer.flush()
        #expect(try await store.headPosition() == 26)
        let first = try await repository.load(contacts[0])
        #expect(first.version == 2)
        #expect(first.state.emails.map(\.value) == ["ada@example.com"])
        // The writer continues after its states were evicted (cachedStates: 5).
        try await writer.run(context: context()) { unit throws(CRMError) in
            try await unit.execute(.changeJobTitle(to: "CTO"), on: contacts[0])
        }
        try await writer.flush()
        #expect(try await repository.load(contacts[0]).version == 3)
    }
}
