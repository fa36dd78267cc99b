import ArgumentParser
import Foundation
import RapportLMDB

/// The options every command takes: where the store is, which backend, which time zone.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The store's directory (default: $RAPPORT_STORE, else ./rapport-data).", valueName: "path"))
    var store: String?

    @Option(name: .long, help: ArgumentHelp("The storage backend; only lmdb is in this build.", valueName: "backend"))
    var backend: String = "lmdb"

    @Flag(name: .long, help: "Show times in UTC instead of the local time zone.")
    var utc = false

    /// The store directory: `--store`, else `RAPPORT_STORE`, else `./rapport-data`.
    var path: String {
        if let store, !store.isEmpty { return store }
        if let fromEnvironment = ProcessInfo.processInfo.environment["RAPPORT_STORE"], !fromEnvironment.isEmpty { return fromEnvironment }
        return "rapport-data"
    }

    var dates: DateStyle { DateStyle(utc: utc) }

    /// Refuses backends other than LMDB with a one-line reason.
    func checkBackend() throws(CLIError) {
        switch backend.lowercased() {
        case "lmdb": return
        case "postgres", "postgresql":
            throw CLIError("the postgres backend is not available in this build; use --backend lmdb", status: .unavailable)
        default:
            throw CLIError("unknown backend \"\(backend)\"; the only backend in this build is lmdb", status: .usage)
        }
    }

    /// Whether a store exists at ``path`` (its `data.mdb` file).
    var storeExists: Bool {
        FileManager.default.fileExists(atPath: URL(fileURLWithPath: path).appendingPathComponent("data.mdb").path)
    }

    /// Opens the store, creating it when `create` is true; otherwise a missing
    /// store is an error (exit 66) and nothing is created.
    func open(create: Bool = false, configuration: LMDBEventStore.Configuration = .init()) throws -> LMDBEventStore {
        try checkBackend()
        if !create && !storeExists {
            throw CLIError("no store at \(path); run `rapport demo` first", status: .noInput)
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw CLIError("\(path) is a file, not a store directory", status: .dataError)
        }
        return try LMDBEventStore(path: path, configuration: configuration)
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
