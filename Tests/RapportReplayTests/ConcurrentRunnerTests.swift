import Foundation
import RapportEventLog
import RapportReplay
import Synchronization
import Testing

/// Storage that hands out one stale checkpoint (the first read of it) and
/// is otherwise another storage: a runner that read its checkpoint just
/// before another runner committed past it.
final class StaleCheckpointStorage: ReadModelStorage {
    let inner: any ReadModelStorage
    private let stale: Mutex<ProjectionCheckpoint?>

    init(_ inner: any ReadModelStorage, stale: ProjectionCheckpoint) {
        self.inner = inner
        self.stale = Mutex(stale)
    }

    func checkpoint(of projection: String) throws(EventStoreError) -> ProjectionCheckpoint? {
        if let stale = stale.withLock({ (value: inout ProjectionCheckpoint?) -> ProjectionCheckpoint? in
            defer { value = nil }
            return value
        }) { return stale }
        return try inner.checkpoint(of: projection)
    }

    func read<R>(_ projection: String, _ body: (any ReadModelReader) throws(EventStoreError) -> R) throws(EventStoreError) -> R {
        try inner.read(projection, body)
    }

    func commit(_ changes: [ReadModelChanges]) async throws(EventStoreError) { try await inner.commit(changes) }
}

@Suite("Projection runner: two runners of one projection")
struct ConcurrentRunnerTests {
    func clean(_ store: InMemoryEventStore) async throws -> [String: [UInt8]] {
        let storage = InMemoryReadModelStorage()
        try await ProjectionRunner(log: store, storage: storage, projections: [Toggle()], batchSize: 1_000).catchUp()
        return try snapshot(storage, "toggle")
    }

    @Test("a runner overtaken by another runner's commits starts again from them instead of applying events twice")
    func anOvertakenRunnerStartsAgain() async throws {
        let store = InMemoryEventStore()
        try await append(store, count: 10)
        let storage = InMemoryReadModelStorage()
        try await ProjectionRunner(log: store, storage: storage, projections: [Toggle()]).catchUp()
        try await append(store, count: 31, offset: 10)
        // The other runner gets to 41 while this one still believes the checkpoint is at 10.
        try await ProjectionRunner(log: store, storage: storage, projections: [Toggle()]).catchUp()
        let late = StaleCheckpointStorage(storage, stale: ProjectionCheckpoint(version: 1, position: 10))
        let reached = try await ProjectionRunner(log: store, storage: late, projections: [Toggle()], batchSize: 4).catchUp()
        #expect(reached == 41)
        let expected = try await clean(store)
        #expect(try snapshot(storage, "toggle") == expected, "events 11 to 41 applied once")
        #expect(try storage.checkpoint(of: "toggle") == ProjectionCheckpoint(version: 1, position: 41), "the checkpoint never went back")
    }

    @Test("runners of one projection catching up at the same time end as a clean build", arguments: 1...5)
    func runnersAtTheSameTimeEndAsACleanBuild(round: Int) async throws {
        let store = InMemoryEventStore()
        try await append(store, count: 5)
        let shared = InMemoryReadModelStorage()
        try await ProjectionRunner(log: store, storage: shared, projections: [Toggle()]).catchUp()
        try await append(store, count: 60, offset: 5)
        // Each runner commits through its own slow path to the same read model.
        let runners = try (1...3).map { index in
            try ProjectionRunner(log: store, storage: Delayed(shared, delay: .milliseconds(index + round)), projections: [Toggle()], batchSize: 3 + index)
        }
        try await withThrowingTaskGroup(of: LogPosition.self) { group in
            for runner in runners { group.addTask { try await runner.catchUp() } }
            for try await reached in group { #expect(reached == 65) }
        }
        let expected = try await clean(store)
        #expect(try snapshot(shared, "toggle") == expected)
        #expect(try shared.checkpoint(of: "toggle") == ProjectionCheckpoint(version: 1, position: 65))
    }
}

/// Another storage whose commits take `delay` first.
final class Delayed: ReadModelStorage {
    let inner: any ReadModelStorage
    let delay: Duration

    init(_ inner: any ReadModelStorage, delay: Duration) {
        self.inner = inner
        self.delay = delay
    }

    func checkpoint(of projection: String) throws(EventStoreError) -> ProjectionCheckpoint? { try inner.checkpoint(of: projection) }

    func read<R>(_ projection: String, _ body: (any ReadModelReader) throws(EventStoreError) -> R) throws(EventStoreError) -> R {
        try inner.read(projection, body)
    }

    func commit(_ changes: [ReadModelChanges]) async throws(EventStoreError) {
        try? await Task.sleep(for: delay)
        try await inner.commit(changes)
    }
}
