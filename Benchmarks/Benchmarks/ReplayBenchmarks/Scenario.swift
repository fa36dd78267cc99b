import Benchmark
import Foundation
import RapportCore
import RapportEventLog
import RapportLMDB
import RapportProjections
import RapportReplay
import RapportScenario
import RawLMDB

// C1–C4 of shared/WORKLOAD.md on the LMDB store: the CRM scenario generated
// (C1, measured once while the store is built), the three projections
// rebuilt from position 1 in one pass (C2), audit queries (C3) and time
// travel (C4). Size M (1,000,000 events) unless RAPPORT_BENCH_SCENARIO_EVENTS
// says otherwise. The history is recorded in simulated time (ScenarioClock),
// so "as of a date" means what the store knew then, as in real use.
enum ScenarioBenchmarks {
    static func register() {
        let c2 = ScenarioRebuild()
        Benchmark(
            "C2 rebuild contact histories, audit trails and deal states",
            configuration: .init(metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident], warmupIterations: 0,
                                 maxDuration: .seconds(1_800), maxIterations: 1),
            closure: { benchmark in try await c2.iteration(benchmark) },
            setup: { try await c2.setUp() },
            teardown: { await c2.tearDown() })
        for query in ScenarioQuery.Kind.allCases {
            let runner = ScenarioQuery(query)
            Benchmark(
                query.name,
                configuration: .init(warmupIterations: 3, maxDuration: .seconds(300), maxIterations: query.iterations),
                closure: { benchmark in try await runner.iteration(benchmark) },
                setup: { try await runner.setUp() },
                teardown: { await runner.tearDown() })
        }
    }
}

/// The generated store, built once per run directory (C1 is measured then).
enum ScenarioFixture {
    static let events = ProcessInfo.processInfo.environment["RAPPORT_BENCH_SCENARIO_EVENTS"].flatMap(Int.init) ?? 1_000_000
    static var path: String {
        ((SnapshotFixture.shared ?? SnapshotFixture.privateDirectory) as NSString).appendingPathComponent("scenario-\(events)")
    }
    static var completeMark: String { path + ".complete" }
    static let projections: [any Projection] = [ContactHistory(), AuditTrail(), DealStates()]

    static func open() async throws -> LMDBEventStore {
        if !FileManager.default.fileExists(atPath: completeMark) {
            try? FileManager.default.removeItem(atPath: path)
            var configuration = ScenarioConfiguration(events: events)
            configuration.eventsPerCommit = 1_000
            let clock = ScenarioClock(start: configuration.start)
            var storeConfiguration = LMDBEventStore.Configuration()
            storeConfiguration.clock = clock.storeClock
            let store = try LMDBEventStore(path: path, configuration: storeConfiguration)
            let start = DispatchTime.now().uptimeNanoseconds
            let summary = try await ScenarioGenerator.generate(into: store, configuration: configuration, clock: clock)
            let elapsed = DispatchTime.now().uptimeNanoseconds - start
            publishResult(key: "C1 generate", samples: [elapsed], eventsPerOperation: summary.events, notes: [])
            // The read models the queries use, built once (C2 measures the rebuild).
            _ = try await ProjectionRunner(log: store, storage: store, projections: projections, registry: .crm).catchUp()
            await store.close()
            _ = FileManager.default.createFile(atPath: completeMark, contents: Data())
        }
        let store = try LMDBEventStore(path: path)
        // Read models of an older projection version are rebuilt here, outside any measurement.
        _ = try await ProjectionRunner(log: store, storage: store, projections: projections, registry: .crm).catchUp()
        return store
    }
}

/// C2: empties the three read models and rebuilds them from position 1 in
/// one pass, into the store's own read-model tables (as `rapport rebuild` does).
final class ScenarioRebuild: @unchecked Sendable {
    var store: LMDBEventStore?
    var samples: [UInt64] = []
    var cpu: [UInt64] = []
    var events: UInt64 = 0

    func setUp() async throws { store = try await ScenarioFixture.open() }

    /// The process's CPU time (user and system, all threads) in nanoseconds:
    /// what the rebuild costs whatever else the machine is doing.
    static func cpuNanoseconds() -> UInt64 {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func nanos(_ time: timeval) -> UInt64 { UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_usec) * 1_000 }
        return nanos(usage.ru_utime) + nanos(usage.ru_stime)
    }

    func iteration(_ benchmark: Benchmark) async throws {
        let store = store!
        try await store.commit(ScenarioFixture.projections.map {
            ReadModelChanges(projection: $0.name, resetFirst: true, checkpoint: ProjectionCheckpoint(version: $0.version, position: .start))
        })
        let runner = try ProjectionRunner(log: store, storage: store, projections: ScenarioFixture.projections, registry: .crm)
        benchmark.startMeasurement()
        let start = DispatchTime.now().uptimeNanoseconds
        let cpuStart = Self.cpuNanoseconds()
        let head = try await runner.catchUp()
        let end = DispatchTime.now().uptimeNanoseconds
        cpu.append(Self.cpuNanoseconds() - cpuStart)
        benchmark.stopMeasurement()
        events = head.rawValue
        samples.append(end - start)
    }

    func tearDown() async {
        await store?.close()
        let cpuSeconds = Double(cpu.reduce(0, +)) / 1e9
        let perEvent = events == 0 || cpu.isEmpty ? 0 : cpuSeconds * 1e6 / Double(events) / Double(cpu.count)
        publishResult(key: "C2 rebuild", samples: samples, eventsPerOperation: Int(events),
                      notes: [("cpu_s", String(format: "%.3f", cpuSeconds)), ("cpu_us_per_event", String(format: "%.1f", perEvent))])
    }
}

/// C3 and C4: one query per iteration, its subject drawn at random (seed 42).
final class ScenarioQuery: @unchecked Sendable {
    enum Kind: CaseIterable {
        case actorMonth, actorMonthRead, actorMonthRaw, dealChanges, dealAsOf, pipelineAsOf

        var name: String {
            switch self {
            case .actorMonth: "C3 audit: everything one actor changed in one month"
            case .actorMonthRead: "C3 audit: everything one actor changed in one month, every field read"
            case .actorMonthRaw: "C3 audit: everything one actor changed in one month, raw LMDB copying the same values"
            case .dealChanges: "C3 audit: every change to one deal"
            case .dealAsOf: "C4 time travel: one deal as of a past date"
            case .pipelineAsOf: "C4 time travel: the pipeline summary as of a past date"
            }
        }
        var key: String {
            switch self {
            case .actorMonth: "C3 actor-month"
            case .actorMonthRead: "C3 actor-month-read"
            case .actorMonthRaw: "C3 actor-month-raw"
            case .dealChanges: "C3 deal-changes"
            case .dealAsOf: "C4 deal-as-of"
            case .pipelineAsOf: "C4 pipeline-as-of"
            }
        }
        var iterations: Int { 300 }
    }

    let kind: Kind
    var store: LMDBEventStore?
    var deals: [DealID] = []
    var pipelines: [PipelineID] = []
    var start = Date(), end = Date()
    var random = SplitMix64(seed: 42)
    var samples: [UInt64] = []
    var results = 0
    /// The UTF-8 bytes of every text field read (C3 actor-month-read).
    var fieldBytes = 0
    /// Stale deals in the pipeline summaries (each one is a seek).
    var stale = 0
    /// The CPU time of the query's synchronous part on its thread (C3
    /// actor-month, C4 pipeline), which other processes on the machine do
    /// not add to: for comparing builds on a busy machine. Warm-up
    /// iterations are left out, as from the samples.
    var threadCPU: [UInt64] = []

    static func threadCPUNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    init(_ kind: Kind) { self.kind = kind }

    /// Reads every field of `entry` (each decoded when read), and counts the texts' bytes.
    static func readEveryField(of entry: AuditEntry) -> Int {
        var bytes = entry.streamID.utf8.count + entry.entityKind.utf8.count + entry.entityID.utf8.count
        bytes += entry.action.utf8.count + entry.channel.rawValue.utf8.count
        let actor = entry.actor
        bytes += actor.id.utf8.count + actor.role.rawValue.utf8.count
        for change in entry.changes {
            bytes += change.field.utf8.count + (change.oldValue?.utf8.count ?? 0) + (change.newValue?.utf8.count ?? 0)
        }
        let times = entry.recordedAt.timeIntervalSince1970 + (entry.occurredAt?.timeIntervalSince1970 ?? 0)
        let ids = (entry.correlationID == nil ? 0 : 1) + (entry.causationID == nil ? 0 : 1) + Int(entry.eventID.uuid.uuid.0 & 1)
        return bytes + (times > 0 ? 1 : 0) + ids + Int(entry.position.rawValue & 1)
    }

    /// The raw baseline of actor-month: the queries' key ranges, drawn in
    /// `setUp` (the store is closed before the raw reader opens it: LMDB
    /// wants one environment per file in a process), and the reader.
    var rawRanges: [(first: [UInt8], last: [UInt8])] = []
    var rawReader: OpaquePointer?
    var rawBytes: UInt64 = 0

    func setUp() async throws {
        let store = try await ScenarioFixture.open()
        self.store = store
        for try await event in store.events(from: 1, filter: LogFilter(types: ["DealOpened", "PipelineDefined"])) {
            let id = String(event.streamID.rawValue.split(separator: "-", maxSplits: 1).last ?? "")
            if event.type == "DealOpened", let deal = DealID(id) { deals.append(deal) }
            if event.type == "PipelineDefined", let pipeline = PipelineID(id) { pipelines.append(pipeline) }
        }
        let configuration = ScenarioConfiguration(events: ScenarioFixture.events)
        start = configuration.start
        end = configuration.start.addingTimeInterval(configuration.duration)
        if kind == .actorMonthRaw {
            // The actor-month queries' keys in the audit trail's actor index (see AuditTrail's read model):
            // the projection's name and a 0 byte, then `actor/<actor>/<position, 20 digits>`.
            // The same draws as `iteration` makes (deal, actor, date, pipeline), warm-up iterations included.
            for _ in 0..<(kind.iterations + 3) {
                _ = random.next()
                let actor = ScenarioGenerator.actors[Int(random.next() % UInt64(ScenarioGenerator.actors.count))].id
                precondition(!actor.contains("/") && !actor.contains("%"), "an actor id the index would escape")
                let date = someDate()
                _ = random.next()
                let base = Array("audit-trail".utf8) + [0] + Array("actor/\(actor)/".utf8)
                // A month with nothing recorded: an empty range (the last key before the first).
                let month = try await AuditTrail.positions(from: date, through: date.addingTimeInterval(30 * 86_400), in: store)
                let (low, high) = month.map { ($0.lowerBound.rawValue, $0.upperBound.rawValue) } ?? (1, 0)
                rawRanges.append((base + Array(String(format: "%020llu", low).utf8), base + Array(String(format: "%020llu", high).utf8)))
            }
            await store.close()
            self.store = nil
            let code = raw_table_open(ScenarioFixture.path, "read-models", &rawReader)
            precondition(code == 0, "raw_table_open: \(String(cString: raw_error_text(code)))")
        }
    }

    /// A date inside the simulated history, a month before its end at the latest.
    func someDate() -> Date {
        start.addingTimeInterval(Double(random.next() % UInt64(end.timeIntervalSince(start) - 31 * 86_400)))
    }

    func iteration(_ benchmark: Benchmark) async throws {
        if kind == .actorMonthRaw { return rawIteration(benchmark) }
        let store = store!
        let deal = deals[Int(random.next() % UInt64(deals.count))]
        let actor = ScenarioGenerator.actors[Int(random.next() % UInt64(ScenarioGenerator.actors.count))].id
        let date = someDate()
        let pipeline = pipelines[Int(random.next() % UInt64(pipelines.count))]
        benchmark.startMeasurement()
        let begin = DispatchTime.now().uptimeNanoseconds
        var queryCPU: UInt64?
        switch kind {
        case .actorMonth, .actorMonthRead:
            if let month = try await AuditTrail.positions(from: date, through: date.addingTimeInterval(30 * 86_400), in: store) {
                let cpuStart = Self.threadCPUNanoseconds()
                let entries = try AuditTrail().entries(AuditQuery(.actor(actor), positions: month), in: store,
                                                       page: PageRequest(limit: 100_000)).items
                results += entries.count
                // An entry decodes a field when it is read: this variant reads every field of every entry.
                if kind == .actorMonthRead {
                    for entry in entries { fieldBytes += Self.readEveryField(of: entry) }
                }
                queryCPU = Self.threadCPUNanoseconds() - cpuStart
            }
        case .actorMonthRaw:
            preconditionFailure("rawIteration runs it")
        case .dealChanges:
            results += try AuditTrail().entries(AuditQuery(.entity(kind: "deal", id: deal.description)), in: store,
                                                page: PageRequest(limit: 100_000)).items.count
        case .dealAsOf:
            let position = try await store.position(asOf: date)
            results += try await DealStates().state(of: deal, asOf: position, from: store) == nil ? 0 : 1
        case .pipelineAsOf:
            let position = try await store.position(asOf: date)
            let cpuStart = Self.threadCPUNanoseconds()
            let summary = try DealStates().summary(of: pipeline, asOf: position, in: store, now: date)
            queryCPU = Self.threadCPUNanoseconds() - cpuStart
            results += summary == nil ? 0 : 1
            stale += summary?.stale.count ?? 0
        }
        let finish = DispatchTime.now().uptimeNanoseconds
        benchmark.stopMeasurement()
        record(benchmark, wall: finish - begin, queryCPU: queryCPU)
    }

    /// The raw baseline of actor-month: the same key range walked and its values copied by liblmdb from C.
    private func rawIteration(_ benchmark: Benchmark) {
        let range = rawRanges[benchmark.currentIteration % rawRanges.count]
        var values: UInt64 = 0, bytes: UInt64 = 0
        benchmark.startMeasurement()
        let begin = DispatchTime.now().uptimeNanoseconds
        let cpuStart = Self.threadCPUNanoseconds()
        let code = range.first.withUnsafeBufferPointer { first in
            range.last.withUnsafeBufferPointer { last in
                raw_copy_range(rawReader, first.baseAddress, first.count, last.baseAddress, last.count, &values, &bytes)
            }
        }
        let queryCPU = Self.threadCPUNanoseconds() - cpuStart
        let finish = DispatchTime.now().uptimeNanoseconds
        benchmark.stopMeasurement()
        precondition(code == 0, "raw_copy_range: \(String(cString: raw_error_text(code)))")
        results += Int(values)
        rawBytes += bytes
        record(benchmark, wall: finish - begin, queryCPU: queryCPU)
    }

    /// Keeps an iteration's wall time and query CPU time, warm-up iterations left out.
    private func record(_ benchmark: Benchmark, wall: UInt64, queryCPU: UInt64?) {
        guard benchmark.currentIteration >= benchmark.configuration.warmupIterations else { return }
        samples.append(wall)
        if let queryCPU { threadCPU.append(queryCPU) }
    }

    func tearDown() async {
        await store?.close()
        raw_table_close(rawReader)
        var notes = [("results", "\(results)")]
        if kind == .pipelineAsOf { notes.append(("stale_deals", "\(stale)")) }
        if kind == .actorMonthRead { notes.append(("field_bytes", "\(fieldBytes)")) }
        if kind == .actorMonthRaw { notes.append(("value_bytes", "\(rawBytes)")) }
        if !threadCPU.isEmpty {
            let sorted = threadCPU.sorted()
            notes.append(("thread_cpu_p50_us", microseconds(sorted, percentile: 50)))
            notes.append(("thread_cpu_p99_us", microseconds(sorted, percentile: 99)))
        }
        publishResult(key: kind.key, samples: samples, eventsPerOperation: 1, notes: notes)
    }
}
