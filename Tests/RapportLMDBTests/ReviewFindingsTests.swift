import CLMDB
import Foundation
import RapportEventLog
@testable import RapportLMDB
import Synchronization
import Testing

/// Reproductions written for the LMDB store review (branch review-lmdb). Each
/// test states what a correct store should do; a failure is the finding.
@Suite("Review findings (LMDB)", .serialized)
struct ReviewFindingsTests {
    final class Counter: Sendable {
        let value = Mutex(0)
        func add() { value.withLock { $0 += 1 } }
        var current: Int { value.withLock { $0 } }
    }

    /// Waits up to `seconds` for `done` to reach `count`.
    func wait(for done: Counter, toReach count: Int, seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if done.current >= count { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return done.current >= count
    }

    // MARK: 2. Group commit: a request too big for the map fails the small ones grouped with it.

    @Test func aSmallAppendIsNotRefusedBecauseABigOneSharedItsCommit() async throws {
        let path = temporaryStorePath("full-group")
        defer { removeStore(path) }
        var configuration = LMDBEventStore.Configuration()
        configuration.initialMapSize = 1 << 20
        configuration.maximumMapSize = 1 << 20
        let store = try LMDBEventStore(path: path, configuration: configuration)
        try await store.append([testEvent()], to: try StreamID("small-0"))
        // Hold the writer so the next two appends are queued and taken as one group.
        let busy = Task { try await store.writerSubmit { _ in usleep(300_000) } }
        try await Task.sleep(for: .milliseconds(100))
        let big = Task { () -> Result<AppendResult, EventStoreError> in
            do throws(EventStoreError) {
                return .success(try await store.append([testEvent(payload: String(repeating: "x", count: 2 << 20))], to: try StreamID("big-1")))
            } catch { return .failure(error) }
        }
        try await Task.sleep(for: .milliseconds(20))
        let small = Task { () -> Result<AppendResult, EventStoreError> in
            do throws(EventStoreError) {
                return .success(try await store.append([testEvent()], to: try StreamID("small-1")))
            } catch { return .failure(error) }
        }
        try await busy.value
        let bigResult = await big.value, smallResult = await small.value
        guard case .failure(.storeFull) = bigResult else {
            Issue.record("the 2 MiB append should not fit a 1 MiB map: \(bigResult)")
            return
        }
        // The same small append, alone, fits.
        let again: Result<AppendResult, EventStoreError>
        do throws(EventStoreError) { again = .success(try await store.append([testEvent()], to: try StreamID("small-2"))) } catch { again = .failure(error) }
        #expect((try? again.get()) != nil, "a small append alone fits: \(again)")
        #expect((try? smallResult.get()) != nil, "the small append grouped with the big one was refused: \(smallResult)")
        await store.close()
    }

    // MARK: 3. Read-model keys past LMDB's 511-byte key limit.

    @Test func aLongReadModelKeyIsStored() async throws {
        let path = temporaryStorePath("long-key")
        defer { removeStore(path) }
        let store = try LMDBEventStore(path: path)
        let key = "entity/doc/" + String(repeating: "%2F", count: 170)
        var outcome = "stored"
        do throws(EventStoreError) {
            try await store.commit([ReadModelChanges(projection: "audit-trail", writes: [key: [1]], checkpoint: ProjectionCheckpoint(version: 1, position: 0))])
        } catch {
            outcome = "\(error)"
        }
        #expect(outcome == "stored", "a \(key.utf8.count)-byte key: \(outcome)")
        await store.close()
    }

}
