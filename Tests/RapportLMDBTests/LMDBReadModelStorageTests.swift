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
