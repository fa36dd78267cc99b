import Foundation
import Logging
import PostgresNIO
public import RapportEventLog

/// The log as stored records: the `record` column, byte for byte. An import
/// runs in one transaction holding the log lock, and the verification walk
/// in one REPEATABLE READ snapshot.
///
/// ```swift
/// let store = try PostgresEventStore(client: client, logger: logger)
/// try await store.migrate()
/// try await LogCopy.copy(from: lmdbStore, to: store)    // one transaction: all or nothing
/// let report = try await store.verifyLog(progress: nil)
/// ```
extension PostgresEventStore: StoredRecordLog {
    public func storedRecords(from position: LogPosition, limit: Int) async throws(EventStoreError) -> [StoredRecord] {
        try checkOpen()
        guard limit > 0 else { return [] }
        let query = PostgresQuery.bound(
            "SELECT position, record FROM \(schema.events) WHERE position >= $1 ORDER BY position LIMIT $2",
            Int64(saturating: Swift.max(position.rawValue, 1)), Int64(limit))
        return try await rawRecords(query, doing: "reading stored records").map {
            StoredRecord(position: LogPosition($0.0), bytes: Array(buffer: $0.1))
        }
    }

    /// Imports in **one transaction** that holds the log lock from the first
    /// batch to the last: appends from every process wait until it ends, and
    /// a failure, a lost connection or an interrupted process leaves the log
    /// as empty as it was. The one exception is a connection lost after the
    /// `COMMIT` was sent and before it was answered: the import may have
    /// taken effect, and the error says so (the head position tells which). Memory grows with the number of streams and tags
    /// (their heads are written at the end), not with the number of events.
    public func importStoredRecords(_ next: () async throws(EventStoreError) -> [StoredRecord]) async throws(EventStoreError) -> LogPosition {
        try checkOpen()
        let schema = self.schema, logger = self.logger
        var writer = RowWriter(schema: schema, logger: logger)
        writer.bytesPerStatement = Swift.max(1, configuration.bytesPerStatement)
        let timeout = Self.milliseconds(configuration.lockIdleTimeout)
        do {
            return try await client.withOpenConnection { connection in
                try await connection.execute("BEGIN ISOLATION LEVEL READ COMMITTED", logger: logger)
                let head: LogPosition
                do {
                    let lock = PostgresQuery.bound(
                        "SELECT position, set_config('idle_in_transaction_session_timeout', $1, true) FROM \(schema.logHead) WHERE singleton FOR UPDATE",
                        "\(timeout)")
                    var stored: Int64?
                    for try await (position, _) in try await connection.run(lock, logger: logger).decode((Int64, String).self) { stored = position }
                    guard let stored else {
                        throw EventStoreError.incompatibleStore("the log head row of schema \"\(schema.name)\" is missing; the tables were changed by hand")
                    }
                    guard stored == 0 else {
                        throw EventStoreError.invalidEvent("the log already holds events up to position \(stored); records are only imported into an empty log")
                    }
                    var chain = LogChain()
                    while true {
                        let batch = try await next()
                        if batch.isEmpty { break }
                        var rows = AppendBatch.Rows()
                        for record in batch { try Self.add(record, to: &rows, following: &chain) }
                        try await writer.insert(rows, then: nil, on: connection)
                    }
                    try await writer.insert(AppendBatch.Rows(), then: RowWriter.Ending(
                        streams: chain.streams.map { ($0.key, $0.value) }, tags: chain.tags.map { ($0.key, $0.value) },
                        lastPosition: chain.lastPosition, lastChainHash: chain.lastChainHash), on: connection)
                    head = LogPosition(chain.lastPosition)
                } catch {
                    await connection.rollBack(after: error, logger: logger)
                    throw error
                }
                do {
                    try await connection.execute(configuration.importCommit, logger: logger)
                } catch let error as ClosedConnection where !error.sent {
                    throw error  // never sent: the transaction ended with its connection
                } catch where PostgresFailure.isServerAnswer(error) && !PostgresFailure.isConnectionLost(error) {
                    throw error  // the server answered the COMMIT with an error: rolled back
                } catch {
                    throw ImportOutcomeUnknown(underlying: error)
                }
                return head
            }
        } catch let unknown as ImportOutcomeUnknown {
            let cause = PostgresFailure.storeError(unknown.underlying, doing: "committing the import", schema: schema.name)
            throw .storage(
                "\(cause.description); the import may or may not have been committed: the log's head position says which (0: nothing was imported, and importing again is safe)")
        } catch {
            throw PostgresFailure.storeError(error, doing: "importing records", schema: schema.name)
        }
    }

    /// The COMMIT of an import was sent and not answered: it may have taken effect.
    private struct ImportOutcomeUnknown: Error {
        let underlying: any Error
    }

    /// Checks `record` as the next one of the log and adds its rows.
    private static func add(_ record: StoredRecord, to rows: inout AppendBatch.Rows, following chain: inout LogChain) throws(EventStoreError) {
        let outcome = record.bytes.withUnsafeBytes { raw in Result { () throws(EventStoreError) in
            let view = try RecordView(validating: raw, at: record.position)
            if let problem = chain.follow(view) { throw .corruptedRecord(position: record.position, reason: problem) }
            let index = rows.count
            view.forEachTag { name, _ in
                rows.tagEvent.append(index)
                rows.tagNames.append(String(decoding: name, as: UTF8.self))
            }
            rows.positions.append(Int64(view.position.rawValue))
            rows.streamIDs.append(String(decoding: view.streamIDBytes, as: UTF8.self))
            rows.versions.append(Int64(view.streamVersion))
            rows.eventIDs.append(view.eventID.uuid)
            rows.types.append(view.type)
            rows.records.append(ByteBuffer(bytes: raw))
        } }
        try outcome.get()
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        max(1, duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    /// Walks the whole log in one snapshot (a REPEATABLE READ, READ ONLY
    /// transaction) and checks: every record's checksum and structure,
    /// gapless positions from 1, the hash chain, stream versions and links,
    /// tag links; that each row's `stream_id`, `stream_version`, `event_id`
    /// and `type` are the record's, and each tag's index rows (their count,
    /// sum, lowest and highest position) those of the records carrying it;
    /// that the stream and tag heads are those the log gives, and that the
    /// log head names the last record and its chain hash.
    ///
    /// ```swift
    /// let report = try await store.verifyLog { checked, head in print(checked, "of", head) }
    /// if let problem = report.problem { print(problem) }
    /// ```
    public func verifyLog(progress: (@Sendable (UInt64, UInt64) -> Void)?) async throws(EventStoreError) -> VerificationReport {
        try checkOpen()
        let schema = self.schema
        return try await read(doing: "verifying the log") { connection, logger -> VerificationReport in
            try await connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            let report: VerificationReport
            do {
                var walk = PostgresLogWalk(schema: schema, connection: connection, logger: logger)
                report = try await walk.run(progress: progress)
            } catch {
                await connection.rollBack(after: error, logger: logger)
                throw error
            }
            try await connection.execute("COMMIT", logger: logger)
            return report
        }
    }
}

/// The verification walk over one connection in one snapshot.
private struct PostgresLogWalk {
    let schema: Schema
    let connection: PostgresConnection
    let logger: Logger
    var chain = LogChain()
    /// Per tag, what the records say its index rows must add up to.
    var tagTallies: [String: TagTally] = [:]
    static let pageSize = 2_000

    init(schema: Schema, connection: PostgresConnection, logger: Logger) {
        self.schema = schema
        self.connection = connection
        self.logger = logger
    }

    mutating func run(progress: (@Sendable (UInt64, UInt64) -> Void)?) async throws -> VerificationReport {
        var head: (position: Int64, hash: [UInt8])?
        for try await (position, hash) in try await connection.run(
            PostgresQuery(unsafeSQL: "SELECT position, chain_hash FROM \(schema.logHead) WHERE singleton"), logger: logger
        ).decode((Int64, ByteBuffer).self) {
            head = (position, Array(buffer: hash))
        }
        guard let head else {
            return VerificationReport(eventsChecked: 0, head: .start, problem: VerificationProblem(position: nil, message: "the log head row is missing"))
        }
        let end = UInt64(head.position)
        func report(_ problem: VerificationProblem?) -> VerificationReport {
            VerificationReport(eventsChecked: chain.lastPosition, head: LogPosition(end), problem: problem)
        }
        while true {
            let from = chain.lastPosition + 1
            let (problem, count) = try await page(from: from)
            if let problem { return report(problem) }
            progress?(chain.lastPosition, end)
            if count < Self.pageSize { break }
        }
        if chain.lastPosition != end {
            return report(VerificationProblem(
                position: LogPosition(chain.lastPosition + 1), message: "positions are not gapless: \(chain.lastPosition) records up to head \(end)"))
        }
        guard head.hash == chain.lastChainHash else {
            return report(VerificationProblem(position: LogPosition(end), message: "the log head's chain hash is not the last record's"))
        }
        return report(try await checkIndexes())
    }

    /// Checks one page of records and their tag rows; returns the first problem and how many records were read.
    private mutating func page(from: UInt64) async throws -> (VerificationProblem?, Int) {
        let query = PostgresQuery.bound(
            """
            SELECT position, stream_id, stream_version, event_id, type, record
            FROM \(schema.events) WHERE position >= $1 ORDER BY position LIMIT $2
            """, Int64(from), Int64(Self.pageSize))
        var count = 0
        for try await (position, stream, version, id, type, record) in try await connection.run(query, logger: logger)
            .decode((Int64, String, Int64, UUID, String, ByteBuffer).self)
        {
            count += 1
            let at = LogPosition(UInt64(position))
            func problem(_ message: String) -> VerificationProblem { VerificationProblem(position: at, message: message) }
            let outcome = record.withUnsafeReadableBytes { raw -> VerificationProblem? in
                let view: RecordView
                do throws(EventStoreError) { view = try RecordView(validating: raw, at: at) } catch {
                    if case .corruptedRecord(_, let reason) = error { return problem("corrupted record: \(reason)") }
                    return problem("\(error)")
                }
                if let message = chain.follow(view) { return problem(message) }
                guard String(decoding: view.streamIDBytes, as: UTF8.self) == stream, UInt64(version) == view.streamVersion else {
                    return problem("the row's stream (\(stream) version \(version)) is not the record's")
                }
                guard view.eventID.uuid == id else { return problem("the row's event id \(id) is not the record's (\(view.eventID))") }
                guard view.type == type else { return problem("the row's type \(type) is not the record's (\(view.type))") }
                view.forEachTag { name, _ in tagTallies[String(decoding: name, as: UTF8.self), default: TagTally()].add(UInt64(position)) }
                return nil
            }
            if let outcome { return (outcome, count) }
        }
        return (nil, count)
    }

    /// Compares the stored stream and tag heads, and the tag index, with the log.
    private func checkIndexes() async throws -> VerificationProblem? {
        for (table, key, size, expected, kind) in [
            (schema.streamHeads, "stream_id", "version", chain.streams, "stream"), (schema.tagHeads, "tag", "count", chain.tags, "tag"),
        ] {
            var stored = 0
            let query = PostgresQuery(unsafeSQL: "SELECT \(key), \(size), ladder FROM \(table)")
            for try await (name, count, ladder) in try await connection.run(query, logger: logger).decode((String, Int64, ByteBuffer).self) {
                stored += 1
                if expected[name] != Head(count: count, ladderBytes: ladder) {
                    return VerificationProblem(position: nil, message: "the head of \(kind) \(name) does not match the log")
                }
            }
            if stored != expected.count {
                return VerificationProblem(position: nil, message: "\(stored) \(kind) heads are stored, the log has \(expected.count) \(kind)s")
            }
        }
        // The tag index, one aggregate per tag (its primary key's order), against the records' tags.
        var tags = 0
        // The sum modulo 2^64 (as the records' tally wraps), computed as numeric: a bigint sum
        // of hand-written rows with huge positions would fail the statement instead of the check.
        let query = PostgresQuery(unsafeSQL: """
            SELECT tag, count(*), (sum(position::numeric) % 18446744073709551616)::text, min(position), max(position)
            FROM \(schema.eventTags) GROUP BY tag
            """)
        for try await (tag, count, sumText, low, high) in try await connection.run(query, logger: logger).decode((String, Int64, String, Int64, Int64).self) {
            tags += 1
            // Positions start at 1: a row below it (written by hand, say) is a problem to report, not to trap on.
            guard low >= 1, high >= 1, count >= 1, let sum = UInt64(sumText) else {
                return VerificationProblem(position: nil, message: "the tag index rows of tag \(tag) hold position \(min(low, high)), which no record has")
            }
            let stored = TagTally(count: UInt64(count), sum: sum, low: UInt64(low), high: UInt64(high))
            if tagTallies[tag] != stored {
                return VerificationProblem(position: nil, message: "the tag index rows of tag \(tag) do not match the records carrying it")
            }
        }
        if tags != tagTallies.count {
            return VerificationProblem(position: nil, message: "the tag index holds \(tags) tags, the records carry \(tagTallies.count)")
        }
        return nil
    }
}

/// The count, sum, lowest and highest of the positions carrying one tag.
private struct TagTally: Equatable {
    var count: UInt64 = 0
    var sum: UInt64 = 0
    var low = UInt64.max
    var high: UInt64 = 0

    mutating func add(_ position: UInt64) {
        count += 1
        sum &+= position
        low = min(low, position)
        high = max(high, position)
    }
}
