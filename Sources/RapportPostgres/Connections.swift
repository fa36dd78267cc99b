import Logging
import PostgresNIO

// How the store uses pooled connections so that a connection that closes
// under it never leaves a statement waiting forever.

/// A statement was about to be sent on a connection that is already closed.
struct ClosedConnection: Error {}

extension PostgresConnection {
    /// Runs `query`, refusing when the connection is already closed: a query
    /// written to a closed connection is never answered by PostgresNIO, so
    /// sending it would wait forever.
    @discardableResult
    func run(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        guard !isClosed else { throw ClosedConnection() }
        return try await self.query(query, logger: logger)
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
                guard staleLeases < 20 else { throw ClosedConnection() }
                try await Task.sleep(for: .milliseconds(5 * staleLeases))
            }
        }
    }
}

/// A leased connection was closed before anything was sent on it.
private struct StaleLease: Error {}
