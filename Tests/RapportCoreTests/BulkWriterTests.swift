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

@Suite("Bulk writer order")
struct BulkWriterOrderTests {
    /// A failed append (here a conflict: another writer changed the contact) leaves
    /// nothing pending and no stale state: the run that threw is not stored later,
    /// and the writer goes on from what the store holds.
    @Test func aFailedAppendLeavesNothingPendingAndTheWriterGoesOn() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        var writer = BulkWriter(repository: repository, eventsPerCommit: 1)
        let ada = ContactID()
        try await writer.run(context: context()) { unit throws(CRMError) in
            try await unit.execute(.create(name: try PersonName(given: "Ada", family: "L")), on: ada)
        }
        // Someone else changes Ada behind the writer's cached state.
        try await repository.execute(.changeJobTitle(to: "CTO"), on: ada, context: context())
        await #expect(throws: CRMError.self) {
            try await writer.run(context: context()) { unit throws(CRMError) in
                try await unit.execute(.addEmail("ada@example.com"), on: ada)
            }
        }
        #expect(writer.eventsDecided == writer.eventsAppended, "nothing of the failed append is pending")
        #expect(try await writer.flush() == nil)
        // Decided again on the stored state, the same change goes through.
        try await writer.run(context: context()) { unit throws(CRMError) in
            try await unit.execute(.addEmail("ada@example.com"), on: ada)
        }
        let loaded = try await repository.load(ada)
        #expect(loaded.version == 3 && loaded.state.jobTitle == "CTO" && loaded.state.emails.map(\.value) == ["ada@example.com"])
    }

    @Test func theLogKeepsTheOrderOfTheRuns() async throws {
        let store = InMemoryEventStore()
        var writer = BulkWriter(repository: Repository(store: store), eventsPerCommit: 1_000)
        let a = ContactID(), b = ContactID()
        let steps: [(ContactID, String)] = [(a, "A1"), (b, "B1"), (a, "A2"), (b, "B2"), (b, "B3"), (a, "A3")]
        for (index, (id, title)) in steps.enumerated() {
            try await writer.run(context: context()) { unit throws(CRMError) in
                if index < 2 {
                    try await unit.execute(.create(name: try PersonName(given: title, family: "X")), on: id)
                } else {
                    try await unit.execute(.changeJobTitle(to: title), on: id)
                }
            }
        }
        try await writer.flush()
        let log = try await store.readLog(from: 1, filter: .all, limit: 100)
        let labels = log.map { event -> String in
            if event.type == "ContactCreated" { return try! event.decode(ContactCreated.self).name.given }
            return try! event.decode(ContactJobTitleChanged.self).to!
        }
        #expect(labels == ["A1", "B1", "A2", "B2", "B3", "A3"], "the log follows the runs, not the streams")
        #expect(try await Repository(store: store).load(a).state.jobTitle == "A3")
    }
}
