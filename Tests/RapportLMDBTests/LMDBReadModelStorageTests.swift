import RapportEventLog
import RapportLMDB
import RapportTesting
import Testing

@Suite("LMDB read-model storage")
struct LMDBReadModelStorageTests {
    static let suite = ReadModelStorageSuite {
        let path = temporaryStorePath("read-models")
        return ReadModelStorageUnderTest(
            storage: try LMDBEventStore(path: path),
            reopen: { try LMDBEventStore(path: path) },
            close: { await ($0 as? LMDBEventStore)?.close() },
            destroy: { removeStore(path) })
    }

    @Test(arguments: ReadModelStorageSuite.checkNames)
    func readModels(_ check: String) async throws {
        try await Self.suite.run(check)
    }
}

extension LMDBReadModelStorageTests {
    @Test func aKeyPastLMDBsLimitIsRefusedWithItsLengthBeforeAnythingIsWritten() async throws {
        let path = temporaryStorePath("long-key")
        defer { removeStore(path) }
        let store = try LMDBEventStore(path: path)
        // With "audit-trail" and its separator (12 bytes), 499 bytes is the longest key.
        let longest = String(repeating: "k", count: LMDBEventStore.maximumReadModelKeySize - 12)
        try await store.commit([ReadModelChanges(projection: "audit-trail", writes: [longest: [1]], checkpoint: ProjectionCheckpoint(version: 1, position: 1))])
        let key = "entity/doc/" + String(repeating: "%2F", count: 170)
        var outcome = "stored"
        do throws(EventStoreError) {
            try await store.commit([ReadModelChanges(projection: "audit-trail", writes: ["other": [2], key: [1]], checkpoint: ProjectionCheckpoint(version: 1, position: 2))])
        } catch {
            outcome = "\(error)"
        }
        #expect(outcome.contains("\(key.utf8.count) bytes") && outcome.contains("511 bytes"), "\(outcome)")
        // Nothing of the refused change was written.
        #expect(try store.checkpoint(of: "audit-trail")?.position == 1)
        await store.close()
    }
}
