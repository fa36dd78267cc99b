import ArgumentParser
import Foundation
import RapportEventLog

/// `rapport copy`: moves a whole log between stores, verbatim.
struct Copy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a whole log into an empty store, record for record (LMDB to PostgreSQL and back).",
        discussion: """
            Stores are an LMDB directory (PATH or lmdb:PATH) or a postgres:// URL (?schema=NAME, default public). \
            Positions, event ids, recorded-at times and chain hashes are kept: the records are copied, not appended \
            anew, and each is checked (checksum, chain, links) before it is written. The target must be empty \
            (exit 64 otherwise). Nothing half-written is left: into PostgreSQL the copy is one transaction (an \
            interrupted copy rolls back); into LMDB it is written to PATH.copying-PID beside the target and moved \
            to PATH when complete (an interrupted copy leaves only that folder, which can be deleted). \
            Read models are not copied: rebuild them on the target. Run `rapport verify --store TARGET` afterwards.
            """)

    @Option(name: .long, help: ArgumentHelp("The store to copy from.", valueName: "store"))
    var from: String

    @Option(name: .long, help: ArgumentHelp("The empty store to copy into (an LMDB directory is created).", valueName: "store"))
    var to: String

    @Option(name: .long, parsing: .unconditional, help: "Records per batch read from the source.")
    var batchSize = 2_000

    func run() async throws {
        try await reportingErrors {
            let source = try StoreLocation(parsing: from), target = try StoreLocation(parsing: to)
            guard source != target else { throw CLIError("--from and --to are the same store (\(source))", status: .usage) }
            guard batchSize > 0 else { throw CLIError("--batch-size must be at least 1", status: .usage) }
            let staging = try await LMDBStaging(target)
            let head = try await staging.run {
                try await OpenedStore.open(source, mustExist: true, mayUpgrade: false).using { from in
                    try await OpenedStore.open(staging.location, mustExist: false).using { into in
                        let bar = ProgressBar("copying")
                        defer { bar.finish() }
                        do throws(LogCopyError) {
                            return try await LogCopy.copy(from: from, to: into, batchSize: batchSize) { done, total in bar.update(done, of: total) }
                        } catch {
                            switch error {
                            case .targetNotEmpty(let head):
                                throw CLIError("the target \(target) is not empty: it holds events up to position \(head); copy into an empty store", status: .usage)
                            case .source(let error), .target(let error):
                                throw error
                            }
                        }
                    }
                }
            }
            let hash = try await OpenedStore.open(target, mustExist: true).using { store in
                try await store.storedRecords(from: head, limit: 1).first.map(Self.chainHash) ?? "none (the log is empty)"
            }
            Terminal.print("copied \(Format.count(head.rawValue)) events from \(source) to \(target)")
            Terminal.print("last chain hash: \(hash)")
        }
    }

    /// The chain hash of a stored record, in hexadecimal.
    static func chainHash(_ record: StoredRecord) -> String {
        record.bytes.withUnsafeBytes { raw in
            guard let view = try? RecordView(validating: raw, at: record.position) else { return "unreadable" }
            return view.chainHashBytes.map { String(format: "%02x", $0) }.joined()
        }
    }
}

/// Where a copy into LMDB is written: a new store beside the target, moved
/// into place only when complete, so the target never holds part of a log.
/// A PostgreSQL target needs none of this (its copy is one transaction).
struct LMDBStaging {
    let target: StoreLocation
    /// Where the copy is written.
    let location: StoreLocation
    private let temporary: String?
    /// The empty store or directory the copy replaces.
    private let replaces: String?

    init(_ target: StoreLocation) async throws {
        self.target = target
        guard case .lmdb(let path) = target else {
            location = target
            temporary = nil
            replaces = nil
            return
        }
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw CLIError("\(path) is a file, not a store directory", status: .usage) }
            let contents = (try? manager.contentsOfDirectory(atPath: path)) ?? []
            if contents.contains("data.mdb") {
                // An existing store is replaced only when it holds no event.
                let head = try await OpenedStore.open(target, mustExist: true).using { try await $0.headPosition() }
                guard head == .start else {
                    throw CLIError("the target \(target) is not empty: it holds events up to position \(head); copy into an empty store", status: .usage)
                }
            } else if !contents.isEmpty {
                throw CLIError("the target \(path) is a directory that is not a store; copy into a new or empty directory", status: .usage)
            }
            replaces = path
        } else {
            replaces = nil
        }
        let staged = path.hasSuffix("/") ? String(path.dropLast()) : path
        temporary = "\(staged).copying-\(ProcessInfo.processInfo.processIdentifier)"
        try? manager.removeItem(atPath: temporary!)
        location = .lmdb(path: temporary!)
    }

    /// Runs `copy` into ``location``, then moves the staged store into
    /// place. A failed copy removes the staged store; a complete copy that
    /// cannot be moved stays where the error says.
    func run<Value>(_ copy: () async throws -> Value) async throws -> Value {
        let value: Value
        do {
            value = try await copy()
        } catch {
            abandon()
            throw error
        }
        try complete()
        return value
    }

    /// Moves the staged store into place.
    func complete() throws {
        guard let temporary, case .lmdb(let path) = target else { return }
        let manager = FileManager.default
        do {
            if let replaces { try manager.removeItem(atPath: replaces) }
            try manager.moveItem(atPath: temporary, toPath: path)
        } catch {
            throw CLIError("the copy is complete in \(temporary) but could not be moved to \(path): \(error.localizedDescription)", status: .ioError)
        }
    }

    /// Removes the staged store after a failure.
    func abandon() {
        if let temporary { try? FileManager.default.removeItem(atPath: temporary) }
    }
}
