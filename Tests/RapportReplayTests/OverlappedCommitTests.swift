import Foundation
import RapportEventLog
import RapportReplay
import Synchronization
import Testing

/// Read-model storage whose commits take a while (so the runner applies the
/// next batch while one is being committed) and can be made to fail.
final class SlowStorage: ReadModelStorage {
    let inner = InMemoryReadModelStorage()
    private let commits = Mutex(0)
    let delay: Duration
    /// The commit (counting from 1) that fails, if any.
    let failingCommit: Int?

    init(delay: Duration = .milliseconds(15), failingCommit: Int? = nil) {
        self.delay = delay
        self.failingCommit = failingCommit
    }

    /// Commits so far.
    var commitCount: Int { commits.withLock { $0 } }

    func checkpoint(of projection: String) throws(EventStoreError) -> ProjectionCheckpoint? { try inner.checkpoint(of: projection) }

    func read<R>(_ projection: String, _ body: (any ReadModelReader) throws(EventStoreError) -> R) throws(EventStoreError) -> R {
        try inner.read(projection, body)
    }

    func commit(_ changes: [ReadModelChanges]) async throws(EventStoreError) {
        let number = commits.withLock { $0 += 1; return $0 }
        try? await Task.sleep(for: delay)
        if number == failingCommit { throw .storeFull("commit \(number) refused on purpose") }
        try await inner.commit(changes)
    }
}

@Suite("Projection runner: commits overlapping the next batch")
struct OverlappedCommitTests {
    func clean(_ store: InMemoryEventStore, _ projection: Tally) async throws -> [String: [UInt8]] {
        let storage = InMemoryReadModelStorage()
        try await ProjectionRunner(log: store, storage: storage, projections: [projection], batchSize: 1_000).catchUp()
        return try snapshot(storage, projection.name)
    }

    @Test("a batch reads the previous batch's writes while they are committed, and a rebuild never reads stale state")
    func overlappedBatchesSeeEachOther() async throws {
        let store = InMemoryEventStore()
        try await append(store, count: 40)
        let storage = SlowStorage()
        // Stale state of an older version: a rebuild must neither keep nor read it.
        try await storage.inner.commit([ReadModelChanges(
            projection: "tally", writes: ["type/NoteAdded": Array("999".utf8), "stream/s-3": Array("[999]".utf8), "stream/s-4": Array("[999]".utf8), "stale": [1]],
            checkpoint: ProjectionCheckpoint(version: 1, position: 40))])
        try await ProjectionRunner(log: store, storage: storage, projections: [Tally(version: 2)], batchSize: 3).catchUp()
        let expected = try await clean(store, Tally(version: 2))
        #expect(try snapshot(storage, "tally") == expected)
        #expect(try storage.checkpoint(of: "tally") == ProjectionCheckpoint(version: 2, position: 40))
        // And incrementally, on top of committed state.
        try await append(store, count: 25, offset: 40)
        try await ProjectionRunner(log: store, storage: storage, projections: [Tally(version: 2)], batchSize: 4).catchUp()
        let expectedAfter = try await clean(store, Tally(version: 2))
        #expect(try snapshot(storage, "tally") == expectedAfter)
    }

    @Test("a failed commit stops the run at the last committed batch; a new run ends equal to a clean build")
    func aFailedCommitLeavesWholeBatches() async throws {
        let store = InMemoryEventStore()
        try await append(store, count: 30)
        let storage = SlowStorage(failingCommit: 3)
        let runner = try ProjectionRunner(log: store, storage: storage, projections: [Tally()], batchSize: 5)
        await #expect(throws: ReplayError.self) { try await runner.catchUp() }
        #expect(try storage.checkpoint(of: "tally")?.position == 10)
        let counted = try snapshot(storage, "tally").filter { $0.key.hasPrefix("type/") }
            .map { Int(String(decoding: $0.value, as: UTF8.self))! }.reduce(0, +)
        #expect(counted == 10, "the read model holds exactly the committed batches")
        try await runner.catchUp()
        let expected = try await clean(store, Tally())
        #expect(try snapshot(storage, "tally") == expected)
    }

    @Test("catch-ups called at the same time take turns: each batch is applied and committed once")
    func concurrentCatchUpsTakeTurns() async throws {
        let store = InMemoryEventStore()
        try await append(store, count: 60)
        let storage = SlowStorage(delay: .milliseconds(5))
        try await storage.inner.commit([ReadModelChanges(projection: "seen", writes: ["old": [1]], checkpoint: ProjectionCheckpoint(version: 1, position: 60))])
        let runner = try ProjectionRunner(log: store, storage: storage, projections: [Seen(version: 2)], batchSize: 7)
        async let first = runner.catchUp()
        async let second = runner.catchUp()
        async let third = runner.catchUp()
        let reached = try await [first, second, third]
        #expect(reached == [60, 60, 60])
        #expect(try snapshot(storage, "seen").keys.sorted() == (1...60).map { "event/\($0 + 1_000)" })
        #expect(try storage.checkpoint(of: "seen") == ProjectionCheckpoint(version: 2, position: 60))
        #expect(storage.commitCount == 9, "each of the 9 batches once")
    }
}

/// One key per event: a batch lost to a misplaced reset shows as missing keys.
struct Seen: Projection {
    let name = "seen"
    var version = 1
    let interest = ProjectionInterest.everything

    func apply(_ event: RecordedEvent, decoded: (any Event)?, to model: inout ReadModelContext) throws {
        model.setValue([1], forKey: "event/\(event.position.rawValue + 1_000)")
    }
}
