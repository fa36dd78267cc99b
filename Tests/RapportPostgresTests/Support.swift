import Foundation
import Logging
import PostgresNIO
import RapportEventLog
import RapportPostgres
import Synchronization
import Testing

/// Where the PostgreSQL tests find their server: `RAPPORT_POSTGRES_URL`, such
/// as `postgres://postgres@127.0.0.1:5432/postgres` (`scripts/with-postgres`
/// starts one and sets it). Without it the tests are skipped, except in CI
/// (`CI=true`), where they fail: they must run there.
enum PostgresTestEnvironment {
    static let url: String? = {
        let value = ProcessInfo.processInfo.environment["RAPPORT_POSTGRES_URL"] ?? ""
        return value.isEmpty ? nil : value
    }()

    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// Run the PostgreSQL tests when a server is given, and always in CI.
    static let shouldRun = url != nil || isCI

    static let skipMessage: Comment =
        "RAPPORT_POSTGRES_URL is not set: PostgreSQL tests skipped (run them with scripts/with-postgres swift test)"

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "RAPPORT_POSTGRES_URL is not set, and CI=true: the PostgreSQL tests must run in CI. Run the tests through scripts/with-postgres (scripts/test does)."
        }
    }

    struct BadURL: Error, CustomStringConvertible {
        let url: String
        var description: String { "RAPPORT_POSTGRES_URL=\(url) is not a postgres://user[:password]@host[:port]/database URL" }
    }

    /// The server's address, parsed from the URL.
    struct Server: Sendable {
        var host: String
        var port: Int
        var username: String
        var password: String?
        var database: String
    }

    static func server() throws -> Server {
        guard let url else { throw Missing() }
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
              let host = components.host, !host.isEmpty
        else { throw BadURL(url: url) }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        return Server(
            host: host, port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password, database: path.isEmpty ? "postgres" : path)
    }
}

/// The tests' logger: quiet unless RAPPORT_TEST_LOG_LEVEL says otherwise.
let testLogger: Logger = {
    var logger = Logger(label: "rapport.postgres.tests")
    logger.logLevel = ProcessInfo.processInfo.environment["RAPPORT_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
    return logger
}()

/// One running `PostgresClient` for the whole test process, and fresh schemas on it.
final class TestDatabase: Sendable {
    let server: PostgresTestEnvironment.Server
    let client: PostgresClient

    private static let shared = Mutex<TestDatabase?>(nil)

    /// The shared database; fails (in CI) or is never reached (skipped) without a server.
    static func get() throws -> TestDatabase {
        try shared.withLock { shared in
            if let shared { return shared }
            let database = TestDatabase(server: try PostgresTestEnvironment.server())
            shared = database
            return database
        }
    }

    private init(server: PostgresTestEnvironment.Server) {
        self.server = server
        self.client = Self.makeClient(server, maximumConnections: 48)
        let client = self.client
        Task.detached { await client.run() }
    }

    static func makeClient(
        _ server: PostgresTestEnvironment.Server, maximumConnections: Int, defaultTransactionIsolation: String? = nil,
        settings: [(String, String)] = []
    ) -> PostgresClient {
        var configuration = PostgresClient.Configuration(
            host: server.host, port: server.port, username: server.username, password: server.password,
            database: server.database, tls: .disable)
        configuration.options.maximumConnections = maximumConnections
        if let defaultTransactionIsolation {
            configuration.options.additionalStartupParameters = [("default_transaction_isolation", defaultTransactionIsolation)]
        }
        configuration.options.additionalStartupParameters += settings
        return PostgresClient(configuration: configuration, backgroundLogger: testLogger)
    }

    /// A schema name no other test uses.
    func freshSchemaName(_ label: String = "t") -> String {
        "rt_\(label)_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
    }

    /// A store on `schema` (not migrated).
    func store(
        schema: String, client: PostgresClient? = nil, configure: (inout PostgresEventStore.Configuration) -> Void = { _ in }
    ) throws -> PostgresEventStore {
        var configuration = PostgresEventStore.Configuration(schema: schema)
        configure(&configuration)
        return try PostgresEventStore(client: client ?? self.client, configuration: configuration, logger: testLogger)
    }

    /// A migrated store on a new schema.
    func freshStore(
        _ label: String = "t", configure: (inout PostgresEventStore.Configuration) -> Void = { _ in }
    ) async throws -> (PostgresEventStore, String) {
        let schema = freshSchemaName(label)
        let store = try store(schema: schema, configure: configure)
        try await store.migrate()
        return (store, schema)
    }

    /// Removes `schema` and everything in it.
    func drop(_ schema: String) async {
        _ = try? await client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE"), logger: testLogger)
    }

    /// Runs a statement that returns one bigint.
    func scalar(_ sql: String) async throws -> Int64 {
        for try await value in try await client.query(PostgresQuery(unsafeSQL: sql), logger: testLogger).decode(Int64.self) {
            return value
        }
        throw PostgresTestEnvironment.BadURL(url: "no row for \(sql)")
    }

    /// Runs a statement.
    func execute(_ sql: String) async throws {
        try await client.query(PostgresQuery(unsafeSQL: sql), logger: testLogger)
    }
}

/// Rapport's tag, not Swift Testing's.
typealias Tag = RapportEventLog.Tag

let testActor = Principal(id: "user:test", role: .admin)

func testEvent(_ type: String = "TestEvent", tags: [Tag] = [], payload: String = "{}") -> NewEvent {
    NewEvent(type: type, metadata: EventMetadata(actor: testActor, channel: .api), tags: tags, payload: Data(payload.utf8))
}

/// Runs `body`, failing if it takes longer than `seconds`.
func withTimeout<T: Sendable>(
    seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw TimedOut(what: what, seconds: seconds)
        }
        return value
    }
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    let seconds: Double
    var description: String { "\(what) did not finish within \(seconds) s" }
}
