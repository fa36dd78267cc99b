import RapportEventLog
import RapportPostgres
import RapportTesting
import Testing

@Suite("PostgreSQL store conformance", .enabled(if: PostgresTestEnvironment.shouldRun, PostgresTestEnvironment.skipMessage))
struct PostgresConformanceTests {
    /// Each check on a new schema of the test server; reopening makes a new
    /// store on the same schema, as another process would.
    static let suite = ConformanceSuite {
        let database = try TestDatabase.get()
        let schema = database.freshSchemaName("conf")
        let store = try database.store(schema: schema)
        try await store.migrate()
        return StoreUnderTest(
            store: store,
            reopen: { try database.store(schema: schema) },
            destroy: { await database.drop(schema) })
    }

    @Test(arguments: ConformanceSuite.checkNames)
    func conformance(_ check: String) async throws {
        try await Self.suite.run(check)
    }
}
