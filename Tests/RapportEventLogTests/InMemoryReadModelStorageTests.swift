import RapportEventLog
import RapportTesting
import Testing

@Suite("In-memory read-model storage")
struct InMemoryReadModelStorageTests {
    static let suite = ReadModelStorageSuite { ReadModelStorageUnderTest(storage: InMemoryReadModelStorage()) }

    @Test(arguments: ReadModelStorageSuite.checkNames)
    func readModels(_ check: String) async throws {
        try await Self.suite.run(check)
    }
}
