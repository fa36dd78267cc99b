import Foundation
import Logging
import PostgresNIO
public import RapportEventLog

/// Read models live in the same schema as the log: table
/// `rapport_read_models` (projection, key as UTF-8 bytes, value) and table
/// `rapport_projection_checkpoints`. A commit runs in one transaction, so a
/// read model and its checkpoint change together or not at all, whichever
/// process commits.
///
/// Reads are synchronous, as the protocol asks: they run on one connection
/// the store holds for them (see `docs/postgres.md`, "Read models"), each
/// `read(_:_:)` in a REPEATABLE READ, READ ONLY transaction, so all of its
/// statements see one committed state.
///
/// ```swift
/// let store = try PostgresEventStore(client: client, logger: logger)
/// try await store.migrate()
/// let runner = try ProjectionRunner(log: store, storage: store, projections: [DealStates()], registry: .crm)
/// try await runner.catchUp()                         // connects for reads first (prepareForReading)
/// let deal = try DealStates().state(of: dealID, in: store)
/// ```
extension PostgresEventStore: ReadModelStorage {
    public func checkpoint(of projection: String) throws(EventStoreError) -> ProjectionCheckpoint? {
        try checkOpen()
        return try reading.withConnection { (connection) throws(EventStoreError) -> ProjectionCheckpoint? in
            try self.checkpoint(of: projection, on: connection)
        }
    }

    /// The stored checkpoint of `projection`, read on `connection` (in its
    /// transaction, when one is open).
    func checkpoint(of projection: String, on connection: PostgresConnection) throws(EventStoreError) -> ProjectionCheckpoint? {
        let query = PostgresQuery.bound("SELECT version, position FROM \(schema.checkpoints) WHERE projection = $1", projection)
        let rows = try self.rows(of: query, on: connection, doing: "reading the checkpoint of projection \(projection)")
        guard let row = rows.first else { return nil }
        do {
            let (version, position) = try row.decode((Int64, Int64).self)
            return ProjectionCheckpoint(version: Int(version), position: LogPosition(UInt64(position)))
        } catch {
            throw PostgresFailure.storeError(error, doing: "reading the checkpoint of projection \(projection)", schema: schema.name)
        }
    }

    public func read<R>(_ projection: String, _ body: (any ReadModelReader) throws(EventStoreError) -> R) throws(EventStoreError) -> R {
        try checkOpen()
        return try reading.withConnection { (connection) throws(EventStoreError) -> R in
            // BEGIN is pipelined with the first statement; COMMIT is answered before the next read.
            let begin = connection.collect("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            defer {
                _ = try? begin.wait()
                if !connection.isClosed { reading.endTransaction(on: connection) }
            }
            return try body(PostgresReadModelReader(store: self, connection: connection, projection: projection))
        }
    }

    /// Leases the connection the store holds for read-model reads, if it
    /// holds none yet (the projection runner calls this before it reads).
    public func prepareForReading() async throws(EventStoreError) {
        try checkOpen()
        try await reading.ready()
    }

    public func commit(_ changes: [ReadModelChanges]) async throws(EventStoreError) {
        try checkOpen()
        guard !changes.isEmpty else { return }
        reading.start()  // a store that writes read models reads them: lease the reading connection meanwhile
        let statements = changes.flatMap(commitStatements)
        var attempt = 1
        while true {
            do {
                try await client.withOpenConnection { connection in
                    // READ COMMITTED whatever the server's default: concurrent commits of one
                    // projection's keys (two runners) then wait for each other's row locks
                    // instead of failing to serialize.
                    try await connection.execute("BEGIN ISOLATION LEVEL READ COMMITTED", logger: logger)
                    do {
                        try await checkConditions(of: changes, on: connection)
                        for statement in statements { try await connection.execute(statement, logger: logger) }
                    } catch {
                        await connection.rollBack(after: error, logger: logger)
                        throw error
                    }
                    do {
                        try await connection.execute("COMMIT", logger: logger)
                    } catch {
                        throw CommitOutcomeUnknown(underlying: error)
                    }
                }
                return
            } catch let error as EventStoreError {
                throw error  // a condition not met: nothing was written
            } catch let error as CommitOutcomeUnknown {
                let cause = PostgresFailure.storeError(error.underlying, doing: "committing read models", schema: schema.name)
                throw .storage("\(cause.description); the read models may or may not have been committed: their checkpoints say which, so running the projections again is safe")
            } catch {
                if attempt < 3 && (PostgresFailure.isConnectionLost(error) || PostgresFailure.isRetryable(error)) {
                    logger.notice("read-model commit failed before COMMIT; trying again", metadata: ["error": "\(error)"])
                    attempt += 1
                    continue
                }
                throw PostgresFailure.storeError(error, doing: "committing read models", schema: schema.name)
            }
        }
    }

    /// Checks each change's checkpoint condition inside the commit's
    /// transaction, before anything is written. A transaction-scoped advisory
    /// lock per projection (taken in name order, so two commits never wait
    /// for each other in a circle) makes a concurrent commit of the same
    /// projection wait until this one has ended, then see its checkpoint.
    private func checkConditions(of changes: [ReadModelChanges], on connection: PostgresConnection) async throws {
        let guarded = changes.filter { $0.condition != .any }.sorted { $0.projection.utf8.lexicographicallyPrecedes($1.projection.utf8) }
        for change in guarded {
            try await connection.execute(
                .bound("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "rapport.read-model:\(schema.name):\(change.projection)"),
                logger: logger)
            var stored: ProjectionCheckpoint?
            let query = PostgresQuery.bound("SELECT version, position FROM \(schema.checkpoints) WHERE projection = $1", change.projection)
            for try await (version, position) in try await connection.run(query, logger: logger).decode((Int64, Int64).self) {
                stored = ProjectionCheckpoint(version: Int(version), position: LogPosition(UInt64(position)))
            }
            guard change.condition.isMet(by: stored) else {
                throw EventStoreError.checkpointMoved(projection: change.projection, expected: change.condition, actual: stored)
            }
        }
    }

    /// The statements of one projection's changes, each key changed once.
    private func commitStatements(_ change: ReadModelChanges) -> [PostgresQuery] {
        var statements: [PostgresQuery] = []
        if change.resetFirst {
            statements.append(.bound("DELETE FROM \(schema.readModels) WHERE projection = $1", change.projection))
        }
        var putKeys: [ByteBuffer] = [], putValues: [ByteBuffer] = [], deleted: [ByteBuffer] = []
        for (key, value) in change.writes {
            if let value {
                putKeys.append(ByteBuffer(string: key))
                putValues.append(ByteBuffer(bytes: value))
            } else if !change.resetFirst {
                deleted.append(ByteBuffer(string: key))
            }
        }
        let chunk = 5_000
        for start in stride(from: 0, to: deleted.count, by: chunk) {
            statements.append(.bound(
                "DELETE FROM \(schema.readModels) WHERE projection = $1 AND key = ANY($2::bytea[])",
                change.projection, Array(deleted[start..<min(start + chunk, deleted.count)])))
        }
        for start in stride(from: 0, to: putKeys.count, by: chunk) {
            let end = min(start + chunk, putKeys.count)
            statements.append(.bound("""
                INSERT INTO \(schema.readModels) (projection, key, value)
                SELECT $1, k, v FROM unnest($2::bytea[], $3::bytea[]) AS t(k, v)
                ON CONFLICT (projection, key) DO UPDATE SET value = excluded.value
                """, change.projection, Array(putKeys[start..<end]), Array(putValues[start..<end])))
        }
        statements.append(.bound("""
            INSERT INTO \(schema.checkpoints) (projection, version, position) VALUES ($1, $2, $3)
            ON CONFLICT (projection) DO UPDATE SET version = excluded.version, position = excluded.position, committed_at = clock_timestamp()
            """, change.projection, Int64(change.checkpoint.version), Int64(saturating: change.checkpoint.position.rawValue)))
        return statements
    }

    /// Runs `query` on the reading connection and returns all its rows.
    func rows(of query: PostgresQuery, on connection: PostgresConnection, doing: String) throws(EventStoreError) -> [PostgresRow] {
        guard !connection.isClosed else {
            throw .storage("the connection to PostgreSQL closed while \(doing); the next read takes another")
        }
        do {
            return try connection.collect(query, logger: logger).wait().rows
        } catch {
            throw PostgresFailure.storeError(error, doing: doing, schema: schema.name)
        }
    }
}

/// The COMMIT of a read-model transaction failed: it may or may not have taken effect.
private struct CommitOutcomeUnknown: Error {
    let underlying: any Error
}

/// A projection's rows of `rapport_read_models`, inside one read transaction.
struct PostgresReadModelReader: ReadModelReader {
    let store: PostgresEventStore
    let connection: PostgresConnection
    let projection: String

    /// The checkpoint, read in the reader's REPEATABLE READ transaction.
    func checkpoint() throws(EventStoreError) -> ProjectionCheckpoint? {
        try store.checkpoint(of: projection, on: connection)
    }

    func value(forKey key: String) throws(EventStoreError) -> [UInt8]? {
        let query = PostgresQuery.bound(
            "SELECT value FROM \(store.schema.readModels) WHERE projection = $1 AND key = $2", projection, ByteBuffer(string: key))
        let rows = try store.rows(of: query, on: connection, doing: "reading read model \(projection)")
        guard let row = rows.first else { return nil }
        do {
            return Array(buffer: try row.decode(ByteBuffer.self))
        } catch {
            throw PostgresFailure.storeError(error, doing: "reading read model \(projection)", schema: store.schema.name)
        }
    }

    /// Reads the keys under `prefix` a page at a time (so a body that stops
    /// early does not fetch the rest), in byte order.
    func forEach(keyPrefix prefix: String, _ body: (String, [UInt8]) -> Bool) throws(EventStoreError) {
        try forEach(keyPrefix: prefix, from: prefix, body)
    }

    /// Reads the keys under `prefix` from `first` on, a page at a time, in byte order.
    func forEach(keyPrefix prefix: String, from first: String, _ body: (String, [UInt8]) -> Bool) throws(EventStoreError) {
        let start = Array(prefix.utf8)
        let from = Array(first.utf8)
        let lowest = from.lexicographicallyPrecedes(start) ? start : from
        // Every key starting with `prefix` sorts below the prefix with its last byte
        // increased (UTF-8 never holds 0xFF, so that byte exists); the empty prefix has no bound.
        let bound: ByteBuffer? = start.isEmpty ? nil : ByteBuffer(bytes: start.dropLast() + [start.last! + 1])
        var after: ByteBuffer?
        let pageSize: Int64 = 1_000
        while true {
            var query = QueryBuilder()
            query.append("SELECT key, value FROM \(store.schema.readModels) WHERE projection = \(query.bind(projection))")
            if let after {
                query.append(" AND key > \(query.bind(after))")
            } else {
                query.append(" AND key >= \(query.bind(ByteBuffer(bytes: lowest)))")
            }
            if let bound { query.append(" AND key < \(query.bind(bound))") }
            query.append(" ORDER BY key LIMIT \(query.bind(pageSize))")
            let rows = try store.rows(of: query.query, on: connection, doing: "reading read model \(projection)")
            for row in rows {
                let key: ByteBuffer, value: ByteBuffer
                do {
                    (key, value) = try row.decode((ByteBuffer, ByteBuffer).self)
                } catch {
                    throw PostgresFailure.storeError(error, doing: "reading read model \(projection)", schema: store.schema.name)
                }
                if !body(String(buffer: key), Array(buffer: value)) { return }
                after = key
            }
            if rows.count < Int(pageSize) { return }
        }
    }
}
