import PostgresNIO
import RapportEventLog

/// How a failure from PostgreSQL or from the connection pool becomes an
/// ``EventStoreError``. Messages name the SQLSTATE and the server's own words,
/// never the bound values (they may hold personal data).
enum PostgresFailure {
    /// SQLSTATE codes the store treats specially.
    enum State {
        static let uniqueViolation = "23505"
        static let serializationFailure = "40001"
        static let deadlockDetected = "40P01"
        static let undefinedTable = "42P01"
        static let invalidSchemaName = "3F000"
        static let diskFull = "53100"
        static let outOfMemory = "53200"
        static let tooManyConnections = "53300"
        static let idleInTransactionTimeout = "25P03"
    }

    /// The SQLSTATE of a server error, or nil for any other failure.
    static func sqlState(of error: any Error) -> String? {
        guard let error = error as? PSQLError, error.code == .server else { return nil }
        return error.serverInfo?[.sqlState]
    }

    /// Whether running the same transaction again may succeed: a unique
    /// violation (a writer that did not take the log lock), a serialization
    /// failure or a deadlock. The retry runs the append checks again and so
    /// answers with the proper error if the conflict is real.
    static func isRetryable(_ error: any Error) -> Bool {
        switch sqlState(of: error) {
        case State.uniqueViolation, State.serializationFailure, State.deadlockDetected: return true
        default: return false
        }
    }

    /// Whether the server refused a statement for what it was asked to store:
    /// a value it cannot hold (class 22), a constraint (23), a resource such as
    /// the disk (53), a limit of its own (54). Another request alone may then
    /// succeed. Not a timeout, a cancellation or a shutdown (classes 55, 57),
    /// which would only repeat for each request.
    static func isCausedByContent(_ error: any Error) -> Bool {
        guard let state = sqlState(of: error) else { return false }
        return ["22", "23", "53", "54"].contains(String(state.prefix(2)))
    }

    /// Whether the failure is the server's answer to a statement (as opposed
    /// to a lost or refused connection, where the server's state is unknown).
    static func isServerAnswer(_ error: any Error) -> Bool {
        (error as? PSQLError)?.code == .server
    }

    /// Whether the connection is gone: closed, reset, or ended by the server
    /// (a FATAL error, an administrator's or a failover's shutdown). Work that
    /// did not commit on it can run again on another connection.
    static func isConnectionLost(_ error: any Error) -> Bool {
        if error is ClosedConnection { return true }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            return true
        case .server:
            let severity = error.serverInfo?[.severity] ?? ""
            let state = error.serverInfo?[.sqlState] ?? ""
            return severity == "FATAL" || severity == "PANIC" || state.hasPrefix("57P") || state.hasPrefix("08")
        default:
            return false
        }
    }

    /// The ``EventStoreError`` for `error`, which happened while `doing` something
    /// in the tables of `schema`.
    static func storeError(_ error: any Error, doing: String, schema: String) -> EventStoreError {
        if let error = error as? EventStoreError { return error }
        if let error = error as? PostgresTransactionError {
            return storeError(error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError ?? error,
                              doing: doing, schema: schema)
        }
        if let error = error as? PSQLError {
            return storeError(error, doing: doing, schema: schema)
        }
        if let closed = error as? ClosedConnection {
            return .storage("the connection to PostgreSQL closed \(closed.sent ? "before answering " : "")while \(doing)")
        }
        if error is CancellationError {
            return .storage("the task was cancelled while \(doing)")
        }
        if error is PostgresDecodingError {
            return .incompatibleStore("PostgreSQL returned a column of an unexpected type while \(doing); the tables in schema \"\(schema)\" are not Rapport's")
        }
        let text = String(describing: error)
        if text.contains("CircuitBreaker") {
            return .storage("cannot connect to PostgreSQL while \(doing): every attempt failed for several seconds; check that the server runs and the client's host, port and credentials")
        }
        if text.contains("poolShutdown") {
            return .storage("the PostgresClient is shut down (its run() task ended) while \(doing)")
        }
        return .storage("PostgreSQL failed while \(doing): \(text)")
    }

    private static func storeError(_ error: PSQLError, doing: String, schema: String) -> EventStoreError {
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? "?????"
            let message = error.serverInfo?[.message] ?? "no message"
            let detail = error.serverInfo?[.detail].map { " (\($0))" } ?? ""
            switch state {
            case State.undefinedTable, State.invalidSchemaName:
                return .incompatibleStore("the Rapport tables are missing in schema \"\(schema)\" (\(message)); call migrate() once before using the store")
            case State.diskFull:
                return .storeFull("PostgreSQL's disk is full (\(message))")
            case State.outOfMemory, State.tooManyConnections:
                return .storage("PostgreSQL is out of resources while \(doing): \(message) [SQLSTATE \(state)]")
            case State.uniqueViolation:
                return .storage("a unique constraint failed while \(doing): \(message)\(detail). Another program writes to the tables of schema \"\(schema)\" without taking the log lock")
            default:
                if state.hasPrefix("28") {
                    return .storage("PostgreSQL refused the login: \(message) [SQLSTATE \(state)]")
                }
                if state.hasPrefix("57") || state.hasPrefix("08") {
                    return .storage("PostgreSQL ended the session while \(doing): \(message) [SQLSTATE \(state)]")
                }
                return .storage("PostgreSQL failed while \(doing): \(message)\(detail) [SQLSTATE \(state)]")
            }
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            let cause = error.underlying.map { ": \($0)" } ?? ""
            return .storage("the connection to PostgreSQL failed while \(doing) (\(error.code))\(cause)")
        case .poolClosed:
            return .storage("the PostgresClient is shut down (its run() task ended) while \(doing)")
        case .queryCancelled:
            return .storage("the query was cancelled while \(doing)")
        case .sslUnsupported, .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest:
            return .storage("TLS setup with PostgreSQL failed while \(doing) (\(error.code)); check the client's TLS configuration")
        case .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError:
            return .storage("PostgreSQL authentication failed (\(error.code)); check the client's user name and password")
        default:
            let cause = error.underlying.map { ": \($0)" } ?? ""
            return .storage("PostgreSQL failed while \(doing) (\(error.code))\(cause)")
        }
    }
}
