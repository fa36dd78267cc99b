import Dispatch
public import Logging
public import PostgresNIO
public import RapportEventLog
import Synchronization

/// The event store on PostgreSQL: the log in a few tables of one schema,
/// shared safely by any number of processes and machines.
///
/// - Positions are gapless and committed in order: every append transaction
///   locks the one-row log head first, so a reader following the log never
///   skips an event that commits late (see `docs/postgres.md`).
/// - Group commit: appends from the tasks of one store are queued to one
///   writer that commits several callers' appends in one transaction; each
///   caller gets its own result.
/// - Expected versions, idempotent event ids and append conditions are
///   checked by ``AppendChecks`` inside the locked transaction, so they hold
///   across connections and processes.
/// - ``subscribe(from:filter:pageSize:)`` follows the log, woken by
///   LISTEN/NOTIFY, polling when a notification is missed.
///
/// The application owns the `PostgresClient` and runs it; the store never
/// closes it. Create the tables once with ``migrate()``.
///
/// ```swift
/// let client = PostgresClient(configuration: .init(
///     host: "127.0.0.1", port: 5432, username: "rapport", password: secret, database: "crm", tls: .disable))
/// async let running: Void = client.run()
///
/// let store = try PostgresEventStore(client: client, logger: logger)
/// try await store.migrate()
/// try await store.append([event], to: try StreamID("contact-42"), expecting: .noStream)
/// for try await event in store.subscribe(from: 1) { print(event.position, event.type) }
/// ```
///
/// - Complexity: an append is a fixed number of statements per group of
///   appends, plus O(events + tags) index entries; reading `k` events of a
///   stream, or `k` events of a tag, is O(k) rows through an index; a read of
///   the log without a tag filter scans the log from its position.
public final class PostgresEventStore: EventStore {
    /// How the store uses its PostgreSQL database.
    ///
    /// ```swift
    /// var configuration = PostgresEventStore.Configuration(schema: "crm_events")
    /// configuration.pollInterval = .seconds(5)
    /// let store = try PostgresEventStore(client: client, configuration: configuration, logger: logger)
    /// ```
    public struct Configuration: Sendable {
        /// The PostgreSQL schema holding the tables (`public` by default). One schema
        /// holds one log; use several schemas for several logs in one database.
        public var schema: String = "public"
        /// Size limits on appended events. A record size limit above
        /// ``PostgresEventStore/maximumRecordSize`` is held to it.
        public var limits = EventLimits()
        /// The most events the writer puts in one transaction when grouping appends.
        /// A single larger request still commits, alone.
        public var maximumEventsPerCommit: Int = 10_000
        /// The most record bytes the writer puts in one transaction when grouping appends.
        public var maximumBytesPerCommit: Int = 32 << 20
        /// The most record bytes in one INSERT statement (internal; tests lower it).
        var bytesPerStatement: Int = RowWriter.defaultBytesPerStatement
        /// The statement that ends an import (internal; tests make it lose the connection).
        var importCommit: PostgresQuery = "COMMIT"
        /// Whether subscriptions LISTEN for appends (one pooled connection per store
        /// while any subscription has started). Without it they only poll.
        public var listensForNotifications: Bool = true
        /// How long a subscription waits for a notification before it looks anyway.
        public var pollInterval: Duration = .seconds(2)
        /// How long an append transaction may sit idle holding the log lock before
        /// PostgreSQL ends its session (`idle_in_transaction_session_timeout`), so a
        /// stalled process cannot block every writer. From 1 millisecond to
        /// ``PostgresEventStore/maximumLockIdleTimeout`` (PostgreSQL's limit);
        /// the store refuses other values when it is created.
        public var lockIdleTimeout: Duration = .seconds(30)

        /// The defaults, on schema `public`.
        public init() {}

        /// The defaults, on `schema`.
        public init(schema: String) {
            self.schema = schema
        }
    }

    /// The largest record the store appends, in bytes: PostgreSQL refuses a
    /// value or a message of 1 GB or more, so larger limits are held to this.
    public static let maximumRecordSize = 512 << 20

    /// The longest ``Configuration/lockIdleTimeout``: PostgreSQL's settings of
    /// milliseconds are 32-bit (about 24.8 days).
    public static let maximumLockIdleTimeout = Duration.milliseconds(Int32.max)

    /// How the store was configured.
    public let configuration: Configuration
    /// The limits appends are checked against: the configured ones, the record size held to ``maximumRecordSize``.
    let limits: EventLimits
    let client: PostgresClient
    let schema: Schema
    let logger: Logger
    let notifier = ChangeNotifier()
    /// The connection held for the synchronous read-model reads.
    let reading: ReadingConnection
    private let writer: GroupCommitWriter
    private let closed = Atomic<Bool>(false)

    /// Creates a store on the tables of `configuration.schema`, through `client`.
    ///
    /// Nothing is sent to the server until the store is used; call ``migrate()``
    /// once (at every start is fine) before the first use.
    ///
    /// ```swift
    /// let store = try PostgresEventStore(client: client, logger: Logger(label: "crm.events"))
    /// try await store.migrate()
    /// ```
    ///
    /// - Parameters:
    ///   - client: A client the application runs (`await client.run()` in a task) and closes.
    ///   - logger: Where the store reports failed transactions and lost notifications.
    /// - Throws: ``EventStoreError/storage(_:)`` when the schema name is not a
    ///   plain lower-case identifier, or `lockIdleTimeout` is under 1
    ///   millisecond or over ``maximumLockIdleTimeout``.
    public init(client: PostgresClient, configuration: Configuration = Configuration(), logger: Logger) throws(EventStoreError) {
        guard configuration.lockIdleTimeout >= .milliseconds(1), configuration.lockIdleTimeout <= Self.maximumLockIdleTimeout else {
            throw .storage(
                "invalid PostgreSQL store configuration: lockIdleTimeout is \(configuration.lockIdleTimeout); give 1 millisecond to \(Int32.max) milliseconds (about 24.8 days)")
        }
        self.client = client
        self.configuration = configuration
        var limits = configuration.limits
        limits.maximumRecordSize = min(limits.maximumRecordSize, Self.maximumRecordSize)
        self.limits = limits
        self.schema = try Schema(name: configuration.schema)
        self.logger = logger
        self.reading = ReadingConnection(client: client, logger: logger)
        self.writer = GroupCommitWriter(
            transaction: AppendTransaction(
                client: client, schema: schema, logger: logger, idleTimeoutMilliseconds: Self.milliseconds(configuration.lockIdleTimeout),
                bytesPerStatement: max(1, configuration.bytesPerStatement)),
            maximumEventsPerCommit: configuration.maximumEventsPerCommit,
            maximumBytesPerCommit: configuration.maximumBytesPerCommit)
        writer.start()
    }

    deinit {
        writer.stopWithoutWaiting()
        notifier.close()
        reading.close(waitingForReads: false)  // no read runs: each holds the store
    }

    // MARK: Schema

    /// Creates the schema and its tables, or brings them up to this library's
    /// version. Safe to call at every start and from several processes at once
    /// (they take turns on an advisory lock); a migration never drops data.
    ///
    /// ```swift
    /// let applied = try await store.migrate()   // [1] the first time, [] afterwards
    /// ```
    ///
    /// - Returns: the versions applied by this call, oldest first.
    /// - Throws: ``EventStoreError/incompatibleStore(_:)`` when the schema was
    ///   migrated by a newer version of Rapport; ``EventStoreError/storage(_:)``
    ///   when PostgreSQL fails or refuses (for example, no CREATE privilege).
    @discardableResult
    public func migrate() async throws(EventStoreError) -> [Int] {
        try checkOpen()
        let schema = self.schema
        let logger = self.logger
        do {
            let applied = try await client.withOpenConnection { connection -> [Int] in
                // READ COMMITTED whatever the server's default: a migration that waited for the
                // advisory lock must see what the one before it created.
                try await connection.execute("BEGIN ISOLATION LEVEL READ COMMITTED", logger: logger)
                let applied: [Int]
                do {
                    applied = try await Self.migrate(schema, on: connection, logger: logger)
                } catch {
                    await connection.rollBack(after: error, logger: logger)
                    throw error
                }
                try await connection.execute("COMMIT", logger: logger)
                return applied
            }
            return applied
        } catch {
            throw PostgresFailure.storeError(error, doing: "migrating the schema", schema: schema.name)
        }
    }

    private static func migrate(_ schema: Schema, on connection: PostgresConnection, logger: Logger) async throws -> [Int] {
        try await connection.execute(.bound("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "rapport.migrate:\(schema.name)"), logger: logger)
        var exists = false
        for try await _ in try await connection.run(.bound("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema.name), logger: logger) {
            exists = true
        }
        if !exists { try await connection.execute(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema.quotedName)"), logger: logger) }
        try await connection.execute(PostgresQuery(unsafeSQL: """
            CREATE TABLE IF NOT EXISTS \(schema.migrations) (
                version integer PRIMARY KEY,
                description text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
            )
            """), logger: logger)
        var done = Set<Int32>()
        for try await version in try await connection.run(PostgresQuery(unsafeSQL: "SELECT version FROM \(schema.migrations)"), logger: logger)
            .decode(Int32.self)
        {
            done.insert(version)
        }
        if let newest = done.max(), newest > schema.currentVersion {
            throw EventStoreError.incompatibleStore(
                "schema \"\(schema.name)\" is at version \(newest), newer than this version of Rapport knows (\(schema.currentVersion)); upgrade Rapport")
        }
        var applied: [Int] = []
        for migration in schema.allMigrations where !done.contains(migration.version) {
            for statement in migration.statements {
                try await connection.execute(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await connection.execute(
                .bound("INSERT INTO \(schema.migrations) (version, description) VALUES ($1, $2)", migration.version, migration.description),
                logger: logger)
            logger.info("migrated the Rapport schema", metadata: ["schema": "\(schema.name)", "version": "\(migration.version)"])
            applied.append(Int(migration.version))
        }
        return applied
    }

    /// The schema's version: the newest migration applied, 0 when none is.
    ///
    /// ```swift
    /// if try await store.schemaVersion() < PostgresEventStore.schemaVersion { try await store.migrate() }
    /// ```
    public func schemaVersion() async throws(EventStoreError) -> Int {
        try checkOpen()
        let query = PostgresQuery(unsafeSQL: "SELECT coalesce(max(version), 0) FROM \(schema.migrations)")
        return try await read(doing: "reading the schema version") { connection, logger in
            do {
                for try await version in try await connection.run(query, logger: logger).decode(Int32.self) { return Int(version) }
                return 0
            } catch let error where PostgresFailure.sqlState(of: error) == PostgresFailure.State.undefinedTable
                || PostgresFailure.sqlState(of: error) == PostgresFailure.State.invalidSchemaName
            {
                return 0
            }
        }
    }

    /// The schema version this library migrates to.
    public static var schemaVersion: Int { Int(try! Schema(name: "public").currentVersion) }

    // MARK: EventStore

    public func append(_ request: AppendRequest) async throws(EventStoreError) -> AppendResult {
        try request.validate(limits: limits)
        try checkOpen()
        return try await writer.submit(request).get()
    }

    public func readStream(_ stream: StreamID, from version: UInt64, direction: ReadDirection, limit: Int)
        async throws(EventStoreError) -> [RecordedEvent]
    {
        try checkOpen()
        guard limit > 0 else { return [] }
        var query = QueryBuilder()
        let streamParameter = query.bind(stream.rawValue)
        let versionParameter = query.bind(Int64(saturating: version))
        let limitParameter = query.bind(Int64(limit))
        switch direction {
        case .forward:
            query.append("""
                SELECT position, record FROM \(schema.events)
                WHERE stream_id = \(streamParameter) AND stream_version >= \(versionParameter)
                ORDER BY stream_version LIMIT \(limitParameter)
                """)
        case .backward:
            query.append("""
                SELECT position, record FROM \(schema.events)
                WHERE stream_id = \(streamParameter) AND stream_version <= \(versionParameter)
                ORDER BY stream_version DESC LIMIT \(limitParameter)
                """)
        }
        return try await records(query.query, doing: "reading stream \(stream)")
    }

    public func streamVersion(of stream: StreamID) async throws(EventStoreError) -> UInt64 {
        try checkOpen()
        let query = PostgresQuery.bound("SELECT version FROM \(schema.streamHeads) WHERE stream_id = $1", stream.rawValue)
        return try await int64(query, doing: "reading the version of stream \(stream)").map { UInt64($0) } ?? 0
    }

    public func readLog(from position: LogPosition, filter: LogFilter, limit: Int) async throws(EventStoreError) -> [RecordedEvent] {
        try checkOpen()
        return try await readLog(from: position, through: filter.through, filter: filter, limit: limit)
    }

    /// Reads the log from `position` up to `end` (or the end), in order.
    func readLog(from position: LogPosition, through end: LogPosition?, filter: LogFilter, limit: Int)
        async throws(EventStoreError) -> [RecordedEvent]
    {
        guard limit > 0, filter.types?.isEmpty != true, filter.tags?.isEmpty != true, filter.actors?.isEmpty != true else { return [] }
        if let end, end < position { return [] }
        if let actors = filter.actors {
            // The schema has no actor index yet: read pages with the other
            // criteria and keep the actors' events.
            var others = filter
            others.actors = nil
            var result: [RecordedEvent] = []
            var next = position
            let pageSize = Swift.max(limit, 512)
            while result.count < limit {
                let page = try await readLog(from: next, through: end, filter: others, limit: pageSize)
                result += page.lazy.filter { actors.contains($0.metadata.actor.id) }.prefix(limit - result.count)
                guard page.count == pageSize, let last = page.last else { break }
                next = last.position.next
            }
            return result
        }
        var query = QueryBuilder()
        let from = query.bind(Int64(saturating: Swift.max(position.rawValue, 1)))
        let count = query.bind(Int64(limit))
        let last = end.map { query.bind(Int64(saturating: $0.rawValue)) }
        let types = filter.types.map { query.bind($0.sorted()) }
        if let tags = filter.tags {
            // Per tag, the first `limit` matching positions through the tag index;
            // then the first `limit` of their union.
            let typeJoin = types.map { " JOIN \(schema.events) f ON f.position = t.position AND f.type = ANY(\($0))" } ?? ""
            let tagUpTo = last.map { " AND t.position <= \($0)" } ?? ""
            query.append("""
                SELECT e.position, e.record FROM \(schema.events) e
                WHERE e.position IN (
                    SELECT x.position FROM unnest(\(query.bind(tags.map(\.rawValue).sorted()))::text[]) AS wanted(tag)
                    CROSS JOIN LATERAL (
                        SELECT t.position FROM \(schema.eventTags) t\(typeJoin)
                        WHERE t.tag = wanted.tag AND t.position >= \(from)\(tagUpTo)
                        ORDER BY t.position LIMIT \(count)
                    ) x
                )
                ORDER BY e.position LIMIT \(count)
                """)
        } else {
            let upTo = last.map { " AND position <= \($0)" } ?? ""
            let typeFilter = types.map { " AND type = ANY(\($0))" } ?? ""
            query.append("""
                SELECT position, record FROM \(schema.events)
                WHERE position >= \(from)\(upTo)\(typeFilter)
                ORDER BY position LIMIT \(count)
                """)
        }
        return try await records(query.query, doing: "reading the log")
    }

    public func headPosition() async throws(EventStoreError) -> LogPosition {
        try checkOpen()
        let query = PostgresQuery(unsafeSQL: "SELECT position FROM \(schema.logHead) WHERE singleton")
        guard let position = try await int64(query, doing: "reading the head position") else {
            throw .incompatibleStore("the log head row of schema \"\(schema.name)\" is missing; the tables were changed by hand")
        }
        return LogPosition(UInt64(position))
    }

    public func event(id: EventID) async throws(EventStoreError) -> RecordedEvent? {
        try checkOpen()
        let query = PostgresQuery.bound("SELECT position, record FROM \(schema.events) WHERE event_id = $1", id.uuid)
        return try await records(query, doing: "reading event \(id)").first
    }

    /// Lets queued appends commit, ends the subscriptions' listener, then refuses
    /// further work with ``EventStoreError/storeClosed``. A read-model read in
    /// progress is waited for before its connection goes back to the pool.
    /// The `PostgresClient` stays open: it is the application's.
    public func close() async {
        await writer.stop()
        closed.store(true, ordering: .releasing)
        notifier.close()
        // A read-model read in progress keeps the reading connection inside its
        // transaction: wait for it off Swift's cooperative pool (a read blocks its thread).
        let reading = self.reading
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                reading.close(waitingForReads: true)
                continuation.resume()
            }
        }
    }

    // MARK: Verification

    /// Walks the whole log (``verifyLog(progress:)``) and throws at the first problem.
    ///
    /// ```swift
    /// let checked = try await store.verify()   // the head position
    /// ```
    ///
    /// - Returns: the position of the last record checked.
    /// - Throws: ``EventStoreError/corruptedRecord(position:reason:)`` at the first problem.
    @discardableResult
    public func verify() async throws(EventStoreError) -> LogPosition {
        let report = try await verifyLog(progress: nil)
        if let problem = report.problem {
            throw .corruptedRecord(position: problem.position ?? report.head, reason: problem.message)
        }
        return report.head
    }

    // MARK: Helpers

    func checkOpen() throws(EventStoreError) {
        if closed.load(ordering: .acquiring) { throw .storeClosed }
    }

    /// Runs a read on a pooled connection. A read that lost its connection
    /// (a failover, a server restart, a connection the pool had not yet seen
    /// close) runs once more on another: reads change nothing, so that is safe.
    func read<Value: Sendable>(
        doing: String, _ body: (PostgresConnection, Logger) async throws -> Value
    ) async throws(EventStoreError) -> Value {
        var attempt = 1
        while true {
            do {
                return try await client.withOpenConnection { connection in try await body(connection, logger) }
            } catch {
                if attempt < 2 && PostgresFailure.isConnectionLost(error) {
                    logger.notice("read lost its connection; trying again", metadata: ["reading": "\(doing)"])
                    attempt += 1
                    continue
                }
                throw PostgresFailure.storeError(error, doing: doing, schema: schema.name)
            }
        }
    }

    func rawRecords(_ query: PostgresQuery, doing: String) async throws(EventStoreError) -> [(UInt64, ByteBuffer)] {
        try await read(doing: doing) { connection, logger in
            var rows: [(UInt64, ByteBuffer)] = []
            for try await (position, record) in try await connection.run(query, logger: logger).decode((Int64, ByteBuffer).self) {
                rows.append((UInt64(position), record))
            }
            return rows
        }
    }

    private func records(_ query: PostgresQuery, doing: String) async throws(EventStoreError) -> [RecordedEvent] {
        let rows = try await rawRecords(query, doing: doing)
        var events: [RecordedEvent] = []
        events.reserveCapacity(rows.count)
        for (position, bytes) in rows { events.append(try materializeRecord(bytes, position: Int64(position))) }
        return events
    }

    private func int64(_ query: PostgresQuery, doing: String) async throws(EventStoreError) -> Int64? {
        try await read(doing: doing) { connection, logger -> Int64? in
            for try await value in try await connection.run(query, logger: logger).decode(Int64.self) { return value }
            return nil
        }
    }
}
