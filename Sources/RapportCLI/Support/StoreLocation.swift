import Foundation
import Logging
import PostgresNIO
import RapportEventLog
import RapportLMDB
import RapportPostgres

/// Where a store is: an LMDB directory (`PATH` or `lmdb:PATH`) or a
/// PostgreSQL schema (`postgres://user:password@host:port/database`, or
/// `postgresql://…`; `?schema=NAME` picks the schema, default `public`;
/// `?sslmode=disable|prefer|require`, default `prefer`).
enum StoreLocation: Equatable, CustomStringConvertible {
    case lmdb(path: String)
    case postgres(PostgresLocation)

    /// Reads a store argument; a malformed URL or an unknown option is a usage error.
    init(parsing text: String) throws(CLIError) {
        let lower = text.lowercased()
        if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") || lower.hasPrefix("postgres:") || lower.hasPrefix("postgresql:") {
            self = .postgres(try PostgresLocation(parsing: text))
        } else if lower.hasPrefix("lmdb:") {
            let path = String(text.dropFirst("lmdb:".count))
            guard !path.isEmpty else { throw CLIError("\"\(text)\" names no directory; write lmdb:PATH", status: .usage) }
            self = .lmdb(path: path)
        } else {
            guard !text.isEmpty else { throw CLIError("the store is empty; give a directory or a postgres:// URL", status: .usage) }
            self = .lmdb(path: text)
        }
    }

    var backend: String {
        switch self {
        case .lmdb: "lmdb"
        case .postgres: "postgres"
        }
    }

    /// For messages: the path, or the URL without its password.
    var description: String {
        switch self {
        case .lmdb(let path): "lmdb:\(path)"
        case .postgres(let location): location.description
        }
    }
}

/// A PostgreSQL server, database and schema, from a URL.
struct PostgresLocation: Equatable, CustomStringConvertible {
    var host: String
    var port: Int
    var username: String
    var password: String?
    var database: String
    var schema: String
    var sslMode: String

    init(parsing text: String) throws(CLIError) {
        func bad(_ reason: String) -> CLIError {
            CLIError("\"\(Self.redacted(text))\" is not a PostgreSQL URL (\(reason)); write postgres://user[:password]@host[:port]/database[?schema=NAME]", status: .usage)
        }
        guard let parts = URLComponents(string: text), ["postgres", "postgresql"].contains(parts.scheme?.lowercased() ?? "") else {
            throw bad("it does not parse as a URL")
        }
        guard let host = parts.host, !host.isEmpty else { throw bad("no host") }
        self.host = host
        port = parts.port ?? 5432
        username = parts.user ?? "postgres"
        password = parts.password
        let path = parts.path.hasPrefix("/") ? String(parts.path.dropFirst()) : parts.path
        database = path.isEmpty ? "postgres" : path
        schema = "public"
        sslMode = "prefer"
        for item in parts.queryItems ?? [] {
            switch item.name {
            case "schema":
                guard let value = item.value, !value.isEmpty else { throw bad("schema= is empty") }
                schema = value
            case "sslmode":
                guard let value = item.value, ["disable", "prefer", "require"].contains(value) else {
                    throw bad("sslmode is disable, prefer or require")
                }
                sslMode = value
            default:
                throw bad("unknown option \(item.name); the options are schema and sslmode")
            }
        }
    }

    var description: String {
        "postgres://\(username)@\(host):\(port)/\(database)\(schema == "public" ? "" : "?schema=\(schema)")"
    }

    /// `text` with any password replaced by `***`, for messages.
    static func redacted(_ text: String) -> String {
        guard var parts = URLComponents(string: text), parts.password != nil else { return text }
        parts.password = "***"
        return parts.string ?? text
    }

    /// Opens and closes one connection; a failure says why, in one line (exit 74):
    /// refused, no such host, authentication failed, no such database.
    func probe(logger: Logger) async throws {
        let tls: PostgresConnection.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "require": tls = .require(try .init(configuration: .makeClientConfiguration()))
        default: tls = .prefer(try .init(configuration: .makeClientConfiguration()))
        }
        let configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        } catch let error as PSQLError {
            var reason = error.serverInfo?[.message] ?? error.underlying.map { "\($0)" } ?? "\(error.code)"
            // NIO's connection errors name every attempt; the two usual causes in plain words.
            if reason.contains("Connection refused") {
                reason = "connection refused (no server listening on port \(port)?)"
            } else if reason.contains("UnknownHost") {
                reason = "unknown host \(host)"
            }
            throw CLIError("cannot connect to PostgreSQL at \(host):\(port): \(reason)", status: .ioError)
        } catch {
            throw CLIError("cannot connect to PostgreSQL at \(host):\(port): \(error)", status: .ioError)
        }
        try? await connection.close()
    }

    var clientConfiguration: PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "require": tls = .require(.makeClientConfiguration())
        default: tls = .prefer(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.maximumConnections = 8
        return configuration
    }
}

/// A store of either backend, opened by a command; ``using(_:)`` closes it
/// (and ends the PostgreSQL client) whatever happens.
struct OpenedStore {
    typealias Store = any StoredRecordLog & ReadModelStorage
    let store: Store
    let location: StoreLocation
    private let shutdown: () async -> Void

    init(_ store: Store, location: StoreLocation, shutdown: @escaping () async -> Void = {}) {
        self.store = store
        self.location = location
        self.shutdown = shutdown
    }

    /// Runs `body` with the store, then closes it.
    func using<R>(_ body: (Store) async throws -> R) async throws -> R {
        do {
            let result = try await body(store)
            await store.close()
            await shutdown()
            return result
        } catch {
            await store.close()
            await shutdown()
            throw error
        }
    }

    /// How long opening a PostgreSQL store waits for the server.
    static let connectTimeout: Duration = .seconds(20)

    /// Opens the store at `location`. `mustExist`: a missing store (no LMDB
    /// directory, an unmigrated schema) is an error (exit 66) and nothing is
    /// created; otherwise an LMDB store is created and a PostgreSQL schema
    /// migrated. `readModels`: the command keeps read models, so an older
    /// PostgreSQL schema is brought up to date (a reading command changes nothing).
    /// `mayUpgrade` false: an LMDB store of an older format is refused (exit
    /// 65), not upgraded, for commands that only read (`verify`, `stats`,
    /// `copy`'s source).
    static func open(_ location: StoreLocation, mustExist: Bool, readModels: Bool = false, mayUpgrade: Bool = true) async throws -> OpenedStore {
        switch location {
        case .lmdb(let path):
            try checkLMDB(at: path, mustExist: mustExist)
            return OpenedStore(try openLMDB(at: path, mayUpgrade: mayUpgrade), location: location)
        case .postgres(let server):
            let logger = Self.logger
            // One connection first: the pool would retry a refused or rejected connection until
            // the timeout, and say nothing of why.
            try await Self.within(connectTimeout, server) { try await server.probe(logger: logger) }
            let client = PostgresClient(configuration: server.clientConfiguration, backgroundLogger: logger)
            let running = Task { await client.run() }
            let shutdown: () async -> Void = { running.cancel() }
            do {
                let store = try PostgresEventStore(client: client, configuration: .init(schema: server.schema), logger: logger)
                let version = try await Self.within(connectTimeout, server) { try await store.schemaVersion() }
                if mustExist && version == 0 {
                    throw CLIError("no Rapport log in schema \"\(server.schema)\" of \(server); copy one there with `rapport copy`", status: .noInput)
                }
                if version < PostgresEventStore.schemaVersion && (version == 0 || readModels) { try await store.migrate() }
                return OpenedStore(store, location: location, shutdown: shutdown)
            } catch {
                await shutdown()
                throw error
            }
        }
    }

    /// Opens the LMDB store at `path`; without `mayUpgrade`, a store of an
    /// older format is refused with what to do about it.
    static func openLMDB(at path: String, mayUpgrade: Bool, configuration: LMDBEventStore.Configuration = .init()) throws -> LMDBEventStore {
        var configuration = configuration
        configuration.upgradesOlderFormats = mayUpgrade
        do throws(EventStoreError) {
            return try LMDBEventStore(path: path, configuration: configuration)
        } catch {
            guard !mayUpgrade, LMDBEventStore.isOlderFormatNotUpgraded(error), case .incompatibleStore(let reason) = error else { throw error }
            throw CLIError(
                "\(path) is in an older format (\(reason)); this command only reads and never upgrades a store: run "
                    + "`rapport upgrade --store \(path)` first (on a copy of the directory, to keep this one as it is)",
                status: .dataError)
        }
    }

    /// Checks what is at `path` before LMDB opens it, so that a command
    /// meant to read never creates or overwrites anything: a file is not a
    /// store directory (exit 65); with `mustExist`, a directory without
    /// `data.mdb` is no store (exit 66), and an empty `data.mdb` (which LMDB
    /// would take for a new store and initialise) is a damaged one (exit 65).
    static func checkLMDB(at path: String, mustExist: Bool) throws(CLIError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw CLIError("\(path) is a file, not a store directory", status: .dataError)
        }
        guard mustExist else { return }
        let data = URL(fileURLWithPath: path).appendingPathComponent("data.mdb").path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: data) else {
            throw CLIError("no store at \(path): check --store or RAPPORT_STORE (`rapport demo` makes a sample store)", status: .noInput)
        }
        if (attributes[.size] as? NSNumber)?.int64Value == 0 {
            throw CLIError("\(data) is empty: not a store (damaged, or its creation was interrupted)", status: .dataError)
        }
    }

    /// Runs `body`, giving up after `timeout` with a message naming the server.
    private static func within<T: Sendable>(
        _ timeout: Duration, _ server: PostgresLocation, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw CLIError("cannot reach PostgreSQL at \(server.host):\(server.port) within \(timeout.components.seconds) s", status: .ioError)
            }
            return value
        }
    }

    /// The stores' and the client's logger: warnings and errors on stderr, never on stdout.
    static let logger: Logger = {
        var logger = Logger(label: "rapport") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .error
        return logger
    }()
}
