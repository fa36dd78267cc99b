import Benchmark
import Foundation
import RapportEventLog
import RapportLMDB
import RawLMDB

// W5 of shared/WORKLOAD.md: W4 (one whole stream of about 100 events) and a
// tag query (every event with one tag, about 100) on stores of 1,000,000 and
// 10,000,000 events; the latency at 10M must stay within 1.5x of 1M. Each
// size also replays its whole log in pages, to show the heap stays flat.
//
// The stores are built by the first run into RAPPORT_BENCH_DIR (outside the
// measurement; the 10M store takes minutes and about 6 GB) and reused after.
// RAPPORT_BENCH_W5_SIZES picks the sizes (default "1000000,10000000").
enum ScaleBenchmarks {
    static let sizes: [Int] = (ProcessInfo.processInfo.environment["RAPPORT_BENCH_W5_SIZES"] ?? "1000000,10000000")
        .split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }

    static func register() {
        for size in sizes {
            for kind in ScaleQuery.Kind.allCases {
                let runner = ScaleQuery(kind, size: size)
                Benchmark(
                    "W5 \(kind.name) at \(ScaleFixture.label(size))",
                    configuration: .init(warmupIterations: 100, maxDuration: .seconds(600), maxIterations: 10_000),
                    closure: { benchmark in try await runner.iteration(benchmark) },
                    setup: { try await runner.setUp() },
                    teardown: { await runner.tearDown() })
            }
            let replay = ScaleReplay(size: size)
            Benchmark(
                "W5 full replay at \(ScaleFixture.label(size))",
                configuration: .init(metrics: [.wallClock, .mallocCountTotal], warmupIterations: 0, maxDuration: .seconds(1_800), maxIterations: 1),
                closure: { benchmark in try await replay.iteration(benchmark) },
                setup: { try await replay.setUp() },
                teardown: { await replay.tearDown() })
        }
    }
}

/// The W5 stores: event `n` (from 0) goes to stream `contact-(n % s)` and
/// carries the tag `company:((n + n / s) % s)`, with `s` = events / 100, so
/// every stream and every tag holds exactly 100 events whatever the size,
/// spread over the whole log (a tag's events are in 100 different streams). 256-byte SplitMix64(42) payloads, as W1; relaxed durability
/// while building (the figures are reads).
enum ScaleFixture {
    static let perKey = 100

    static func label(_ size: Int) -> String { size % 1_000_000 == 0 ? "\(size / 1_000_000)M" : "\(size)" }

    static func path(_ size: Int) -> String {
        ((SnapshotFixture.shared ?? SnapshotFixture.privateDirectory) as NSString).appendingPathComponent("scale-\(size)")
    }

    static func open(_ size: Int) async throws -> LMDBEventStore {
        let path = path(size), mark = path + ".complete"
        if !FileManager.default.fileExists(atPath: mark) {
            try? FileManager.default.removeItem(atPath: path)
            var configuration = LMDBEventStore.Configuration()
            configuration.durability = .relaxed
            let store = try LMDBEventStore(path: path, configuration: configuration)
            let keys = size / perKey
            let streams = (0..<keys).map { try! StreamID("contact-\($0)") }
            let tags = (0..<keys).map { try! Tag("company:\($0)") }
            let metadata = EventMetadata(actor: Principal(id: "user:anna", role: .salesRep), channel: .api)
            var random = SplitMix64(seed: 42)
            var payload = [UInt8](repeating: 0, count: 256)
            let batch = 1_000
            for first in stride(from: 0, to: size, by: batch) {
                var parts: [StreamAppend] = []
                var partOfStream: [Int: Int] = [:]  // a stream appears once per request (small sizes have fewer streams than a batch)
                parts.reserveCapacity(batch)
                for n in first..<min(first + batch, size) {
                    for offset in stride(from: 0, to: payload.count, by: 8) {
                        payload.withUnsafeMutableBytes { $0.storeBytes(of: random.next().littleEndian, toByteOffset: offset, as: UInt64.self) }
                    }
                    let event = NewEvent(type: "ContactNoteAdded", metadata: metadata, tags: [tags[(n + n / keys) % keys]], payload: Data(payload))
                    if let part = partOfStream[n % keys] {
                        parts[part].events.append(event)
                    } else {
                        partOfStream[n % keys] = parts.count
                        parts.append(StreamAppend(streamID: streams[n % keys], events: [event]))
                    }
                }
                _ = try await store.append(AppendRequest(parts))
            }
            await store.close()
            _ = FileManager.default.createFile(atPath: mark, contents: Data())
        }
        return try LMDBEventStore(path: path)
    }

    /// The store of `size` events, every page of it touched once, so that both sizes are measured warm.
    static func openWarm(_ size: Int) async throws -> LMDBEventStore {
        let store = try await open(size)
        try warm(store)
        return store
    }

    static func warm(_ store: LMDBEventStore) throws {
        var sum = 0
        _ = try store.scan(from: 1) { record in
            sum &+= record.payload.count
            return .continue
        }
        precondition(sum > 0)
    }
}

/// W4 and the tag query at one size: one random stream or tag per iteration (SplitMix64(42)).
final class ScaleQuery: @unchecked Sendable {
    enum Kind: CaseIterable {
        case stream, tag

        var name: String {
            switch self {
            case .stream: "one whole stream (100 events)"
            case .tag: "every event with one tag (100 events)"
            }
        }
    }

    let kind: Kind
    let size: Int
    var store: LMDBEventStore?
    var random = SplitMix64(seed: 42)
    var samples: [UInt64] = []
    var returned = 0

    init(_ kind: Kind, size: Int) {
        self.kind = kind
        self.size = size
    }

    func setUp() async throws { store = try await ScaleFixture.openWarm(size) }

    func iteration(_ benchmark: Benchmark) async throws {
        let store = store!
        let key = Int(random.next() % UInt64(size / ScaleFixture.perKey))
        let stream = try StreamID("contact-\(key)"), tag = try Tag("company:\(key)")
        benchmark.startMeasurement()
        let begin = DispatchTime.now().uptimeNanoseconds
        let events: [RecordedEvent]
        switch kind {
        case .stream: events = try await store.readStream(stream, from: 1, direction: .forward, limit: 1_000)
        case .tag: events = try await store.readLog(from: 1, filter: LogFilter(tags: [tag]), limit: 1_000)
        }
        let end = DispatchTime.now().uptimeNanoseconds
        benchmark.stopMeasurement()
        precondition(events.count == ScaleFixture.perKey, "\(kind) \(key): \(events.count) events")
        returned += events.count
        if benchmark.currentIteration >= benchmark.configuration.warmupIterations { samples.append(end - begin) }
    }

    func tearDown() async {
        await store?.close()
        let key = "W5 \(kind == .stream ? "stream" : "tag")-\(ScaleFixture.label(size))"
        publishResult(key: key, samples: samples, eventsPerOperation: ScaleFixture.perKey, notes: [("log_events", "\(size)")])
    }
}

/// Every event of the log read in pages of 1,000 `RecordedEvent`s (payloads
/// copied out), as a projection runner reads it; the heap in use is sampled
/// after every page. Flat memory: the growth is the same at 1M and 10M.
final class ScaleReplay: @unchecked Sendable {
    let size: Int
    var store: LMDBEventStore?
    var samples: [UInt64] = []
    var heapGrowth = 0
    var events = 0

    init(size: Int) { self.size = size }

    func setUp() async throws { store = try await ScaleFixture.openWarm(size) }

    func iteration(_ benchmark: Benchmark) async throws {
        let store = store!
        let before = Self.heapInUse()
        var highest = before
        var next = LogPosition(1)
        var count = 0
        benchmark.startMeasurement()
        let begin = DispatchTime.now().uptimeNanoseconds
        while true {
            let page = try await store.readLog(from: next, filter: .all, limit: 1_000)
            guard let last = page.last else { break }
            count += page.count
            next = last.position.next
            highest = max(highest, Self.heapInUse())
        }
        let end = DispatchTime.now().uptimeNanoseconds
        benchmark.stopMeasurement()
        precondition(count == size, "replayed \(count) of \(size)")
        events = count
        heapGrowth = highest - before
        samples.append(end - begin)
    }

    func tearDown() async {
        await store?.close()
        publishResult(key: "W5 replay-\(ScaleFixture.label(size))", samples: samples, eventsPerOperation: events,
                      notes: [("heap_growth_bytes", "\(heapGrowth)")])
    }

    /// Bytes the allocator has handed out and not taken back (glibc `mallinfo2`; 0 elsewhere).
    static func heapInUse() -> Int { Int(raw_heap_in_use()) }
}
