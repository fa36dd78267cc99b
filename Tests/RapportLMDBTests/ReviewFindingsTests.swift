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
