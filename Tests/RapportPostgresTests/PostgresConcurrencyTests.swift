import Foundation
import RapportEventLog
import RapportLMDB
import RapportPostgres
import Synchronization
import Testing

/// One acknowledged event: a writer was told it is stored at `position`.
struct Acknowledgement: Hashable, Sendable {
    let position: UInt64
    let id: String
    let stream: String
    let version: UInt64

    init(position: UInt64, id: String, stream: String, version: UInt64) {
        self.position = position
        self.id = id
        self.stream = stream
        self.version = version
    }

    init?(line: Substring) {
        let parts = line.split(separator: " ")
        guard parts.count == 5, parts[0] == "ack", let position = UInt64(parts[1]), let version = UInt64(parts[4]) else { return nil }
        self.init(position: position, id: String(parts[2]), stream: String(parts[3]), version: version)
    }
}

/// The workload of the probe (Tests/RapportPostgresProbe), run in this process.
struct Workload: Sendable {
    let store: PostgresEventStore
    let writer: String
    static let sharedStream = try! StreamID("shared-1")
    static let counterTag = try! Tag("counter:1")

    func event(_ type: String, tags: [Tag] = [], payload: String) -> NewEvent {
        NewEvent(type: type, metadata: EventMetadata(actor: Principal(id: "test:\(writer)", role: .system), channel: .automation),
                 tags: tags, payload: Data(payload.utf8))
    }

    func acknowledgements(_ events: [NewEvent], _ result: AppendResult, in stream: StreamID) -> [Acknowledgement] {
        let last = result.streamVersions[stream]!
        return events.enumerated().map { offset, event in
            Acknowledgement(
                position: result.positions.lowerBound.rawValue + UInt64(offset), id: "\(event.id)", stream: stream.rawValue,
                version: last - UInt64(events.count - 1 - offset))
        }
    }

    func step(_ iteration: Int) async throws(EventStoreError) -> [Acknowledgement] {
        switch iteration % 3 {
        case 0:
            let stream = try StreamID("own-\(writer)-\(iteration % 4)")
            let events = (0...(iteration % 3)).map { _ in event("Noted", tags: [try! Tag("writer:\(writer)")], payload: "{}") }
            return acknowledgements(events, try await store.append(events, to: stream, expecting: .any), in: stream)
        case 1:
            while true {
                let version = try await store.streamVersion(of: Self.sharedStream)
                let events = [event("SharedTouched", payload: "{\"writer\":\"\(writer)\"}")]
                do throws(EventStoreError) {
                    let result = try await store.append(events, to: Self.sharedStream, expecting: .exactly(version))
                    return acknowledgements(events, result, in: Self.sharedStream)
                } catch {
                    guard case .wrongExpectedVersion = error else { throw error }
                }
            }
        default:
            let stream = try StreamID("counter-\(writer)")
            while true {
                let seen = try await store.headPosition()
                let counted = try await store.readLog(from: 1, filter: LogFilter(tags: [Self.counterTag]), limit: 1_000_000).count
                let events = [event("Counted", tags: [Self.counterTag], payload: "{\"value\":\(counted + 1)}")]
                do throws(EventStoreError) {
                    let result = try await store.append(events, to: stream, condition: AppendCondition(tags: [Self.counterTag], after: seen))
                    return acknowledgements(events, result, in: stream)
                } catch {
                    guard case .appendConditionFailed = error else { throw error }
                }
            }
        }
    }
}

/// The probe executable, built alongside the tests.
let probeURL: URL = {
    let candidates = [
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent(),
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug"),
    ]
    for directory in candidates {
        let url = directory.appendingPathComponent("RapportPostgresProbe")
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    return candidates[0].appendingPathComponent("RapportPostgresProbe")
}()

/// Runs the probe and returns its output lines and exit status.
func runProbe(_ arguments: [String], password: String?) async throws -> (lines: [Substring], status: Int32) {
    let process = Process()
    process.executableURL = probeURL
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    if let password { environment["RAPPORT_PROBE_PASSWORD"] = password }
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let handle = output.fileHandleForReading
    let data = await Task.detached { handle.readDataToEndOfFile() }.value
    await Task.detached { process.waitUntilExit() }.value
    let text = String(decoding: data, as: UTF8.self)
    return (text.split(separator: "\n"), process.terminationStatus)
}

@Suite("PostgreSQL concurrency", .enabled(if: PostgresTestEnvironment.shouldRun, PostgresTestEnvironment.skipMessage))
struct PostgresConcurrencyTests {
    @Test("several connections and processes append while a follower reads the log: no gap, no duplicate, rules hold",
          .timeLimit(.minutes(5)))
    func concurrentWritersAndFollower() async throws {
        let database = try TestDatabase.get()
        let (follower, schema) = try await database.freshStore("conc")

        // The follower starts before any writer and reads while they write.
        let seen = Mutex<[RecordedEvent]>([])
        let following = Task {
            for try await event in follower.subscribe(from: 1, pageSize: 37) {
                seen.withLock { $0.append(event) }
            }
        }

        // Writers in this process: three stores, so three connections that
        // contend for the log lock, each with two tasks whose appends group-commit.
        let stores = try (0..<3).map { _ in try database.store(schema: schema) }
        let iterations = 60
        let server = database.server
        async let local: [Acknowledgement] = withThrowingTaskGroup(of: [Acknowledgement].self) { group in
            for (index, store) in stores.enumerated() {
                for task in 0..<2 {
                    let workload = Workload(store: store, writer: "local\(index)x\(task)")
                    group.addTask {
                        var acknowledged: [Acknowledgement] = []
                        for iteration in 0..<iterations { acknowledged += try await workload.step(iteration) }
                        return acknowledged
                    }
                }
            }
            var all: [Acknowledgement] = []
            for try await part in group { all += part }
            return all
        }
        // Writers in other processes, each with its own client.
        async let remote: [(lines: [Substring], status: Int32)] = withThrowingTaskGroup(of: (lines: [Substring], status: Int32).self) { group in
            for index in 0..<3 {
                group.addTask {
                    try await runProbe(
                        [server.host, String(server.port), server.username, server.database, schema, "proc\(index)", String(iterations * 2)],
                        password: server.password)
                }
            }
            var all: [(lines: [Substring], status: Int32)] = []
            for try await part in group { all.append(part) }
            return all
        }
        let localAcknowledged = try await local
        let probes = try await remote
        for probe in probes {
            #expect(probe.status == 0, "a probe failed: \(probe.lines.suffix(3).joined(separator: " | "))")
            #expect(probe.lines.last == "done")
        }
        let acknowledged = localAcknowledged + probes.flatMap { $0.lines.compactMap(Acknowledgement.init(line:)) }
        for store in stores { await store.close() }

        // The final log, read once everything is committed.
        let head = try await follower.headPosition()
        let log = try await follower.readLog(from: 1, filter: .all, limit: Int(head.rawValue) + 10)
        #expect(log.map(\.position.rawValue) == Array(1...head.rawValue), "the log is gapless")
        #expect(try await follower.verify() == head)
        #expect(UInt64(acknowledged.count) == head.rawValue, "every stored event was acknowledged to one writer")

        // The follower reaches the head and saw exactly the log, in order.
        try await withTimeout(seconds: 60, "the follower catching up") {
            while seen.withLock({ $0.count }) < log.count { try await Task.sleep(for: .milliseconds(20)) }
        }
        following.cancel()
        _ = await following.result
        let followed = seen.withLock { $0 }
        #expect(followed.map(\.position.rawValue) == Array(1...head.rawValue), "the follower saw every position once, in order")
        #expect(followed == log, "the follower saw exactly the final log")

        // Every acknowledgement is true.
        let byID = Dictionary(uniqueKeysWithValues: log.map { ("\($0.id)", $0) })
        for ack in acknowledged {
            let stored = try #require(byID[ack.id], "acknowledged event \(ack.id) is stored")
            #expect(stored.position.rawValue == ack.position && stored.streamID.rawValue == ack.stream && stored.streamVersion == ack.version)
        }

        // Expected versions held across processes: the shared stream has one event per version.
        let shared = log.filter { $0.streamID == Workload.sharedStream }
        #expect(shared.map(\.streamVersion) == Array(1...UInt64(shared.count)))
        func steps(_ count: Int, kind: Int) -> Int { (0..<count).filter { $0 % 3 == kind }.count }
        #expect(shared.count == 6 * steps(iterations, kind: 1) + 3 * steps(iterations * 2, kind: 1),
                "every optimistic append landed exactly once")

        // Append conditions held across processes: counter values 1, 2, 3, … in log order.
        let values = try log.filter { $0.tags.contains(Workload.counterTag) }.map { event -> Int in
            let object = try JSONSerialization.jsonObject(with: event.payload) as! [String: Any]
            return object["value"] as! Int
        }
        #expect(values == Array(1...values.count), "no two writers counted the same value")
        #expect(values.count == 6 * steps(iterations, kind: 2) + 3 * steps(iterations * 2, kind: 2))
        await follower.close()
        await database.drop(schema)
    }

    @Test("recorded-at never decreases along the log when appends from several stores wait for the log lock, after a log imported with a later clock")
    func recordedAtUnderLockContention() async throws {
        let database = try TestDatabase.get()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rapport-recorded-at-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var configuration = LMDBEventStore.Configuration()
        let later = Date(timeIntervalSince1970: 4_102_444_800)  // 2100-01-01: a log recorded by a clock ahead of this server's
        configuration.clock = StoreClock { later }
        let source = try LMDBEventStore(path: path, configuration: configuration)
        try await source.append([testEvent()], to: try StreamID("imported-1"))
        let (target, schema) = try await database.freshStore("recorded_at")
        try await LogCopy.copy(from: source, to: target)
        await source.close()

        // Three stores on the schema, as three processes: their writers wait for each other's lock.
        // (Before the fix, an append that waited read its predecessor's recorded-at with the
        // snapshot from before the wait, missed it, and took the server's earlier clock.)
        let stores = [target, try database.store(schema: schema), try database.store(schema: schema)]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, store) in stores.enumerated() {
                group.addTask {
                    for round in 0..<15 { try await store.append([testEvent()], to: try StreamID("s\(index)-\(round)")) }
                }
            }
            try await group.waitForAll()
        }
        let log = try await target.readLog(from: 1, filter: .all, limit: 1_000)
        #expect(log.count == 46)
        let decreases = zip(log, log.dropFirst()).filter { $1.recordedAt < $0.recordedAt }
            .map { "\($0.0.position)->\($0.1.position): \($0.0.recordedAt) then \($0.1.recordedAt)" }
        #expect(decreases.isEmpty, "recorded-at went backwards \(decreases.count) times, first: \(decreases.prefix(3))")
        // Every record is dated 2100 or later, so nothing was recorded at or before now.
        #expect(try await target.position(asOf: Date()) == .start)
        #expect(try await target.position(asOf: later) == log.last?.position)
        for store in stores { await store.close() }
        await database.drop(schema)
    }
}
