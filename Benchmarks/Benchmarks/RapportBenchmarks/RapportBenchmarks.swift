import Benchmark
import Foundation
import RapportEventLog
import RapportLMDB
import RawLMDB

// W1–W4 of shared/WORKLOAD.md, each against LMDBEventStore and against the
// raw-LMDB baseline in C (Sources/RawLMDB), measured by the same harness.
//
// package-benchmark runs every benchmark in its own process, in name order,
// so W1 runs before W3 and W4, which reuse its stores when RAPPORT_BENCH_DIR
// is set (see Stores.swift). One iteration is one operation of the workload
// (a W1 batch, a W2 append, a W3 full pass, a W4 stream read), except W2
// with 8 writers, whose single iteration is the whole concurrent run. Every
// benchmark also prints a `RESULT` line (events/s, p50/p99/p99.9) that
// run.sh turns into the summary with the ratios to raw LMDB.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: Metrics.all, warmupIterations: 0)

    BulkAppendRapport().register()
    BulkAppendRaw().register()
    BulkAppendInterleaved().register()
    SingleAppendsRapport().register()
    SingleAppendsRaw().register()
    SingleAppendsInterleaved().register()
    ConcurrentAppendsRapport().register()
    ReplayRapportScan().register()
    ReplayRapportReadLog().register()
    ReplayRaw().register()
    StreamReadRapport().register()
    StreamReadRaw().register()
}

// MARK: - W1 bulk append

/// W1 against Rapport: 1,000 append calls of 1,000 events (one event in each
/// of 1,000 streams), durable. One iteration = one append call, including
/// building its `AppendRequest` (1,000 `NewEvent`s with their ids).
final class BulkAppendRapport: @unchecked Sendable {
    let timings = Timings(key: "W1 rapport", eventsPerOperation: Workload.bulkBatchSize)
    var store: LMDBEventStore?
    let payloads = PayloadSource(batchSize: Workload.bulkBatchSize)
    var batch = 0
    var buildNanoseconds: UInt64 = 0
    var validateNanoseconds: UInt64 = 0
    var eventIDNanoseconds: UInt64 = 0

    func register() {
        Benchmark(
            "W1 bulk append (1M events, 1000 per call) - Rapport",
            configuration: .init(maxDuration: .seconds(600), maxIterations: Workload.bulkEvents / Workload.bulkBatchSize),
            closure: { (benchmark: Benchmark) async throws in try await self.iteration(benchmark) },
            setup: {
                BulkStore.rapport.reset()
                self.store = try LMDBEventStore(path: BulkStore.rapport.path)
                self.timings.startCountingIO()
            },
            teardown: { try await self.tearDown() })
    }

    func iteration(_ benchmark: Benchmark) async throws {
        payloads.nextBatch()
        benchmark.startMeasurement()
        let start = Timings.now()
        let request = Workload.bulkRequest(batch: batch, payloads: payloads)
        let built = Timings.now()
        _ = try await store!.append(request)
        let end = Timings.now()
        benchmark.stopMeasurement()
        timings.record(end - start)
        buildNanoseconds += built - start
        batch += 1
        // Diagnostics, outside the measurement: what two parts of the call cost on their own.
        let cpuBefore = Timings.cpuSeconds()
        defer { timings.excludedCPUSeconds += Timings.cpuSeconds() - cpuBefore }
        let validating = Timings.now()
        try request.validate(limits: EventLimits())
        let identifying = Timings.now()
        for _ in 0..<Workload.bulkBatchSize { blackHole(EventID()) }
        let identified = Timings.now()
        validateNanoseconds += identifying - validating
        eventIDNanoseconds += identified - identifying
        if Timings.isLastIteration(benchmark) { timings.report(to: benchmark) }
    }

    func tearDown() async throws {
        guard let store else { return }
        let head = try await store.headPosition()
        await store.close()
        timings.notes.append(("head", "\(head)"))
        func perEvent(_ nanoseconds: UInt64) -> String { String(format: "%.2f", Double(nanoseconds) / 1000 / Double(max(timings.events, 1))) }
        timings.notes.append(("request_building_us_per_event", perEvent(buildNanoseconds)))
        timings.notes.append(("validate_us_per_event", perEvent(validateNanoseconds)))
        timings.notes.append(("event_id_us_per_event", perEvent(eventIDNanoseconds)))
        timings.notes.append(("store_bytes", "\(directorySize(BulkStore.rapport.path))"))
        timings.noteIO()
        timings.notes.append(("lmdb_txnid", lastTransactionID(BulkStore.rapport.path)))
        timings.publish()
        if Scratch.sharedDirectory != nil && head.rawValue == UInt64(Workload.bulkEvents) {
            BulkStore.rapport.markComplete()
        } else {
            BulkStore.rapport.reset()
        }
        Scratch.removePrivateDirectory()
    }
}

/// W1 against raw LMDB: the same payloads, 1,000 per transaction with MDB_APPEND, durable commits.
final class BulkAppendRaw: @unchecked Sendable {
    let timings = Timings(key: "W1 raw", eventsPerOperation: Workload.bulkBatchSize)
    var store: RawStore?
    let payloads = PayloadSource(batchSize: Workload.bulkBatchSize)
    var batch = 0

    func register() {
        Benchmark(
            "W1 bulk append (1M events, 1000 per call) - raw LMDB",
            configuration: .init(maxDuration: .seconds(600), maxIterations: Workload.bulkEvents / Workload.bulkBatchSize),
            closure: { (benchmark: Benchmark) throws in try self.iteration(benchmark) },
            setup: {
                BulkStore.raw.reset()
                self.store = try RawStore(path: BulkStore.raw.path)
                self.timings.startCountingIO()
            },
            teardown: { try self.tearDown() })
    }

    func iteration(_ benchmark: Benchmark) throws {
        payloads.nextBatch()
        benchmark.startMeasurement()
        let start = Timings.now()
        try store!.append(UnsafeRawBufferPointer(payloads.buffer), count: Workload.bulkBatchSize, at: UInt64(batch * Workload.bulkBatchSize + 1))
        let end = Timings.now()
        benchmark.stopMeasurement()
        batch += 1
        timings.record(end - start, of: benchmark)
    }

    func tearDown() throws {
        guard let store else { return }
        let last = try store.lastPosition()
        store.close()
        timings.notes.append(("head", "\(last)"))
        timings.notes.append(("store_bytes", "\(directorySize(BulkStore.raw.path))"))
        timings.noteIO()
        timings.notes.append(("lmdb_txnid", lastTransactionID(BulkStore.raw.path)))
        timings.publish()
        if Scratch.sharedDirectory != nil && last == UInt64(Workload.bulkEvents) {
            BulkStore.raw.markComplete()
        } else {
            BulkStore.raw.reset()
        }
        Scratch.removePrivateDirectory()
    }
}

/// W1 once more, raw LMDB and Rapport taking turns: each iteration appends
/// batch `b` to a raw store, then the same batch to a Rapport store (both
/// fresh, both durable), timing each. Both implementations thus see the same
/// moments of a shared machine's disk and CPU, so their ratio does not drift
/// with the load of other processes as the ratio of two benchmarks run a
/// minute apart can.
final class BulkAppendInterleaved: @unchecked Sendable {
    let rawTimings = Timings(key: "W1 interleaved-raw", eventsPerOperation: Workload.bulkBatchSize)
    let rapportTimings = Timings(key: "W1 interleaved-rapport", eventsPerOperation: Workload.bulkBatchSize)
    var raw: RawStore?
    var rapport: LMDBEventStore?
    let payloads = PayloadSource(batchSize: Workload.bulkBatchSize)
    var batch = 0

    func register() {
        Benchmark(
            "W1 bulk append (1M events, 1000 per call) - interleaved raw LMDB and Rapport",
            configuration: .init(maxDuration: .seconds(600), maxIterations: Workload.bulkEvents / Workload.bulkBatchSize),
            closure: { (benchmark: Benchmark) async throws in try await self.iteration(benchmark) },
            setup: {
                self.raw = try RawStore(path: Scratch.freshStorePath("w1-interleaved-raw"))
                self.rapport = try LMDBEventStore(path: Scratch.freshStorePath("w1-interleaved-rapport"))
            },
            teardown: { try await self.tearDown() })
    }

    func iteration(_ benchmark: Benchmark) async throws {
        payloads.nextBatch()
        benchmark.startMeasurement()
        let start = Timings.now()
        try raw!.append(UnsafeRawBufferPointer(payloads.buffer), count: Workload.bulkBatchSize, at: UInt64(batch * Workload.bulkBatchSize + 1))
        let middle = Timings.now()
        _ = try await rapport!.append(Workload.bulkRequest(batch: batch, payloads: payloads))
        let end = Timings.now()
        benchmark.stopMeasurement()
        rawTimings.record(middle - start)
        rapportTimings.record(end - middle)
        batch += 1
    }

    func tearDown() async throws {
        guard let raw, let rapport else { return }
        rawTimings.notes.append(("head", "\(try raw.lastPosition())"))
        rapportTimings.notes.append(("head", "\(try await rapport.headPosition())"))
        raw.close()
        await rapport.close()
        rawTimings.publish()
        rapportTimings.publish()
        Scratch.removePrivateDirectory()
    }
}

// MARK: - W2 single appends

/// The 20,000 payloads of W2 (the first 20,000 of the seed-42 sequence).
func singleAppendPayloads() -> [Data] {
    let source = PayloadSource(batchSize: Workload.singleAppends)
    source.nextBatch()
    return (0..<Workload.singleAppends).map { Data(source.payload($0)) }
}

/// W2 with one writer: 20,000 appends of one event, each durably committed
/// before the next starts, into an empty store. One iteration = one append
/// (building the `NewEvent`, appending, waiting for the commit).
final class SingleAppendsRapport: @unchecked Sendable {
    let timings = Timings(key: "W2 rapport-1-writer", eventsPerOperation: 1)
    let directory = "w2-rapport-1"
    var store: LMDBEventStore?
    var payloads: [Data] = []
    var next = 0

    func register() {
        Benchmark(
            "W2 single appends (20k, durable), 1 writer - Rapport",
            configuration: .init(maxDuration: .seconds(300), maxIterations: Workload.singleAppends),
            closure: { (benchmark: Benchmark) async throws in try await self.iteration(benchmark) },
            setup: {
                self.payloads = singleAppendPayloads()
                self.store = try LMDBEventStore(path: Scratch.freshStorePath(self.directory))
                self.timings.startCountingIO()
            },
            teardown: { try await self.tearDown() })
    }

    func iteration(_ benchmark: Benchmark) async throws {
        let n = next
        let stream = Workload.streams[n % Workload.streamCount]
        benchmark.startMeasurement()
        let start = Timings.now()
        let event = NewEvent(type: Workload.eventType, metadata: Workload.metadata, payload: payloads[n])
        _ = try await store!.append([event], to: stream, expecting: .any)
        let end = Timings.now()
        benchmark.stopMeasurement()
        next += 1
        timings.record(end - start, of: benchmark)
    }

    func tearDown() async throws {
        guard let store else { return }
        timings.notes.append(("head", "\(try await store.headPosition())"))
        await store.close()
        timings.noteIO()
        timings.notes.append(("lmdb_txnid", lastTransactionID(store.path)))
        timings.publish()
        Scratch.removePrivateDirectory()
    }
}

/// W2 against raw LMDB: one transaction per 256-byte record, durable commit.
final class SingleAppendsRaw: @unchecked Sendable {
    let timings = Timings(key: "W2 raw", eventsPerOperation: 1)
    let directory = "w2-raw"
    var store: RawStore?
    let payloads = PayloadSource(batchSize: Workload.singleAppends)
    var next = 0

    func register() {
        Benchmark(
            "W2 single appends (20k, durable), 1 writer - raw LMDB",
            configuration: .init(maxDuration: .seconds(300), maxIterations: Workload.singleAppends),
            closure: { (benchmark: Benchmark) throws in try self.iteration(benchmark) },
            setup: {
                self.payloads.nextBatch()
                self.store = try RawStore(path: Scratch.freshStorePath(self.directory))
                self.timings.startCountingIO()
            },
            teardown: { try self.tearDown() })
    }

    func iteration(_ benchmark: Benchmark) throws {
        let n = next
        benchmark.startMeasurement()
        let start = Timings.now()
        try store!.append(payloads.payload(n), count: 1, at: UInt64(n + 1))
        let end = Timings.now()
        benchmark.stopMeasurement()
        next += 1
        timings.record(end - start, of: benchmark)
    }

    func tearDown() throws {
        guard let store else { return }
        timings.notes.append(("head", "\(try store.lastPosition())"))
        store.close()
        timings.noteIO()
        timings.notes.append(("lmdb_txnid", lastTransactionID(store.path)))
        timings.publish()
        Scratch.removePrivateDirectory()
    }
}

/// W2 with one writer once more, raw LMDB and Rapport taking turns: each
/// iteration appends event `n` to a raw store, then to a Rapport store (both
/// fresh, both durable), timing each; see ``BulkAppendInterleaved`` for why.
final class SingleAppendsInterleaved: @unchecked Sendable {
    let rawTimings = Timings(key: "W2 interleaved-raw", eventsPerOperation: 1)
    let rapportTimings = Timings(key: "W2 interleaved-rapport-1-writer", eventsPerOperation: 1)
    var raw: RawStore?
    var rapport: LMDBEventStore?
    let rawPayloads = PayloadSource(batchSize: Workload.singleAppends)
    var payloads: [Data] = []
    var next = 0

    func register() {
        Benchmark(
            "W2 single appends (20k, durable), 1 writer - interleaved raw LMDB and Rapport",
            configuration: .init(maxDuration: .seconds(300), maxIterations: Workload.singleAppends),
            closure: { (benchmark: Benchmark) async throws in try await self.iteration(benchmark) },
            setup: {
                self.rawPayloads.nextBatch()
                self.payloads = singleAppendPayloads()
                self.raw = try RawStore(path: Scratch.freshStorePath("w2-interleaved-raw"))
                self.rapport = try LMDBEventStore(path: Scratch.freshStorePath("w2-interleaved-rapport"))
            },
            teardown: { try await self.tearDown() })
    }

    func iteration(_ benchmark: Benchmark) async throws {
        let n = next
        let stream = Workload.streams[n % Workload.streamCount]
        benchmark.startMeasurement()
        let start = Timings.now()
        try raw!.append(rawPayloads.payload(n), count: 1, at: UInt64(n + 1))
        let middle = Timings.now()
        let event = NewEvent(type: Workload.eventType, metadata: Workload.metadata, payload: payloads[n])
        _ = try await rapport!.append([event], to: stream, expecting: .any)
        let end = Timings.now()
        benchmark.stopMeasurement()
        rawTimings.record(middle - start)
        rapportTimings.record(end - middle)
        next += 1
    }

    func tearDown() async throws {
        guard let raw, let rapport else { return }
        rawTimings.notes.append(("head", "\(try raw.lastPosition())"))
        rapportTimings.notes.append(("head", "\(try await rapport.headPosition())"))
        raw.close()
        await rapport.close()
        rawTimings.publish()
        rapportTimings.publish()
        Scratch.removePrivateDirectory()
    }
}

/// W2 with 8 concurrent writers: 8 tasks, each appending 2,500 single events
/// to its own streams (writer `w` writes `contact-k` with `k % 8 == w`), each
/// append waiting for its durable commit. The single iteration is the whole
/// run; the latency of every append is recorded.
final class ConcurrentAppendsRapport: @unchecked Sendable {
    let timings = Timings(key: "W2 rapport-8-writers", eventsPerOperation: 1)
    let directory = "w2-rapport-8"
    var store: LMDBEventStore?
    var payloads: [Data] = []

    func register() {
        Benchmark(
            "W2 single appends (20k, durable), 8 writers - Rapport",
            configuration: .init(maxDuration: .seconds(300), maxIterations: 1),
            closure: { (benchmark: Benchmark) async throws in try await self.iteration(benchmark) },
            setup: {
                self.payloads = singleAppendPayloads()
                self.store = try LMDBEventStore(path: Scratch.freshStorePath(self.directory))
                self.timings.startCountingIO()
            },
            teardown: { try await self.tearDown() })
    }

    func iteration(_ benchmark: Benchmark) async throws {
        let store = store!
        let payloads = payloads
        let writers = Workload.concurrentWriters
        let perWriter = Workload.singleAppends / writers
        benchmark.startMeasurement()
        let start = Timings.now()
        let samples = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var samples: [UInt64] = []
                    samples.reserveCapacity(perWriter)
                    for j in 0..<perWriter {
                        let stream = Workload.streams[(writer + writers * j) % Workload.streamCount]
                        let begin = Timings.now()
                        let event = NewEvent(type: Workload.eventType, metadata: Workload.metadata, payload: payloads[writer * perWriter + j])
                        _ = try await store.append([event], to: stream, expecting: .any)
                        samples.append(Timings.now() - begin)
                    }
                    return samples
                }
            }
            var all: [UInt64] = []
            for try await samples in group { all += samples }
            return all
        }
        let end = Timings.now()
        benchmark.stopMeasurement()
        timings.record(contentsOf: samples)
        timings.wallClock = (samples.count, end - start)
        timings.report(to: benchmark)
    }

    func tearDown() async throws {
        guard let store else { return }
        timings.notes.append(("head", "\(try await store.headPosition())"))
        await store.close()
        timings.noteIO()
        timings.notes.append(("lmdb_txnid", lastTransactionID(store.path)))
        timings.publish()
        Scratch.removePrivateDirectory()
    }
}

// MARK: - W3 full replay

/// W3 against Rapport with the zero-copy `scan`: every record of W1's store
/// from position 1, adding up every payload byte (with the same C loop as the
/// raw baseline). One iteration = one full pass.
final class ReplayRapportScan: @unchecked Sendable {
    let timings = Timings(key: "W3 rapport-scan", eventsPerOperation: Workload.bulkEvents)
    var store: LMDBEventStore?
    var checksum: UInt64 = 0

    func register() {
        Benchmark(
            "W3 full replay (1M events) - Rapport scan",
            configuration: .init(warmupIterations: 1, maxDuration: .seconds(120), maxIterations: 10),
            closure: { (benchmark: Benchmark) throws in try self.iteration(benchmark) },
            setup: { self.store = try await BulkStore.rapport.openRapport() },
            teardown: { await self.tearDown() })
    }

    func iteration(_ benchmark: Benchmark) throws {
        var sum: UInt64 = 0
        var records = 0
        benchmark.startMeasurement()
        let start = Timings.now()
        try store!.scan(from: 1) { view in
            let payload = view.payload
            sum &+= raw_sum_bytes(payload.baseAddress?.assumingMemoryBound(to: UInt8.self), payload.count)
            records += 1
            return .continue
        }
        let end = Timings.now()
        benchmark.stopMeasurement()
        guard records == Workload.bulkEvents else { throw BenchmarkFailure("the scan saw \(records) records") }
        checksum = sum
        timings.record(end - start, of: benchmark)
    }

    func tearDown() async {
        await store?.close()
        timings.notes.append(("payload_byte_sum", "\(checksum)"))
        timings.publish()
        BulkStore.rapport.release()
    }
}

/// W3 against Rapport through the copying API: `readLog` pages of 1,000
/// `RecordedEvent`s, adding up every payload byte. One iteration = one full pass.
final class ReplayRapportReadLog: @unchecked Sendable {
    let timings = Timings(key: "W3 rapport-readLog", eventsPerOperation: Workload.bulkEvents)
    var store: LMDBEventStore?
    var checksum: UInt64 = 0

    func register() {
        Benchmark(
            "W3 full replay (1M events) - Rapport readLog pages of 1000",
            configuration: .init(warmupIterations: 1, maxDuration: .seconds(120), maxIterations: 3),
            closure: { (benchmark: Benchmark) async throws in try await self.iteration(benchmark) },
            setup: { self.store = try await BulkStore.rapport.openRapport() },
            teardown: { await self.tearDown() })
    }

    func iteration(_ benchmark: Benchmark) async throws {
        let store = store!
        var sum: UInt64 = 0
        var records = 0
        var position = LogPosition(1)
        benchmark.startMeasurement()
        let start = Timings.now()
        while true {
            let page = try await store.readLog(from: position, filter: .all, limit: 1_000)
            guard let last = page.last else { break }
            for event in page {
                sum &+= event.payload.withUnsafeBytes {
                    raw_sum_bytes($0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count)
                }
            }
            records += page.count
            position = LogPosition(last.position.rawValue + 1)
        }
        let end = Timings.now()
        benchmark.stopMeasurement()
        guard records == Workload.bulkEvents else { throw BenchmarkFailure("readLog returned \(records) records") }
        checksum = sum
        timings.record(end - start, of: benchmark)
    }

    func tearDown() async {
        await store?.close()
        timings.notes.append(("payload_byte_sum", "\(checksum)"))
        timings.publish()
        BulkStore.rapport.release()
    }
}

/// W3 against raw LMDB: one cursor over the whole table in one read
/// transaction, adding up every payload byte. One iteration = one full pass.
final class ReplayRaw: @unchecked Sendable {
    let timings = Timings(key: "W3 raw", eventsPerOperation: Workload.bulkEvents)
    var store: RawStore?
    var checksum: UInt64 = 0

    func register() {
        Benchmark(
            "W3 full replay (1M events) - raw LMDB cursor",
            configuration: .init(warmupIterations: 1, maxDuration: .seconds(120), maxIterations: 10),
            closure: { (benchmark: Benchmark) throws in try self.iteration(benchmark) },
            setup: { self.store = try BulkStore.raw.openRaw() },
            teardown: { self.tearDown() })
    }

    func iteration(_ benchmark: Benchmark) throws {
        benchmark.startMeasurement()
        let start = Timings.now()
        let result = try store!.scan()
        let end = Timings.now()
        benchmark.stopMeasurement()
        guard result.records == UInt64(Workload.bulkEvents) else { throw BenchmarkFailure("the raw scan saw \(result.records) records") }
        checksum = result.sum
        timings.record(end - start, of: benchmark)
    }

    func tearDown() {
        store?.close()
        timings.notes.append(("payload_byte_sum", "\(checksum)"))
        timings.publish()
        BulkStore.raw.release()
    }
}

// MARK: - W4 stream read

/// W4 against Rapport: 10,000 reads of one whole stream of W1's store
/// (100 events each), the stream drawn at random (seed 42). One iteration =
/// one `readStream` call. Setup passes over the whole store once first, so the
/// reads see a warm memory map, as in a long-running application.
final class StreamReadRapport: @unchecked Sendable {
    let timings = Timings(key: "W4 rapport", eventsPerOperation: Workload.eventsPerStream)
    var store: LMDBEventStore?
    var generator = SplitMix64()

    func register() {
        Benchmark(
            "W4 stream read (10k random streams of 100 events) - Rapport",
            configuration: .init(maxDuration: .seconds(120), maxIterations: Workload.streamReads),
            closure: { (benchmark: Benchmark) async throws in try await self.iteration(benchmark) },
            setup: {
                let store = try await BulkStore.rapport.openRapport()
                var sum: UInt64 = 0
                try store.scan(from: 1) { view in
                    sum &+= raw_sum_bytes(view.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), view.bytes.count)
                    return .continue
                }
                blackHole(sum)
                self.store = store
            },
            teardown: { await self.tearDown() })
    }

    func iteration(_ benchmark: Benchmark) async throws {
        let stream = Workload.streams[generator.next(below: Workload.streamCount)]
        benchmark.startMeasurement()
        let start = Timings.now()
        let events = try await store!.readStream(stream, from: 1, direction: .forward, limit: 1_000)
        let end = Timings.now()
        benchmark.stopMeasurement()
        guard events.count == Workload.eventsPerStream, events.last?.streamID == stream else {
            throw BenchmarkFailure("readStream(\(stream)) returned \(events.count) events")
        }
        timings.record(end - start, of: benchmark)
    }

    func tearDown() async {
        await store?.close()
        timings.publish()
        BulkStore.rapport.release()
    }
}

/// W4's raw lower bound: the same 100 records of the same randomly drawn
/// stream, fetched by position (`k + 1`, `k + 10001`, …) with point lookups in
/// one read transaction, payloads copied out. Raw LMDB has no streams: this is
/// what reading those records costs at the least.
final class StreamReadRaw: @unchecked Sendable {
    let timings = Timings(key: "W4 raw", eventsPerOperation: Workload.eventsPerStream)
    var store: RawStore?
    var generator = SplitMix64()
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Workload.eventsPerStream * Workload.payloadSize, alignment: 8)

    deinit { buffer.deallocate() }

    func register() {
        Benchmark(
            "W4 stream read (10k random streams of 100 events) - raw LMDB point reads",
            configuration: .init(maxDuration: .seconds(120), maxIterations: Workload.streamReads),
            closure: { (benchmark: Benchmark) throws in try self.iteration(benchmark) },
            setup: {
                let store = try BulkStore.raw.openRaw()
                blackHole(try store.scan())
                self.store = store
            },
            teardown: { self.tearDown() })
    }

    func iteration(_ benchmark: Benchmark) throws {
        let stream = generator.next(below: Workload.streamCount)
        benchmark.startMeasurement()
        let start = Timings.now()
        try store!.read(first: UInt64(stream + 1), stride: UInt64(Workload.streamCount), count: Workload.eventsPerStream, into: buffer)
        let end = Timings.now()
        benchmark.stopMeasurement()
        timings.record(end - start, of: benchmark)
    }

    func tearDown() {
        store?.close()
        timings.publish()
        BulkStore.raw.release()
    }
}

/// The bytes of the files in `path` (an LMDB directory).
func directorySize(_ path: String) -> Int {
    let files = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    return files.reduce(0) { total, name in
        let attributes = try? FileManager.default.attributesOfItem(atPath: (path as NSString).appendingPathComponent(name))
        return total + ((attributes?[.size] as? NSNumber)?.intValue ?? 0)
    }
}
