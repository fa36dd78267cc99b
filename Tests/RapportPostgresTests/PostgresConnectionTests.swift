import PostgresNIO
@testable import RapportPostgres
import Synchronization
import Testing

@Suite("PostgreSQL connections that close under a statement", .enabled(if: PostgresTestEnvironment.shouldRun, PostgresTestEnvironment.skipMessage))
struct PostgresConnectionTests {
    /// A statement the connection never answers, as PostgresNIO leaves one
    /// written after its channel closed; `answer()` lets it finish afterwards.
    final class Unanswered: Sendable {
        private enum State { case waiting(CheckedContinuation<Int, Never>?), answered }
        private let state = Mutex(State.waiting(nil))

        func wait() async -> Int {
            await withCheckedContinuation { continuation in
                let answeredAlready = state.withLock { state in
                    if case .answered = state { return true }
                    state = .waiting(continuation)
                    return false
                }
                if answeredAlready { continuation.resume(returning: 0) }
            }
        }

        func answer() {
            let continuation = state.withLock { state in
                defer { state = .answered }
                if case .waiting(let continuation) = state { return continuation }
                return nil
            }
            continuation?.resume(returning: 0)
        }
    }

    @Test("statements a connection never answers fail when it closes, and an answered one leaves nothing watched",
          .timeLimit(.minutes(1)))
    func unansweredStatementsFailWhenTheConnectionCloses() async throws {
        let database = try TestDatabase.get()
        let watch = CloseWatch()
        try await database.client.withConnection { connection in
            let rows = try await watch.answer(on: connection) { try await connection.query("SELECT 1", logger: testLogger) }
            for try await _ in rows {}
            #expect(watch.watched == (connections: 1, waiters: 0))

            // Without the watch both would wait forever: nothing ever answers them.
            let unanswered = Unanswered()
            let pending = connection.eventLoop.makePromise(of: Int.self)
            let waiting = Task { () -> (any Error)? in
                do {
                    _ = try await watch.answer(on: connection) { await unanswered.wait() }
                    return nil
                } catch { return error }
            }
            let future = watch.futureAnswer(on: connection) { pending.futureResult }
            while watch.watched.waiters < 2 { try await Task.sleep(for: .milliseconds(1)) }
            try await connection.close()

            // Sent (as far as anyone can tell) and unanswered: a COMMIT may have taken effect.
            #expect((await waiting.value as? ClosedConnection)?.sent == true)
            await #expect(throws: ClosedConnection.self) { try await future.get() }
            #expect(watch.watched == (connections: 0, waiters: 0))

            // Answers that come after the close change nothing.
            pending.succeed(1)
            unanswered.answer()
            await #expect(throws: ClosedConnection.self) { try await future.get() }

            // A closed connection is refused before anything is sent.
            let sent = Atomic(false)
            do {
                _ = try await watch.answer(on: connection) { () async throws -> Int in
                    sent.store(true, ordering: .relaxed)
                    return 0
                }
                Issue.record("a closed connection took a statement")
            } catch {
                #expect((error as? ClosedConnection)?.sent == false)
            }
            let wasSent = sent.load(ordering: .relaxed)
            #expect(!wasSent)
            #expect(watch.watched == (connections: 0, waiters: 0))
        }
    }
}
