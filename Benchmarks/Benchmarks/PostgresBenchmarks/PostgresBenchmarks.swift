import Benchmark
import Foundation
import Logging
import PostgresNIO
import RapportEventLog
import RapportPostgres
import RawLMDB

// W1–W4 of shared/WORKLOAD.md against PostgresEventStore, each beside a raw
// SQL baseline on the same server in the same run: the same rows written by
// plain INSERT and by COPY, read back by plain SELECT.
//
// The server is RAPPORT_POSTGRES_URL (run-postgres.sh starts a throwaway one
// on 127.0.0.1 through scripts/with-postgres). Without it nothing registers.
// package-benchmark runs each benchmark in its own process, in name order;
// W3 and W4 read the tables W1 wrote (schemas bench_w1_*), building them
// first when W1 has not run. Every benchmark prints a `RESULT` line that
// run-postgres.sh turns into a summary with the ratios.
//
// Timings.swift and Workload.swift are the RapportBenchmarks target's own
// files (symbolic links): the same payloads, streams and recorder.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: Metrics.all, warmupIterations: 0)
    guard let server = Server.fromEnvironment else {
        print("RAPPORT_POSTGRES_URL is not set: the PostgreSQL benchmarks are skipped (run Benchmarks/run-postgres.sh)")
        return
    }
    BulkAppendInterleaved(server).register()
    SingleAppendsInterleaved(server).register()
    ConcurrentAppends(server, raw: false).register()
    ConcurrentAppends(server, raw: true).register()
    Replay(server, raw: false).register()
    Replay(server, raw: true).register()
    StreamReads(server, raw: false).register()
    StreamReads(server, raw: true).register()
}

// MARK: - The server and the raw tables

/// The PostgreSQL server of the run, from `RAPPORT_POSTGRES_URL`.
struct Server: Sendable {
    let configuration: PostgresClient.Configuration

    static let fromEnvironment: Server? = {
        guard let url = ProcessInfo.processInfo.environment["RAPPORT_POSTGRES_URL"], !url.isEmpty,
              let parts = URLComponents(string: url), let host = parts.host
        else { return nil }
        let database = parts.path.hasPrefix("/") ? String(parts.path.dropFirst()) : parts.path
        var configuration = PostgresClient.Configuration(
            host: host, port: parts.port ?? 5432, username: parts.user ?? "postgres", password: parts.password,
            database: database.isEmpty ? "postgres" : database, tls: .disable)
        configuration.options.maximumConnections = 24
        return Server(configuration: configuration)
    }()

    static let logger: Logger = {
        var logger = Logger(label: "rapport.benchmarks")
        logger.logLevel = .error
        return logger
    }()

    /// A running client; cancel the returned task after `client` is no longer used.
    func connect() -> (PostgresClient, Task<Void, Never>) {
        let client = PostgresClient(configuration: configuration, backgroundLogger: Self.logger)
        return (client, Task { await client.run() })
    }
}

/// One running client and what the benchmarks keep on it.
final class Session: @unchecked Sendable {
    let client: PostgresClient
    private let running: Task<Void, Never>

    init(_ server: Server) {
        (client, running) = server.connect()
    }

    func execute(_ sql: String) async throws {
        for try await _ in try await client.query(PostgresQuery(unsafeSQL: sql), logger: Server.logger) {}
    }

    func scalar(_ sql: String) async throws -> Int64? {
        for try await value in try await client.query(PostgresQuery(unsafeSQL: sql), logger: Server.logger).decode(Int64.self) {
            return value
        }
        return nil
    }

    /// A Rapport store on a schema, dropped and migrated anew when `fresh`.
    func store(schema: String, fresh: Bool) async throws -> PostgresEventStore {
        if fresh { try await execute("DROP SCHEMA IF EXISTS \(schema) CASCADE") }
        let store = try PostgresEventStore(client: client, configuration: .init(schema: schema), logger: Server.logger)
        try await store.migrate()
        return store
    }

    /// A raw table (in schema `public`: COPY quotes the name whole) shaped like
    /// Rapport's `rapport_events` (the same keys), the bare payload in place of
    /// the record; dropped and made anew.
    func freshRawTable(_ table: String) async throws {
        try await execute("DROP TABLE IF EXISTS \(table)")
        try await execute("""
            CREATE TABLE \(table) (
                position bigint PRIMARY KEY, stream_id text NOT NULL, stream_version bigint NOT NULL,
                event_id uuid NOT NULL, type text NOT NULL, payload bytea NOT NULL,
                UNIQUE (stream_id, stream_version), UNIQUE (event_id))
            """)
    }

    func close() async {
        running.cancel()
    }

    /// The size of every table of `schema` with its indexes, in bytes.
    func size(ofSchema schema: String) async throws -> Int64 {
        try await scalar("""
            SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '\(schema)' AND c.relkind = 'r'
            """) ?? 0
    }
}

/// The rows of raw event `n` (1-based position `n + 1`), as Rapport would file it.
struct RawRows {
    var positions: [Int64] = []
    var streams: [String] = []
    var versions: [Int64] = []
    var ids: [UUID] = []
    var payloads: [ByteBuffer] = []

    /// Events `n ..< n + count`; `payload(i)` is the payload of event `n + i`.
    init(first n: Int, count: Int, payload: (Int) -> UnsafeRawBufferPointer) {
        for i in 0..<count {
            let k = n + i
            positions.append(Int64(k + 1))
            streams.append(Workload.streams[k % Workload.streamCount].rawValue)
            versions.append(Int64(k / Workload.streamCount + 1))
            ids.append(EventID().uuid)
            payloads.append(ByteBuffer(bytes: payload(i)))
        }
    }

    /// One multi-row `INSERT … VALUES ($1, …), (…)`, every value bound.
    func insert(into table: String) -> PostgresQuery {
        var sql = "INSERT INTO \(table) (position, stream_id, stream_version, event_id, type, payload) VALUES "
        var bindings = PostgresBindings(capacity: positions.count * 6)
        for i in positions.indices {
            let base = i * 6
            sql += (i == 0 ? "" : ",") + "($\(base + 1),$\(base + 2),$\(base + 3),$\(base + 4),$\(base + 5),$\(base + 6))"
            bindings.append(positions[i])
            bindings.append(streams[i])
            bindings.append(versions[i])
            bindings.append(ids[i])
            bindings.append(Workload.eventType)
            bindings.append(payloads[i])
        }
        return PostgresQuery(unsafeSQL: sql, binds: bindings)
    }

    /// The same rows in COPY's text format (bytea as `\\x` hex).
    func copyText() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(positions.count * (Workload.payloadSize * 2 + 96))
        let hex = Array("0123456789abcdef".utf8)
        for i in positions.indices {
            buffer.writeString("\(positions[i])\t\(streams[i])\t\(versions[i])\t\(ids[i].uuidString)\t\(Workload.eventType)\t\\\\x")
            var bytes = payloads[i]
            while let byte = bytes.readInteger(as: UInt8.self) {
                buffer.writeInteger(hex[Int(byte >> 4)])
                buffer.writeInteger(hex[Int(byte & 0x0F)])
            }
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        return buffer
    }
}

/// Where W1 leaves its three logs for W3 and W4.
enum BulkSchema {
    static let rapport = "bench_w1_rapport"
    static let rawInsert = "bench_raw_w1_insert"
    static let rawCopy = "bench_raw_w1_copy"

    /// Builds W1's Rapport log and raw COPY table when a complete one is not there (outside any measurement).
    static func ensure(_ session: Session) async throws {
        let rapportHead = try? await session.scalar("SELECT position FROM \(rapport).rapport_log_head")
        let rawCount = try? await session.scalar("SELECT count(*) FROM \(rawCopy)")
        if rapportHead == Int64(Workload.bulkEvents) && rawCount == Int64(Workload.bulkEvents) { return }
        let store = try await session.store(schema: rapport, fresh: true)
        try await session.freshRawTable(rawCopy)
        let payloads = PayloadSource(batchSize: Workload.bulkBatchSize)
        for batch in 0..<(Workload.bulkEvents / Workload.bulkBatchSize) {
            payloads.nextBatch()
            _ = try await store.append(Workload.bulkRequest(batch: batch, payloads: payloads))
            let rows = RawRows(first: batch * Workload.bulkBatchSize, count: Workload.bulkBatchSize, payload: payloads.payload)
            try await copy(rows, into: rawCopy, session)
        }
        await store.close()
    }

    static func copy(_ rows: RawRows, into table: String, _ session: Session) async throws {
        let text = rows.copyText()
        try await session.client.withConnection { connection in
            try await connection.copyFrom(
                table: table, columns: ["position", "stream_id", "stream_version", "event_id", "type", "payload"], logger: Server.logger
            ) { writer in try await writer.write(text) }
        }
    }
}

// MARK: - W1 bulk append

/// W1, the three ways taking turns: each iteration writes batch `b` (1,000
/// events, one in each of 1,000 streams) by COPY into one raw table, by one
/// multi-row INSERT into another, and as one `append` of 1,000 events to
/// Rapport; each in its own durable transaction, each timed. Taking turns, all
/// three see the same moments of the shared machine.
final class BulkAppendInterleaved: @unchecked Sendable {
    let server: Server
    let copyTimings = Timings(key: "PG-W1 raw-copy", eventsPerOperation: Workload.bulkBatchSize)
    let insertTimings = Timings(key: "PG-W1 raw-insert", eventsPerOperation: Workload.bulkBatchSize)
    let rapportTimings = Timings(key: "PG-W1 rapport", eventsPerOperation: Workload.bulkBatchSize)
    var session: Session?
    var store: PostgresEventStore?
    let payloads = PayloadSource(batchSize: Workload.bulkBatchSize)
    var batch = 0

    init(_ server: Server) { self.server = server }

    func register() {
        Benchmark(
            "PG W1 bulk append (1M events, 1000 per call) - interleaved COPY, INSERT and Rapport",
            configuration: .init(maxDuration: .seconds(1_200), maxIterations: Workload.bulkEvents / Workload.bulkBatchSize),
            closure: { (benchmark: Benchmark) async throws in try await self.iteration(benchmark) },
            setup: {
                let session = Session(self.server)
                self.session = session
                self.store = try await session.store(schema: BulkSchema.rapport, fresh: true)
                try await session.freshRawTable(BulkSchema.rawInsert)
                try await session.freshRawTable(BulkSchema.rawCopy)
            },
            teardown: { try await self.tearDown() })
    }

    func iteration(_ benchmark: Benchmark) async throws {
        let session = session!, store = store!
        payloads.nextBatch()
        let rows = RawRows(first: batch * Workload.bulkBatchSize, count: Workload.bulkBatchSize, payload: payloads.payload)
        benchmark.startMeasurement()
        let t0 = Timings.now()
        try await BulkSchema.copy(rows, into: BulkSchema.rawCopy, session)
        let t1 = Timings.now()
        try await session.client.query(rows.insert(into: BulkSchema.rawInsert), logger: Server.logger).consume()
        let t2 = Timings.now()
        _ = try await store.append(Workload.bulkRequest(batch: batch, payloads: payloads))
        let t3 = Timings.now()
        benchmark.stopMeasurement()
        copyTimings.record(t1 - t0)
        insertTimings.record(t2 - t1)
        rapportTimings.record(t3 - t2)
        batch += 1
        if Timings.isLastIteration(benchmark) { rapportTimings.report(to: benchmark) }
    }

    func tearDown() async throws {
        guard let session, let store else { return }
        rapportTimings.notes.append(("head", "\(try await store.headPosition())"))
        rapportTimings.notes.append(("table_bytes", "\(try await session.size(ofSchema: BulkSchema.rapport))"))
        await store.close()
        insertTimings.notes.append(("rows", "\(try await session.scalar("SELECT count(*) FROM \(BulkSchema.rawInsert)") ?? 0)"))
        copyTimings.notes.append(("rows", "\(try await session.scalar("SELECT count(*) FROM \(BulkSchema.rawCopy)") ?? 0)"))
        copyTimings.notes.append(("table_bytes", "\(try await session.scalar("SELECT pg_total_relation_size('\(BulkSchema.rawCopy)')") ?? 0)"))
        try await session.execute("DROP TABLE IF EXISTS \(BulkSchema.rawInsert)")
        await session.close()
        copyTimings.publish()
        insertTimings.publish()
        rapportTimings.publish()
    }
}

extension PostgresRowSequence {
    /// Reads every row, so no error is left unseen.
    func consume() async throws {
        for try await _ in self {}
    }
}

// MARK: - W2 single appends

/// W2 with one writer, raw and Rapport taking turns: each iteration inserts
/// event `n` by a one-row INSERT (its own durable transaction), then appends
/// it to Rapport, timing each.
final class SingleAppendsInterleaved: @unchecked Sendable {
    let server: Server
    let rawTimings = Timings(key: "PG-W2 raw-insert-1-writer", eventsPerOperation: 1)
    let rapportTimings = Timings(key: "PG-W2 rapport-1-writer", eventsPerOperation: 1)
    var session: Session?
    var store: PostgresEventStore?
    let payloads = PayloadSource(batchSize: Workload.singleAppends)
    var next = 0
    static let table = "bench_raw_w2_single"

    init(_ server: Server) { self.server = server }

    func register() {
        Benchmark(
            "PG W2 single appends (20k, durable), 1 writer - interleaved INSERT and Rapport",
            configuration: .init(maxDuration: .seconds(600), maxIterations: Workload.singleAppends),
            closure: { (benchmark: Benchmark) async throws in try await self.iteration(benchmark) },
            setup: {
                self.payloads.nextBatch()
                let session = Session(self.server)
                self.session = session
                self.store = try await session.store(schema: "bench_w2_single", fresh: true)
                try await session.freshRawTable(Self.table)
            },
            teardown: { try await self.tearDown() })
    }

    func iteration(_ benchmark: Benchmark) async throws {
        let n = next
        let rows = RawRows(first: n, count: 1) { _ in payloads.payload(n) }
        benchmark.startMeasurement()
        let start = Timings.now()
        try await session!.client.query(rows.insert(into: Self.table), logger: Server.logger).consume()
        let middle = Timings.now()
        let event = NewEvent(type: Workload.eventType, metadata: Workload.metadata, payload: Data(payloads.payload(n)))
        _ = try await store!.append([event], to: Workload.streams[n % Workload.streamCount], expecting: .any)
        let end = Timings.now()
        benchmark.stopMeasurement()
        rawTimings.record(middle - start)
        rapportTimings.record(end - middle)
        next += 1
        if Timings.isLastIteration(benchmark) { rapportTimings.report(to: benchmark) }
    }

    func tearDown() async throws {
        guard let session, let store else { return }
        rapportTimings.notes.append(("head", "\(try await store.headPosition())"))
        await store.close()
        try await session.execute("DROP SCHEMA IF EXISTS bench_w2_single CASCADE")
        try await session.execute("DROP TABLE IF EXISTS \(Self.table)")
        await session.close()
        rawTimings.publish()
        rapportTimings.publish()
    }
}

/// W2 with 8 concurrent writers: 8 tasks, each appending 2,500 single events
/// to its own streams, each append waiting for its durable commit; Rapport on
/// one store (group commit), or raw: one-row INSERTs on 8 pooled connections.
/// The single iteration is the whole run.
final class ConcurrentAppends: @unchecked Sendable {
    let server: Server
    let raw: Bool
    let timings: Timings
    var session: Session?
    var store: PostgresEventStore?
    let payloads = PayloadSource(batchSize: Workload.singleAppends)
    static let table = "bench_raw_w2_concurrent"
    static let schema = "bench_w2_concurrent"

    init(_ server: Server, raw: Bool) {
        self.server = server
        self.raw = raw
        timings = Timings(key: raw ? "PG-W2 raw-insert-8-writers" : "PG-W2 rapport-8-writers", eventsPerOperation: 1)
    }

    func register() {
        Benchmark(
            "PG W2 single appends (20k, durable), 8 writers - \(raw ? "INSERT on 8 connections" : "Rapport")",
            configuration: .init(maxDuration: .seconds(600), maxIterations: 1),
            closure: { (benchmark: Benchmark) async throws in try await self.iteration(benchmark) },
            setup: {
                self.payloads.nextBatch()
                let session = Session(self.server)
                self.session = session
                if self.raw {
                    try await session.freshRawTable(Self.table)
                } else {
                    self.store = try await session.store(schema: Self.schema, fresh: true)
                }
            },
            teardown: { try await self.tearDown() })
    }

    func iteration(_ benchmark: Benchmark) async throws {
        let writers = Workload.concurrentWriters
        let perWriter = Workload.singleAppends / writers
        let client = session!.client, store = store, raw = raw
        let rows = (0..<Workload.singleAppends).map { n in RawRows(first: n, count: 1) { _ in payloads.payload(n) } }
        let events = (0..<Workload.singleAppends).map { Data(payloads.payload($0)) }
        benchmark.startMeasurement()
        let start = Timings.now()
        let samples = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var samples: [UInt64] = []
                    samples.reserveCapacity(perWriter)
                    for j in 0..<perWriter {
                        let n = writer + writers * j
                        let begin = Timings.now()
                        if raw {
                            try await client.query(rows[n].insert(into: Self.table), logger: Server.logger).consume()
                        } else {
                            let event = NewEvent(type: Workload.eventType, metadata: Workload.metadata, payload: events[n])
                            _ = try await store!.append([event], to: Workload.streams[n % Workload.streamCount], expecting: .any)
                        }
                        samples.append(Timings.now() - begin)
                    }
                    return samples
                }
            }
            var all: [UInt64] = []
            for try await part in group { all += part }
            return all
        }
        let end = Timings.now()
        benchmark.stopMeasurement()
        timings.record(contentsOf: samples)
        timings.wallClock = (samples.count, end - start)
        timings.report(to: benchmark)
    }

    func tearDown() async throws {
        guard let session else { return }
        if let store {
            let head = try await store.headPosition()
            timings.notes.append(("head", "\(head)"))
            await store.close()
            try await session.execute("DROP SCHEMA IF EXISTS \(Self.schema) CASCADE")
        } else {
            timings.notes.append(("rows", "\(try await session.scalar("SELECT count(*) FROM \(Self.table)") ?? 0)"))
            try await session.execute("DROP TABLE IF EXISTS \(Self.table)")
        }
        await session.close()
        timings.publish()
    }
}

// MARK: - W3 full replay

/// W3: read every event of W1's log in order, in pages of 1,000, adding up
/// every payload byte. Rapport: `readLog` (records checked and decoded into
/// `RecordedEvent`s); raw: `SELECT position, payload … WHERE position > $1
/// ORDER BY position LIMIT 1000` on W1's COPY table. 3 passes after 1 warm-up.
final class Replay: @unchecked Sendable {
    let server: Server
    let raw: Bool
    let timings: Timings
    var session: Session?
    var store: PostgresEventStore?
    var checksum: UInt64 = 0

    init(_ server: Server, raw: Bool) {
        self.server = server
        self.raw = raw
        timings = Timings(key: raw ? "PG-W3 raw-select" : "PG-W3 rapport-readLog", eventsPerOperation: Workload.bulkEvents)
    }

    func register() {
        Benchmark(
            "PG W3 full replay (1M events, pages of 1000) - \(raw ? "raw SELECT" : "Rapport readLog")",
            configuration: .init(warmupIterations: 1, maxDuration: .seconds(600), maxIterations: 3),
            closure: { (benchmark: Benchmark) async throws in try await self.iteration(benchmark) },
            setup: {
                let session = Session(self.server)
                self.session = session
                try await BulkSchema.ensure(session)
                if !self.raw { self.store = try await session.store(schema: BulkSchema.rapport, fresh: false) }
            },
            teardown: { try await self.tearDown() })
    }

    func iteration(_ benchmark: Benchmark) async throws {
        benchmark.startMeasurement()
        let start = Timings.now()
        var sum: UInt64 = 0, count = 0
        if let store {
            var next = LogPosition(1)
            while true {
                let page = try await store.readLog(from: next, filter: .all, limit: 1_000)
                for event in page {
                    sum &+= event.payload.withUnsafeBytes { raw_sum_bytes($0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count) }
                }
                count += page.count
                guard let last = page.last, page.count == 1_000 else { break }
                next = last.position.next
            }
        } else {
            var after: Int64 = 0
            while true {
                var rows = 0
                let query = PostgresQuery(
                    unsafeSQL: "SELECT position, payload FROM \(BulkSchema.rawCopy) WHERE position > $1 ORDER BY position LIMIT 1000",
                    binds: { var b = PostgresBindings(); b.append(after); return b }())
                for try await (position, payload) in try await session!.client.query(query, logger: Server.logger).decode((Int64, ByteBuffer).self) {
                    sum &+= payload.withUnsafeReadableBytes { raw_sum_bytes($0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count) }
                    after = position
                    rows += 1
                }
                count += rows
                if rows < 1_000 { break }
            }
        }
        let end = Timings.now()
        benchmark.stopMeasurement()
        precondition(count == Workload.bulkEvents, "W3 read \(count) events, not \(Workload.bulkEvents)")
        checksum = sum
        timings.record(end - start, of: benchmark)
    }

    func tearDown() async throws {
        timings.notes.append(("payload_byte_sum", "\(checksum)"))
        await store?.close()
        await session?.close()
        timings.publish()
    }
}

// MARK: - W4 stream read

/// W4: 10,000 reads of one whole stream (100 events) of W1's log, streams
/// drawn at random from the seed. Rapport: `readStream`; raw: `SELECT
/// position, payload … WHERE stream_id = $1 ORDER BY stream_version` on W1's
/// COPY table (through its unique (stream_id, stream_version) index).
final class StreamReads: @unchecked Sendable {
    let server: Server
    let raw: Bool
    let timings: Timings
    var session: Session?
    var store: PostgresEventStore?
    var generator = SplitMix64()

    init(_ server: Server, raw: Bool) {
        self.server = server
        self.raw = raw
        timings = Timings(key: raw ? "PG-W4 raw-select" : "PG-W4 rapport-readStream", eventsPerOperation: Workload.eventsPerStream)
    }

    func register() {
        Benchmark(
            "PG W4 stream reads (10k streams of 100 events) - \(raw ? "raw SELECT" : "Rapport readStream")",
            configuration: .init(maxDuration: .seconds(600), maxIterations: Workload.streamReads),
            closure: { (benchmark: Benchmark) async throws in try await self.iteration(benchmark) },
            setup: {
                let session = Session(self.server)
                self.session = session
                try await BulkSchema.ensure(session)
                if !self.raw { self.store = try await session.store(schema: BulkSchema.rapport, fresh: false) }
            },
            teardown: { try await self.tearDown() })
    }

    func iteration(_ benchmark: Benchmark) async throws {
        let stream = Workload.streams[generator.next(below: Workload.streamCount)]
        benchmark.startMeasurement()
        let start = Timings.now()
        var count = 0
        if let store {
            count = try await store.readStream(stream, from: 1, direction: .forward, limit: 1_000).count
        } else {
            var bindings = PostgresBindings()
            bindings.append(stream.rawValue)
            let query = PostgresQuery(
                unsafeSQL: "SELECT position, payload FROM \(BulkSchema.rawCopy) WHERE stream_id = $1 ORDER BY stream_version", binds: bindings)
            for try await row in try await session!.client.query(query, logger: Server.logger).decode((Int64, ByteBuffer).self) {
                blackHole(row)
                count += 1
            }
        }
        let end = Timings.now()
        benchmark.stopMeasurement()
        precondition(count == Workload.eventsPerStream, "W4 read \(count) events of \(stream), not \(Workload.eventsPerStream)")
        timings.record(end - start, of: benchmark)
    }

    func tearDown() async throws {
        await store?.close()
        await session?.close()
        timings.publish()
    }
}
