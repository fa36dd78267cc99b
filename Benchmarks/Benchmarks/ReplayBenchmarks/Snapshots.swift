import Benchmark
import Dispatch
import Foundation
import RapportCore
import RapportEventLog
import RapportLMDB

// Loading a long-lived aggregate from the LMDB store, with and without
// snapshots (issue 5: "a 10,000-event aggregate loaded with a snapshot in
// under 1 ms"), now and as of a past position. See docs/benchmarks.md,
// section "Snapshots".
//
// The store (built once, outside the measurement): a sales pipeline, eight
// contacts and two deals written through the repository with the default
// snapshot interval (100 events; all snapshots kept), one event per append,
// the deals' events interleaved with each other's and with contact changes:
//
// - deal A: 10,000 events (stage moves, renames, amounts, close dates,
//   contacts added and removed); snapshots at 100, 200, …, 10,000;
// - deal B: 9,999 events of the same kinds; its newest snapshot is at 9,900,
//   so a load replays 99 events after it: the worst case of the default policy.
//
// One iteration is one `Repository.load` (or `load(_:asOf:)`) of one deal:
// reading the snapshot, decoding its state, reading and decoding the events
// after it, folding them. Loads in the benchmarks write nothing (no snapshot
// is due).

enum SnapshotLoads {
    static func register() {
        for load in Load.allCases {
            let runner = SnapshotLoadBenchmark(load)
            Benchmark(
                load.name,
                configuration: .init(warmupIterations: load.warmupIterations, maxDuration: .seconds(30), maxIterations: load.iterations),
                closure: { (benchmark: Benchmark) async throws in try await runner.iteration(benchmark) },
                setup: { try await runner.setUp() },
                teardown: { try await runner.tearDown() })
        }
    }

    /// What one benchmark loads, and how.
    enum Load: CaseIterable {
        case fullReplay, snapshotAtHead, snapshot99Back, asOfFullReplay, asOfSnapshot

        var name: String {
            switch self {
            case .fullReplay: "Snapshots: 10,000-event deal, full replay (no snapshots)"
            case .snapshotAtHead: "Snapshots: 10,000-event deal, snapshot at its last event"
            case .snapshot99Back: "Snapshots: 9,999-event deal, newest snapshot 99 events back"
            case .asOfFullReplay: "Snapshots: deal as of its version 5,050, full replay (no snapshots)"
            case .asOfSnapshot: "Snapshots: deal as of its version 5,050, from the snapshot at 5,000"
            }
        }

        /// The key of its `RESULT` line.
        var key: String {
            switch self {
            case .fullReplay: "S1 load-full-replay"
            case .snapshotAtHead: "S1 load-snapshot-at-head"
            case .snapshot99Back: "S1 load-snapshot-99-back"
            case .asOfFullReplay: "S2 as-of-full-replay"
            case .asOfSnapshot: "S2 as-of-snapshot"
            }
        }

        var usesSnapshots: Bool { self == .snapshotAtHead || self == .snapshot99Back || self == .asOfSnapshot }
        var isFullReplay: Bool { self == .fullReplay || self == .asOfFullReplay }
        var iterations: Int { isFullReplay ? 50 : 5_000 }
        var warmupIterations: Int { isFullReplay ? 2 : 50 }
        var deal: DealID { self == .snapshot99Back ? SnapshotFixture.dealB : SnapshotFixture.dealA }
    }
}

/// One of the snapshot benchmarks: its store, repository and timings.
final class SnapshotLoadBenchmark: @unchecked Sendable {
    let load: SnapshotLoads.Load
    var store: LMDBEventStore?
    var repository: Repository?
    /// For the as-of loads: the log position of deal A's version 5,050.
    var position = LogPosition.start
    var samples: [UInt64] = []
    var version: UInt64 = 0
    var notes: [(String, String)] = []

    init(_ load: SnapshotLoads.Load) { self.load = load }

    func setUp() async throws {
        let store = try await SnapshotFixture.open()
        self.store = store
        let snapshots = AggregateSnapshots(storage: store, policy: SnapshotFixture.policy)
        repository = Repository(store: store, snapshots: load.usesSnapshots ? snapshots : nil)
        if load == .asOfFullReplay || load == .asOfSnapshot {
            let event = try await store.readStream(SnapshotFixture.dealA.streamID, from: 5_050, direction: .forward, limit: 1)
            position = try unwrap(event.first?.position, "deal A has no version 5,050")
        }
        // Outside the measurement: what one load reads, and what it gives.
        let counting = CountingReader(store)
        let counted = Repository(store: counting, snapshots: load.usesSnapshots ? snapshots : nil)
        let loaded = try await perform(on: counted)
        let reference = try await perform(on: Repository(store: store))
        guard loaded.state == reference.state, loaded.version == reference.version else {
            throw SnapshotBenchmarkFailure("\(load.key): the load differs from a full replay")
        }
        version = loaded.version
        notes.append(("aggregate_version", "\(loaded.version)"))
        notes.append(("events_read_per_load", "\(counting.eventsRead)"))
        notes.append(("snapshot_state_bytes", "\(try SnapshotFixture.newestStateSize(of: load.deal, in: store))"))
    }

    func perform(on repository: Repository) async throws(CRMError) -> Loaded<Deal> {
        switch load {
        case .asOfFullReplay, .asOfSnapshot: try await repository.load(load.deal, asOf: position)
        default: try await repository.load(load.deal)
        }
    }

    func iteration(_ benchmark: Benchmark) async throws {
        let repository = repository!
        benchmark.startMeasurement()
        let start = DispatchTime.now().uptimeNanoseconds
        let loaded = try await perform(on: repository)
        let end = DispatchTime.now().uptimeNanoseconds
        benchmark.stopMeasurement()
        blackHole(loaded)
        if benchmark.currentIteration >= benchmark.configuration.warmupIterations { samples.append(end - start) }
    }

    func tearDown() async throws {
        await store?.close()
        publishResult(key: load.key, samples: samples, eventsPerOperation: Int(version), notes: notes)
        SnapshotFixture.removePrivateStore()
    }
}

// MARK: - The store

enum SnapshotFixture {
    /// The default policy's interval; all snapshots kept, so that as-of loads find one.
    static let policy = SnapshotPolicy(every: 100, keep: 1_000)
    static let pipeline = PipelineID(UUID(uuidString: "0190a000-0000-7000-8000-000000000001")!)
    static let dealA = DealID(UUID(uuidString: "0190a000-0000-7000-8000-00000000000a")!)
    static let dealB = DealID(UUID(uuidString: "0190a000-0000-7000-8000-00000000000b")!)
    static let contacts = (1...8).map { ContactID(UUID(uuidString: "0190a000-0000-7000-8000-0000000001\(String(format: "%02d", $0))")!) }
    static let eventsA: UInt64 = 10_000
    static let eventsB: UInt64 = 9_999

    static let shared = ProcessInfo.processInfo.environment["RAPPORT_BENCH_DIR"].flatMap { $0.isEmpty ? nil : $0 }
    static let privateDirectory = FileManager.default.temporaryDirectory
        .appendingPathComponent("rapport-replay-benchmarks-\(ProcessInfo.processInfo.processIdentifier)").path
    static var path: String { ((shared ?? privateDirectory) as NSString).appendingPathComponent("snapshots-10k") }
    static var completeMark: String { path + ".complete" }

    /// Opens the store, building it first when no complete one is there.
    static func open() async throws -> LMDBEventStore {
        if !FileManager.default.fileExists(atPath: completeMark) {
            try? FileManager.default.removeItem(atPath: path)
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try await build()
            _ = FileManager.default.createFile(atPath: completeMark, contents: Data())
        }
        return try LMDBEventStore(path: path)
    }

    static func removePrivateStore() {
        if shared == nil { try? FileManager.default.removeItem(atPath: privateDirectory) }
    }

    /// Writes the store: one event per append, deals A and B and the contacts taking turns.
    static func build() async throws {
        var configuration = LMDBEventStore.Configuration()
        configuration.durability = .relaxed
        let store = try LMDBEventStore(path: path, configuration: configuration)
        let repository = Repository(store: store, snapshots: AggregateSnapshots(storage: store, policy: policy))
        var writer = BulkWriter(repository: repository, eventsPerCommit: 1)
        let admin = CommandContext(actor: Principal(id: "user:root", role: .admin), channel: .api, now: Date(timeIntervalSince1970: 1_772_323_200))
        try await writer.run(context: admin) { unit throws(CRMError) in
            try await unit.execute(.define(name: "Sales", stages: stages), on: pipeline)
        }
        for (n, contact) in contacts.enumerated() {
            try await writer.run(context: admin) { unit throws(CRMError) in
                try await unit.execute(.create(name: try PersonName(given: "Person", family: "\(n)")), on: contact)
            }
        }
        for deal in [dealA, dealB] {
            try await writer.run(context: admin) { unit throws(CRMError) in
                let sales = try await unit.load(pipeline)
                try await unit.execute(.open(title: "Deal", in: sales, amount: try Money(amount: 1_000, currency: "EUR")), on: deal)
            }
        }
        var random = SplitMix64(seed: 42)
        var step = 0
        var versions: [DealID: UInt64] = [dealA: 1, dealB: 1]
        while versions[dealA]! < eventsA || versions[dealB]! < eventsB {
            step += 1
            let now = Date(timeIntervalSince1970: 1_772_323_200 + Double(step) * 60)
            let context = CommandContext(actor: Principal(id: "user:anna", role: .salesRep), channel: .ui, now: now)
            for deal in [dealA, dealB] where versions[deal]! < (deal == dealA ? eventsA : eventsB) {
                let choice = random.next() % 8
                try await writer.run(context: context) { unit throws(CRMError) in
                    let command = try await change(deal, choice: choice, step: step, unit: &unit)
                    try await unit.execute(command, on: deal)
                }
                versions[deal]! += 1
            }
            if step % 2 == 0 {
                try await writer.run(context: context) { unit throws(CRMError) in
                    try await unit.execute(.changeJobTitle(to: "Title \(step)"), on: contacts[step % contacts.count])
                }
            }
        }
        try await writer.flush()
        for (deal, expected) in [(dealA, eventsA), (dealB, eventsB)] {
            let version = try await store.streamVersion(of: deal.streamID)
            guard version == expected else { throw SnapshotBenchmarkFailure("deal \(deal) has \(version) events, not \(expected)") }
        }
        try store.sync()
        await store.close()
    }

    /// A command that changes `deal` by exactly one event.
    static func change(_ deal: DealID, choice: UInt64, step: Int, unit: inout UnitOfWork) async throws(CRMError) -> Command<Deal> {
        let state = try await unit.load(deal)
        switch choice {
        case 0: return .rename(to: "Deal \(step)")
        case 1, 2, 3:
            let open = ["qualification", "proposal", "negotiation"].filter { $0 != state.stage }
            return .moveToStage(open[step % open.count], in: try await unit.load(pipeline))
        case 4: return .changeAmount(try Money(amount: Decimal(1_000 + step), currency: "EUR"))
        case 5: return .changeExpectedCloseDate(to: Date(timeIntervalSince1970: 1_790_000_000 + Double(step) * 86_400))
        default:
            let contact = contacts[step % contacts.count]
            return state.contacts[contact] == nil ? .addContact(contact, role: .evaluator) : .removeContact(contact)
        }
    }

    static let stages = [
        PipelineStage(key: "qualification", name: "Qualification", probability: Decimal(string: "0.1")!, kind: .open),
        PipelineStage(key: "proposal", name: "Proposal", probability: Decimal(string: "0.4")!, kind: .open),
        PipelineStage(key: "negotiation", name: "Negotiation", probability: Decimal(string: "0.7")!, kind: .open),
        PipelineStage(key: "won", name: "Won", probability: 1, kind: .won),
        PipelineStage(key: "lost", name: "Lost", probability: 0, kind: .lost),
    ]

    /// The size of the newest snapshot's state of `deal` (keys as in docs/snapshots.md).
    static func newestStateSize(of deal: DealID, in store: LMDBEventStore) throws -> Int {
        try store.read(AggregateSnapshots.readModelName) { (reader) throws(EventStoreError) -> Int in
            var size = 0
            try reader.forEach(keyPrefix: deal.streamID.rawValue + "\u{1F}s") { _, value in
                size = value.count
                return false
            }
            return size
        }
    }
}

// MARK: - Support

/// A store that counts the events its stream reads return (setup only, never measured).
final class CountingReader: EventStore, @unchecked Sendable {
    let base: LMDBEventStore
    private let lock = NSLock()
    private var count = 0

    init(_ base: LMDBEventStore) { self.base = base }

    var eventsRead: Int { lock.withLock { count } }

    func append(_ request: AppendRequest) async throws(EventStoreError) -> AppendResult { try await base.append(request) }
    func readStream(_ stream: StreamID, from version: UInt64, direction: ReadDirection, limit: Int) async throws(EventStoreError) -> [RecordedEvent] {
        let events = try await base.readStream(stream, from: version, direction: direction, limit: limit)
        lock.withLock { count += events.count }
        return events
    }
    func streamVersion(of stream: StreamID) async throws(EventStoreError) -> UInt64 { try await base.streamVersion(of: stream) }
    func readLog(from position: LogPosition, filter: LogFilter, limit: Int) async throws(EventStoreError) -> [RecordedEvent] {
        try await base.readLog(from: position, filter: filter, limit: limit)
    }
    func headPosition() async throws(EventStoreError) -> LogPosition { try await base.headPosition() }
    func event(id: EventID) async throws(EventStoreError) -> RecordedEvent? { try await base.event(id: id) }
    func close() async {}
}

struct SnapshotBenchmarkFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func unwrap<T>(_ value: T?, _ message: String) throws -> T {
    guard let value else { throw SnapshotBenchmarkFailure(message) }
    return value
}

/// The nearest-rank percentile `p` of `sorted` nanoseconds, in microseconds as text.
func microseconds(_ sorted: [UInt64], percentile p: Double) -> String {
    guard !sorted.isEmpty else { return "0.0" }
    let rank = min(max(Int((p / 100 * Double(sorted.count)).rounded(.up)), 1), sorted.count)
    return String(format: "%.1f", Double(sorted[rank - 1]) / 1_000)
}

/// Prints `RESULT key=value …` (what `run.sh` summarizes) and appends it to
/// `$RAPPORT_BENCH_RESULTS` when set. Latencies are nearest-rank percentiles;
/// events/s counts the aggregate's events per load, the work a load stands for.
func publishResult(key: String, samples: [UInt64], eventsPerOperation: Int, notes: [(String, String)]) {
    let sorted = samples.sorted()
    func percentile(_ p: Double) -> String { microseconds(sorted, percentile: p) }
    let total = sorted.reduce(0, +)
    let perSecond = total == 0 ? 0 : Int((Double(sorted.count * eventsPerOperation) * 1e9 / Double(total)).rounded())
    let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "?"
    var fields = [
        "benchmark=\(key.replacingOccurrences(of: " ", with: "/"))", "operations=\(sorted.count)",
        "events=\(sorted.count * eventsPerOperation)", "seconds=\(String(format: "%.3f", Double(total) / 1e9))",
        "events_per_s=\(perSecond)", "p50_us=\(percentile(50))", "p99_us=\(percentile(99))", "p999_us=\(percentile(99.9))",
        "max_us=\(percentile(100))",
    ]
    fields += notes.map { "\($0.0)=\($0.1)" }
    fields.append("loadavg_1m=\(load)")
    let line = "RESULT " + fields.joined(separator: " ")
    print(line)
    if let path = ProcessInfo.processInfo.environment["RAPPORT_BENCH_RESULTS"], !path.isEmpty,
       let handle = FileHandle(forWritingAtPath: path) ?? (FileManager.default.createFile(atPath: path, contents: nil) ? FileHandle(forWritingAtPath: path) : nil) {
        handle.seekToEndOfFile()
        handle.write(Data((line + "\n").utf8))
        try? handle.close()
    }
}
