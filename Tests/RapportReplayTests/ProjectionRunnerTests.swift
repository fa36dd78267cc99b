import Foundation
import RapportEventLog
import RapportLMDB
import RapportReplay
import Testing

/// Counts events per type and keeps, per stream, the list of positions seen.
struct Tally: Projection {
    var name = "tally"
    var version = 1
    var interest = ProjectionInterest.everything
    /// Throws when it meets this position (to simulate a failing batch).
    var failAt: LogPosition? = nil

    func apply(_ event: RecordedEvent, decoded: (any Event)?, to model: inout ReadModelContext) throws {
        if event.position == failAt { throw CocoaError(.coderInvalidValue) }
        try model.set((try model.get(Int.self, "type/\(event.type)") ?? 0) + 1, "type/\(event.type)")
        var seen = try model.get([UInt64].self, "stream/\(event.streamID)") ?? []
        seen.append(event.position.rawValue)
        try model.set(seen, "stream/\(event.streamID)")
    }
}

/// Only deal events: the runner must skip the rest.
struct DealsOnly: Projection {
    let name = "deals-only"
    let version = 1
    let interest = ProjectionInterest(types: ["DealOpened"])

    func apply(_ event: RecordedEvent, decoded: (any Event)?, to model: inout ReadModelContext) throws {
        #expect(event.type == "DealOpened")
        try model.set((try model.get(Int.self, "count") ?? 0) + 1, "count")
    }
}

/// Counts events, slowly (0.3 ms each): a catch-up long enough to cancel.
struct Slow: Projection {
    let name = "slow"
    let version = 1
    let interest = ProjectionInterest.everything

    func apply(_ event: RecordedEvent, decoded: (any Event)?, to model: inout ReadModelContext) throws {
        usleep(300)
        try model.set((try model.get(Int.self, "count") ?? 0) + 1, "count")
    }
}

let actor = Principal(id: "user:test", role: .admin)

func append(_ store: some EventStore, count: Int, offset: Int = 0) async throws {
    for index in offset..<(offset + count) {
        let type = index % 3 == 0 ? "DealOpened" : "NoteAdded"
        try await store.append([NewEvent(type: type, metadata: EventMetadata(actor: actor, channel: .api), payload: Data("{}".utf8))],
                               to: try StreamID("s-\(index % 5)"))
    }
}

func snapshot(_ storage: some ReadModelStorage, _ projection: String) throws -> [String: [UInt8]] {
    try storage.read(projection) { (reader) throws(EventStoreError) in
        var all: [String: [UInt8]] = [:]
        try reader.forEach(keyPrefix: "") { key, value in
            all[key] = value
            return true
        }
        return all
    }
}

@Suite("Projection runner")
struct ProjectionRunnerTests {
    @Test func incrementalRunsEqualAFullRebuild() async throws {
        let store = InMemoryEventStore()
        let live = InMemoryReadModelStorage()
        let liveRunner = try ProjectionRunner(log: store, storage: live, projections: [Tally(), DealsOnly()], batchSize: 7)
        for round in 0..<10 {
            try await append(store, count: 13, offset: round * 13)
            try await liveRunner.catchUp()
        }
        let rebuilt = InMemoryReadModelStorage()
        try await ProjectionRunner(log: store, storage: rebuilt, projections: [Tally(), DealsOnly()], batchSize: 1_000).catchUp()
        #expect(try snapshot(live, "tally") == snapshot(rebuilt, "tally"))
        #expect(try snapshot(live, "deals-only") == snapshot(rebuilt, "deals-only"))
        #expect(try live.checkpoint(of: "tally") == ProjectionCheckpoint(version: 1, position: 130))
        let deals = try rebuilt.read("deals-only") { (reader) throws(EventStoreError) in try reader.value(forKey: "count") }
        #expect(deals.map { String(decoding: $0, as: UTF8.self) } == "44")
    }

    /// Two projections with one name would share a read model and a checkpoint:
    /// the runner is refused with a typed error, each repeated name once, and
    /// nothing is read or written.
    @Test func projectionsSharingANameAreRefusedWithATypedError() async throws {
        let store = InMemoryEventStore()
        let storage = InMemoryReadModelStorage()
        try await append(store, count: 5)
        let projections: [any Projection] = [Tally(name: "a"), Tally(name: "b"), DealsOnly(), Tally(name: "a"), Tally(name: "b"), Tally(name: "a")]
        do throws(ReplayError) {
            _ = try ProjectionRunner(log: store, storage: storage, projections: projections)
            Issue.record("a runner was made")
        } catch .duplicateProjectionNames(let names) {
            #expect(names == ["a", "b"])
        } catch {
            Issue.record("\(error)")
        }
        let error = ReplayError.duplicateProjectionNames(["a", "b"])
        #expect(error.description == "Projection names must be unique in a runner (each keys its read model and checkpoint); given more than once: a, b.")
        #expect(error.localizedDescription == error.description)
        #expect(try storage.checkpoint(of: "a") == nil && storage.checkpoint(of: "b") == nil)
        // Distinct names are fine, and so is no projection at all.
        #expect(try await ProjectionRunner(log: store, storage: storage, projections: [Tally(name: "a"), Tally(name: "b")]).catchUp() == 5)
        _ = try ProjectionRunner(log: store, storage: storage, projections: [])
    }

    @Test func aNewVersionRebuildsFromScratch() async throws {
        let store = InMemoryEventStore()
        let storage = InMemoryReadModelStorage()
        try await append(store, count: 20)
        try await ProjectionRunner(log: store, storage: storage, projections: [Tally()]).catchUp()
        try await storage.commit([ReadModelChanges(projection: "tally", writes: ["stale": [1]], checkpoint: ProjectionCheckpoint(version: 1, position: 20))])
        try await ProjectionRunner(log: store, storage: storage, projections: [Tally(version: 2)]).catchUp()
        let model = try snapshot(storage, "tally")
        #expect(model["stale"] == nil, "a rebuild drops what the old version wrote")
        #expect(model["type/NoteAdded"].map { String(decoding: $0, as: UTF8.self) } == "13")
        #expect(try storage.checkpoint(of: "tally")?.version == 2)
    }

    @Test func aCancelledCatchUpStopsBetweenBatchesAndTheNextGoesOn() async throws {
        let store = InMemoryEventStore()
        let storage = InMemoryReadModelStorage()
        try await append(store, count: 2_000)
        let runner = try ProjectionRunner(log: store, storage: storage, projections: [Slow()], batchSize: 20)
        let running = Task { () async -> ReplayError? in
            do throws(ReplayError) { try await runner.catchUp(); return nil } catch { return error }
        }
        // Cancelled once the first batch is committed (the whole run takes at least 0.6 s).
        while (try storage.checkpoint(of: "slow")?.position ?? 0) == 0 { try await Task.sleep(for: .milliseconds(2)) }
        running.cancel()
        let error = await running.value
        guard case .cancelled = error else {
            Issue.record("expected a cancellation, got \(String(describing: error))")
            return
        }
        let reached = try #require(try storage.checkpoint(of: "slow")).position.rawValue
        #expect(reached < 2_000 && reached % 20 == 0, "stopped between batches, before the end: \(reached)")
        let counted = try storage.read("slow") { (reader) throws(EventStoreError) in try reader.value(forKey: "count") }
        #expect(counted.map { String(decoding: $0, as: UTF8.self) } == "\(reached)", "the read model holds exactly the committed batches")
        // The next catch-up goes on from there to the end.
        #expect(try await runner.catchUp() == 2_000)
        let all = try storage.read("slow") { (reader) throws(EventStoreError) in try reader.value(forKey: "count") }
        #expect(all.map { String(decoding: $0, as: UTF8.self) } == "2000")
    }

    @Test func aFailingBatchLeavesTheLastCommittedBatch() async throws {
        let store = InMemoryEventStore()
        let storage = InMemoryReadModelStorage()
        try await append(store, count: 30)
        let failing = try ProjectionRunner(log: store, storage: storage, projections: [Tally(failAt: 17)], batchSize: 5)
        await #expect(throws: ReplayError.self) { try await failing.catchUp() }
        #expect(try storage.checkpoint(of: "tally")?.position == 15)
        let types = try snapshot(storage, "tally").filter { $0.key.hasPrefix("type/") }
            .map { Int(String(decoding: $0.value, as: UTF8.self))! }.reduce(0, +)
        #expect(types == 15, "the read model holds exactly the committed batches")
        // Without the fault it resumes where it stopped and ends equal to a clean build.
        try await ProjectionRunner(log: store, storage: storage, projections: [Tally()], batchSize: 5).catchUp()
        let clean = InMemoryReadModelStorage()
        try await ProjectionRunner(log: store, storage: clean, projections: [Tally()]).catchUp()
        #expect(try snapshot(storage, "tally") == snapshot(clean, "tally"))
    }

    @Test("projections applied side by side end as each does alone; of several failing, the first in the runner's order is reported")
    func projectionsRunInParallelAsTheyWouldAlone() async throws {
        let store = InMemoryEventStore()
        try await append(store, count: 3_000)
        let projections: [any Projection] = [Tally(name: "a"), DealsOnly(), Tally(name: "b", version: 3), Tally(name: "c")]
        let together = InMemoryReadModelStorage()
        try await ProjectionRunner(log: store, storage: together, projections: projections, batchSize: 700).catchUp()
        for projection in projections {
            let alone = InMemoryReadModelStorage()
            try await ProjectionRunner(log: store, storage: alone, projections: [projection], batchSize: 700).catchUp()
            #expect(try snapshot(together, projection.name) == snapshot(alone, projection.name), "\(projection.name)")
            #expect(try together.checkpoint(of: projection.name)?.position == 3_000)
        }

        // Projections at different checkpoints inside one batch: "a" has seen 500 events, "late" none.
        let mixed = InMemoryReadModelStorage()
        try await ProjectionRunner(log: store, storage: mixed, projections: [Tally(name: "a")]).catchUp(upTo: 500)
        try await ProjectionRunner(log: store, storage: mixed, projections: [Tally(name: "a"), Tally(name: "late")], batchSize: 700).catchUp()
        #expect(try snapshot(mixed, "a") == snapshot(together, "a"))
        #expect(try snapshot(mixed, "late") == snapshot(together, "c"))

        // "b" fails earlier in the log than "a", but "a" comes first in the runner's order.
        let failing = try ProjectionRunner(
            log: store, storage: InMemoryReadModelStorage(),
            projections: [Tally(name: "a", failAt: 650), Tally(name: "b", failAt: 20), Tally(name: "c")], batchSize: 700)
        await #expect {
            try await failing.catchUp()
        } throws: { error in
            guard case ReplayError.projectionFailed(let name, let position, _) = error else { return false }
            return name == "a" && position == 650
        }
    }

    @Test func readYourOwnWrites() async throws {
        let store = InMemoryEventStore()
        let storage = InMemoryReadModelStorage()
        let runner = try ProjectionRunner(log: store, storage: storage, projections: [DealsOnly()])
        try await append(store, count: 2)
        let result = try await store.append([NewEvent(type: "DealOpened", metadata: EventMetadata(actor: actor, channel: .ui), payload: Data())],
                                            to: try StreamID("deal-1"))
        try await runner.wait(for: "deals-only", toReach: result.lastPosition, timeout: .seconds(5))
        #expect(try storage.checkpoint(of: "deals-only")?.position == result.lastPosition)
        await #expect(throws: ReplayError.self) { try await runner.wait(for: "deals-only", toReach: 1_000, timeout: .milliseconds(50)) }
        await #expect(throws: ReplayError.self) { try await runner.wait(for: "nobody", toReach: 1) }
    }

    @Test func progressIsReported() async throws {
        let store = InMemoryEventStore()
        try await append(store, count: 50)
        let reports = ReportBox()
        try await ProjectionRunner(log: store, storage: InMemoryReadModelStorage(), projections: [Tally()], batchSize: 10)
            .catchUp { reports.add($0) }
        #expect(reports.all.map(\.done) == [10, 20, 30, 40, 50])
        #expect(reports.all.allSatisfy { $0.total == 50 })
    }

    @Test func lmdbReadModelsCommitAtomicallyAndSurviveReopening() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rapport-replay-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var store = try LMDBEventStore(path: path)
        try await append(store, count: 40)
        try await ProjectionRunner(log: store, storage: store, projections: [Tally(), DealsOnly()], batchSize: 9).catchUp()
        let before = try snapshot(store, "tally")
        let memory = InMemoryReadModelStorage()
        try await ProjectionRunner(log: store, storage: memory, projections: [Tally()]).catchUp()
        #expect(before == (try snapshot(memory, "tally")))
        // Many keys, then a reset that must remove every one of them across pages.
        var writes: [String: [UInt8]?] = [:]
        for index in 0..<5_000 { writes["bulk/\(index)"] = .some(Array(repeating: UInt8(index % 251), count: 100)) }
        try await store.commit([ReadModelChanges(projection: "bulk", writes: writes, checkpoint: ProjectionCheckpoint(version: 1, position: 40))])
        #expect(try snapshot(store, "bulk").count == 5_000)
        await store.close()
        store = try LMDBEventStore(path: path)
        #expect(try store.checkpoint(of: "tally") == ProjectionCheckpoint(version: 1, position: 40))
        #expect(try snapshot(store, "tally") == before)
        try await store.commit([ReadModelChanges(projection: "bulk", resetFirst: true, writes: ["only": [1]], checkpoint: ProjectionCheckpoint(version: 2, position: 40))])
        #expect(try snapshot(store, "bulk") == ["only": [1]])
        #expect(try snapshot(store, "tally") == before, "a reset touches only its own projection")
        await store.close()
    }
}

final class ReportBox: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [ReplayProgress] = []
    func add(_ report: ReplayProgress) { lock.lock(); reports.append(report); lock.unlock() }
    var all: [ReplayProgress] { lock.lock(); defer { lock.unlock() }; return reports }
}

/// A registered event type, to see what the runner decodes.
struct Pinged: Event {
    static let typeName = "Pinged"
    static let schemaVersion: UInt32 = 1
    var n: Int
}

/// Records, per event, whether it was handed a decoded payload.
struct DecodeWitness: Projection {
    let name: String
    let version = 1
    let interest: ProjectionInterest

    func apply(_ event: RecordedEvent, decoded: (any Event)?, to model: inout ReadModelContext) throws {
        model.setValue([decoded == nil ? 0 : 1], forKey: "\(event.position.rawValue)")
    }
}

@Suite("Projection runner: decoding")
struct RunnerDecodingTests {
    @Test("a payload is decoded for the projections whose interest lists its type, and only for them")
    func decodesOnlyWhatIsListed() async throws {
        let store = InMemoryEventStore()
        for n in 0..<4 {
            try await store.append([NewEvent(type: "Pinged", metadata: EventMetadata(actor: actor, channel: .api),
                                             payload: Data("{\"n\":\(n)}".utf8))], to: try StreamID("p-\(n)"))
        }
        var registry = EventTypeRegistry()
        registry.register(Pinged.self)
        let storage = InMemoryReadModelStorage()
        try await ProjectionRunner(log: store, storage: storage, projections: [
            DecodeWitness(name: "all", interest: .everything),
            DecodeWitness(name: "none", interest: ProjectionInterest(decoding: [])),
            DecodeWitness(name: "listed", interest: ProjectionInterest(decoding: ["Pinged"])),
        ], registry: registry).catchUp()
        #expect(try snapshot(storage, "all").values.allSatisfy { $0 == [1] })
        #expect(try snapshot(storage, "none").values.allSatisfy { $0 == [0] })
        #expect(try snapshot(storage, "listed").values.allSatisfy { $0 == [1] })
        #expect(try snapshot(storage, "none").count == 4)
    }
}
