import Logging
import PostgresNIO
import Synchronization

// How the store uses pooled connections so that a connection that closes
// under it never leaves a statement waiting forever.
//
// PostgresNIO answers a statement only if it reaches the connection's channel
// handler. A statement written after the channel closed (the close can land
// between the `isClosed` check and the write) is dropped by the channel, and
// its answer never comes. So every statement also waits on the connection's
// close: `CloseWatch` keeps one close observer per connection, which fails
// every statement still unanswered on it when it closes.

/// A statement was about to be sent on a connection that is already closed
/// (`sent` false), or the connection closed before the statement was
/// answered (`sent` true: it may have reached the server, and a COMMIT may
/// have taken effect).
struct ClosedConnection: Error {
    var sent: Bool
}

/// The statements waiting on each open connection, and one close observer
/// per connection that fails them.
final class CloseWatch: Sendable {
    /// The watch every store uses.
    static let shared = CloseWatch()

    /// What to call when a connection closes, by registration.
    private struct Watched {
        var waiters: [UInt64: @Sendable () -> Void] = [:]
    }
    private struct State {
        var connections: [ObjectIdentifier: Watched] = [:]
        var nextToken: UInt64 = 0
    }
    private let state = Mutex(State())

    /// A registration: ``claim()`` it when the statement is answered.
    struct Registration: Sendable {
        fileprivate let watch: CloseWatch
        fileprivate let connection: ObjectIdentifier
        fileprivate let token: UInt64

        /// Takes the registration back. True when the close observer has not
        /// called it (the caller completes the statement); false when it did.
        func claim() -> Bool {
            watch.state.withLock { state in
                state.connections[connection]?.waiters.removeValue(forKey: token) != nil
            }
        }
    }

    /// The number of connections watched and of statements waiting (for tests).
    var watched: (connections: Int, waiters: Int) {
        state.withLock { state in (state.connections.count, state.connections.values.reduce(0) { $0 + $1.waiters.count }) }
    }

    /// Registers `onClose`, called once (on the connection's event loop) if
    /// `connection` closes before the registration is claimed. The first
    /// registration on a connection adds its one close observer, which keeps
    /// the connection alive until it closes.
    func register(_ connection: PostgresConnection, onClose: @escaping @Sendable () -> Void) -> Registration {
        let id = ObjectIdentifier(connection)
        let (token, isFirst) = state.withLock { state in
            state.nextToken &+= 1
            let isFirst = state.connections[id] == nil
            state.connections[id, default: Watched()].waiters[state.nextToken] = onClose
            return (state.nextToken, isFirst)
        }
        if isFirst {
            // Fires at once, on the event loop, when the connection is already closed.
            connection.closeFuture.whenComplete { _ in self.closed(connection) }
        }
        return Registration(watch: self, connection: id, token: token)
    }

    private func closed(_ connection: PostgresConnection) {
        guard let watched = state.withLock({ state in state.connections.removeValue(forKey: ObjectIdentifier(connection)) }) else { return }
        for onClose in watched.waiters.values { onClose() }
    }

    /// Runs `send` (which starts a statement on `connection` and awaits its
    /// answer) and returns its answer, or throws ``ClosedConnection`` as soon
    /// as the connection closes without answering. A `send` left unanswered
    /// goes on waiting in the background.
    func answer<Value: Sendable>(
        on connection: PostgresConnection, _ send: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        try await futureAnswer(on: connection) {
            let promise = connection.eventLoop.makePromise(of: Value.self)
            promise.completeWithTask(send)
            return promise.futureResult
        }.get()
    }

    /// The future answer of `send`, failed with ``ClosedConnection`` as soon as
    /// the connection closes without answering (the synchronous reads wait on
    /// it; ``answer(on:_:)`` awaits it).
    func futureAnswer<Value: Sendable>(
        on connection: PostgresConnection, _ send: () -> EventLoopFuture<Value>
    ) -> EventLoopFuture<Value> {
        let promise = connection.eventLoop.makePromise(of: Value.self)
        guard !connection.isClosed else {
            promise.fail(ClosedConnection(sent: false))
            return promise.futureResult
        }
        let registration = register(connection) { promise.fail(ClosedConnection(sent: true)) }
        send().whenComplete { result in
            if registration.claim() { promise.completeWith(result) }
        }
        return promise.futureResult
    }
}

extension PostgresConnection {
    /// Runs `query`, refusing when the connection is already closed and
    /// failing with ``ClosedConnection`` when it closes before answering:
    /// PostgresNIO never answers a query written to a closed connection.
    @discardableResult
    func run(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await CloseWatch.shared.answer(on: self) { try await self.query(query, logger: logger) }
    }

    /// Runs `query` and collects its rows, failing as ``run(_:logger:)`` does
    /// (for the synchronous read-model reads).
    func collect(_ query: PostgresQuery, logger: Logger) -> EventLoopFuture<PostgresQueryResult> {
        CloseWatch.shared.futureAnswer(on: self) { self.query(query, logger: logger) }
    }
    /// Runs a statement for its effect and reads its whole answer, so an error
    /// the server reports after the first row (a constraint failing inside a
    /// data-modifying CTE, say) is thrown here and never left pending: a
    /// transaction aborted by an unseen error would answer COMMIT with
    /// ROLLBACK, silently.
    func execute(_ query: PostgresQuery, logger: Logger) async throws {
        for try await _ in try await run(query, logger: logger) {}
    }

    /// Rolls back after `error`, when the connection can still take a statement;
    /// a lost connection has rolled back by itself.
    func rollBack(after error: any Error, logger: Logger) async {
        guard !PostgresFailure.isConnectionLost(error), !isClosed else { return }
        try? await execute("ROLLBACK", logger: logger)
    }
}

extension PostgresClient {
    /// Leases a connection that is still open for `body`. The pool may hand out
    /// a connection whose close it has not processed yet (right after a
    /// failover, or after the server ended a session); such a lease is given
    /// back and another taken, after a short pause, without running `body`.
    func withOpenConnection<Value: Sendable>(_ body: (PostgresConnection) async throws -> Value) async throws -> Value {
        var staleLeases = 0
        while true {
            do {
                return try await withConnection { connection in
                    guard !connection.isClosed else { throw StaleLease() }
                    return try await body(connection)
                }
            } catch is StaleLease {
                staleLeases += 1
                guard staleLeases < 20 else { throw ClosedConnection(sent: false) }
                try await Task.sleep(for: .milliseconds(5 * staleLeases))
            }
        }
    }
}

/// A leased connection was closed before anything was sent on it.
private struct StaleLease: Error {}
