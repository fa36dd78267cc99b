import ArgumentParser
import Foundation
import RapportLMDB

/// The options every command takes: where the store is, which backend, which time zone.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The store: an LMDB directory (PATH or lmdb:PATH) or a postgres:// URL (default: $RAPPORT_STORE, else ./rapport-data).",
        valueName: "store"))
    var store: String?

    @Option(name: .long, help: ArgumentHelp("The storage backend, lmdb or postgres; by default the one --store names.", valueName: "backend"))
    var backend: String?

    @Flag(name: .long, help: "Show times in UTC instead of the local time zone, and read a bare date (2024-03-01) as a UTC day too.")
    var utc = false

    /// The store as given: `--store`, else `RAPPORT_STORE`, else `./rapport-data`.
    /// An empty `--store ""` stays empty, and ``location()`` refuses it.
    var storeArgument: String {
        if let store { return store }
        if let fromEnvironment = ProcessInfo.processInfo.environment["RAPPORT_STORE"], !fromEnvironment.isEmpty { return fromEnvironment }
        return "rapport-data"
    }

    /// Where the store is; `--backend`, when given, must name its kind.
    func location() throws(CLIError) -> StoreLocation {
        let location = try StoreLocation(parsing: storeArgument)
        if let backend {
            let wanted = backend.lowercased() == "postgresql" ? "postgres" : backend.lowercased()
            guard ["lmdb", "postgres"].contains(wanted) else {
                throw CLIError("unknown backend \"\(backend)\"; the backends are lmdb and postgres", status: .usage)
            }
            guard wanted == location.backend else {
                throw CLIError("--backend \(backend) does not match the store \(location) (a \(location.backend) store)", status: .usage)
            }
        }
        return location
    }

    /// The LMDB store's directory (for the commands that work on LMDB only).
    var path: String {
        if case .lmdb(let path) = try? location() { return path }
        return storeArgument
    }

    var dates: DateStyle { DateStyle(utc: utc) }

    /// Refuses a PostgreSQL store for the commands that work on LMDB only.
    func checkBackend() throws(CLIError) {
        if case .postgres = try location() {
            throw CLIError("this command works on LMDB stores only in this build; verify, copy, audit and rebuild also work on PostgreSQL", status: .unavailable)
        }
    }

    /// Opens the store of either backend (see ``OpenedStore/open(_:mustExist:readModels:)``).
    func openAny(create: Bool = false, readModels: Bool = false, mayUpgrade: Bool = true) async throws -> OpenedStore {
        try await OpenedStore.open(try location(), mustExist: !create, readModels: readModels, mayUpgrade: mayUpgrade)
    }

    /// Opens the store, creating it when `create` is true; otherwise a missing
    /// store is an error (exit 66) and nothing is created. Without
    /// `mayUpgrade`, a store of an older format is refused (exit 65).
    func open(create: Bool = false, mayUpgrade: Bool = true, configuration: LMDBEventStore.Configuration = .init()) throws -> LMDBEventStore {
        try checkBackend()
        try OpenedStore.checkLMDB(at: path, mustExist: !create)
        return try OpenedStore.openLMDB(at: path, mayUpgrade: mayUpgrade, configuration: configuration)
    }
}

extension LMDBEventStore {
    /// Runs `body` with the store and closes it afterwards, also when `body` throws.
    func using<R>(_ body: (LMDBEventStore) async throws -> R) async throws -> R {
        do {
            let result = try await body(self)
            await close()
            return result
        } catch {
            await close()
            throw error
        }
    }
}
