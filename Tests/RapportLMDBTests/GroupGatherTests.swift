import Foundation
import Synchronization
import Testing
import RapportEventLog
@testable import RapportLMDB

/// The writer lets a group fill for a bounded time after a commit that held
/// several appends; these tests check that nobody is left waiting for it.
/// (How much it saves is measured by the W2 benchmark with 8 writers, not here.)
@Suite("Group commit gathering")
struct GroupGatherTests {
    @Test func aTimedWaitEndsAtItsDeadlineAndASignalEndsItEarlier() {
        let condition = WriterCondition()
        condition.lock()
        // A deadline already passed: no wait at all.
        #expect(!condition.wait(until: WriterCondition.now() - 1))
        // Nobody signals: the wait ends at the deadline, not before.
        let start = WriterCondition.now()
        while condition.wait(until: start + 20_000_000) {}  // spurious wake-ups wait again
        #expect(WriterCondition.now() >= start + 20_000_000)
        // A signal sent while the lock is held reaches the wait that releases it.
        let signaller = Thread {
            condition.lock()
            condition.signal()
            condition.unlock()
        }
        signaller.start()
        #expect(condition.wait(until: WriterCondition.now() + 60_000_000_000), "the signal was lost")
        condition.unlock()
    }

    /// With the default wait, and with none (`.zero`: whatever is queued is committed at once).
    @Test(arguments: [Duration.milliseconds(1), .zero])
    func loneAppendsAndJobsAfterAGroupAreAnsweredAndStored(wait: Duration) async throws {
        let path = temporaryStorePath("gather")
        defer { removeStore(path) }
        var configuration = LMDBEventStore.Configuration()
        configuration.maximumGroupCommitWait = wait
        let store = try LMDBEventStore(path: path, configuration: configuration)
        for round in 0..<3 {
            // A burst of 32 concurrent appends: the writer then expects groups of several.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<32 {
                    group.addTask { try await store.append([testEvent()], to: try StreamID("burst-\(round)-\(index)")) }
                }
                try await group.waitForAll()
            }
            // One caller alone, then a job alone: each is answered and stored.
            for index in 0..<20 {
                let result = try await store.append([testEvent()], to: try StreamID("alone-\(round)"), expecting: .exactly(UInt64(index)))
                #expect(result.streamVersions.values.first == UInt64(index + 1))
            }
            try await store.writerSubmit { _ in }
        }
        #expect(try await store.headPosition() == LogPosition(3 * 52))
        #expect(try store.verify().isSound)
        await store.close()
    }

    /// Read-model commits queued back to back do not hold an append off: after
    /// a job, a waiting append group goes before the next job.
    @Test func queuedJobsAndAppendsTakeTurns() async throws {
        let path = temporaryStorePath("turns")
        defer { removeStore(path) }
        let store = try LMDBEventStore(path: path)
        final class Observed: Sendable {
            let started = Mutex(false)
            /// What each later job sees queued when it runs.
            let seen = Mutex<[Int]>([])
        }
        let observed = Observed()
        let gate = DispatchSemaphore(value: 0)
        // The writer busy with a job while the others queue behind it.
        let blocking = Task { try await store.writerSubmit { _ in observed.started.withLock { $0 = true }; gate.wait() } }
        while !observed.started.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(1)) }
        var jobs: [Task<Void, any Error>] = []
        for _ in 0..<3 {
            jobs.append(Task { try await store.writerSubmit { _ in observed.seen.withLock { $0.append(store.writer.queuedAppends) } } })
        }
        let append = Task { try await store.append([testEvent()], to: try StreamID("turns-1")) }
        while store.writer.queuedJobs < 3 || store.writer.queuedAppends < 1 { try await Task.sleep(for: .milliseconds(1)) }
        gate.signal()
        try await blocking.value
        for job in jobs { try await job.value }
        #expect(try await append.value.positions == 1...1)
        #expect(observed.seen.withLock { $0 } == [0, 0, 0], "the append waited behind later jobs")
        await store.close()
    }

    @Test func closeDuringAGatherCommitsWhatWasQueuedAndReturns() async throws {
        let path = temporaryStorePath("gather-close")
        defer { removeStore(path) }
        let store = try LMDBEventStore(path: path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<16 {
                group.addTask { try await store.append([testEvent()], to: try StreamID("burst-\(index)")) }
            }
            try await group.waitForAll()
        }
        // A lone append (which the writer may hold while it gathers) and close() at once.
        async let lone: AppendResult = store.append([testEvent()], to: try StreamID("last"))
        await store.close()
        do {
            let result = try await lone
            #expect(result.positions.lowerBound == LogPosition(17))
        } catch EventStoreError.storeClosed {
            // Refused before it was queued: nothing stored.
        }
        let reopened = try LMDBEventStore(path: path)
        #expect(try reopened.verify().isSound)
        let head = try await reopened.headPosition()
        #expect(head == LogPosition(16) || head == LogPosition(17))
        await reopened.close()
    }

    /// Under a backlog that never drains (each commit takes one append while
    /// the other callers queue their next), the queue holds only the appends
    /// still waiting: each group leaves it when it is taken, so the requests
    /// (payloads and all) of committed appends are not kept.
    @Test func aLastingBacklogKeepsOnlyTheWaitingAppends() async throws {
        let path = temporaryStorePath("backlog")
        defer { removeStore(path) }
        var configuration = LMDBEventStore.Configuration()
        configuration.maximumEventsPerCommit = 1
        configuration.durability = .relaxed
        let store = try LMDBEventStore(path: path, configuration: configuration)
        let writers = 8, appends = 150
        let done = Mutex(false)
        let monitor = Task.detached {
            var largest = 0
            while !done.withLock({ $0 }) {
                largest = max(largest, store.writer.queuedAppends)
                try? await Task.sleep(for: .microseconds(200))
            }
            return largest
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for _ in 0..<appends { try await store.append([testEvent()], to: try StreamID("backlog-\(writer)")) }
                }
            }
            try await group.waitForAll()
        }
        done.withLock { $0 = true }
        let largest = await monitor.value
        #expect(largest <= writers, "the queue held \(largest) appends with \(writers) callers")
        #expect(try await store.headPosition() == LogPosition(UInt64(writers * appends)))
        await store.close()
    }
}
