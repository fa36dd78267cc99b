import Foundation
import RapportEventLog
import RapportLMDB

/// Where the benchmarks put their stores: never in the repository.
///
/// package-benchmark runs every benchmark in a process of its own. When
/// `RAPPORT_BENCH_DIR` is set (`run.sh` sets it to a fresh temporary
/// directory and deletes it at the end), the stores W1 builds are kept there
/// and reused by W3 and W4 of the same run. Without it, every benchmark works
/// in a private temporary directory that its teardown deletes, building W1's
/// store itself when it needs one.
enum Scratch {
    static let sharedDirectory: String? = {
        guard let path = ProcessInfo.processInfo.environment["RAPPORT_BENCH_DIR"], !path.isEmpty else { return nil }
        return path
    }()

    /// This process's private directory (created on first use).
    static let privateDirectory: String = {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("rapport-benchmarks-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
            .path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// A fresh, empty directory for a store that only this benchmark uses.
    static func freshStorePath(_ name: String) -> String {
        let path = (privateDirectory as NSString).appendingPathComponent(name)
        try? FileManager.default.removeItem(atPath: path)
        return path
    }

    /// Deletes this process's private directory.
    static func removePrivateDirectory() {
        try? FileManager.default.removeItem(atPath: privateDirectory)
    }

    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: path + ".complete")
    }
}

/// The stores W1 produces, which W3 and W4 read.
enum BulkStore {
    case rapport
    case raw

    private var name: String { self == .rapport ? "w1-rapport" : "w1-raw" }

    /// Where W1 writes this store: in the shared directory when there is one.
    var path: String {
        ((Scratch.sharedDirectory ?? Scratch.privateDirectory) as NSString).appendingPathComponent(name)
    }

    /// A complete store (all 1,000,000 events) is marked by a file next to it.
    var isComplete: Bool { FileManager.default.fileExists(atPath: path + ".complete") }

    func markComplete() { _ = FileManager.default.createFile(atPath: path + ".complete", contents: Data()) }

    /// Deletes the store and its mark, to write it anew.
    func reset() { Scratch.remove(path) }

    /// At the end of a benchmark that read this store: deletes it unless
    /// the stores are kept for the next run (`RAPPORT_BENCH_DIR`), and the
    /// benchmark's own scratch directory.
    func release() {
        if Scratch.sharedDirectory == nil { reset() }
        Scratch.removePrivateDirectory()
    }

    /// Opens W1's Rapport store, building it first (relaxed durability: the
    /// writes are not what is measured) when no complete one is there.
    func openRapport() async throws -> LMDBEventStore {
        precondition(self == .rapport)
        if !isComplete {
            reset()
            var configuration = LMDBEventStore.Configuration()
            configuration.durability = .relaxed
            let store = try LMDBEventStore(path: path, configuration: configuration)
            let payloads = PayloadSource(batchSize: Workload.bulkBatchSize)
            for batch in 0..<(Workload.bulkEvents / Workload.bulkBatchSize) {
                payloads.nextBatch()
                _ = try await store.append(Workload.bulkRequest(batch: batch, payloads: payloads))
            }
            try store.sync()
            await store.close()
            markComplete()
        }
        let store = try LMDBEventStore(path: path)
        let head = try await store.headPosition()
        guard head.rawValue == UInt64(Workload.bulkEvents) else {
            throw BenchmarkFailure("W1's Rapport store at \(path) ends at \(head), not \(Workload.bulkEvents)")
        }
        return store
    }

    /// Opens W1's raw store, building it first when no complete one is there.
    func openRaw() throws -> RawStore {
        precondition(self == .raw)
        if !isComplete {
            reset()
            let store = try RawStore(path: path, durable: false)
            let payloads = PayloadSource(batchSize: Workload.bulkBatchSize)
            for batch in 0..<(Workload.bulkEvents / Workload.bulkBatchSize) {
                payloads.nextBatch()
                try store.append(
                    UnsafeRawBufferPointer(payloads.buffer), count: Workload.bulkBatchSize,
                    at: UInt64(batch * Workload.bulkBatchSize + 1))
            }
            store.close()
            markComplete()
        }
        let store = try RawStore(path: path)
        guard try store.lastPosition() == UInt64(Workload.bulkEvents) else {
            throw BenchmarkFailure("W1's raw store at \(path) does not hold \(Workload.bulkEvents) records")
        }
        return store
    }
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
