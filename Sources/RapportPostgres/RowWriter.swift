import Foundation
import Logging
import PostgresNIO
import RapportEventLog

/// Writes encoded records and their tags into the log's tables, inside a
/// transaction that holds the log lock: the one way rows reach
/// `rapport_events`, for appends (`GroupCommit`) and imports alike.
struct RowWriter {
    let schema: Schema
    let logger: Logger

    /// Events per statement: one statement per 5,000 events, so the number of
    /// round trips does not grow with the group.
    static let eventsPerStatement = 5_000
    /// Record bytes per statement, by default: PostgreSQL refuses a bind
    /// message of 1 GB or more, and one request may hold far more (up to a
    /// million events of up to 4 MB each by default), so a statement also ends
    /// before its records pass this size (a single larger record still goes,
    /// alone).
    static let defaultBytesPerStatement = 256 << 20

    /// Record bytes per statement (lowered by tests).
    var bytesPerStatement = Self.defaultBytesPerStatement

    /// Where the statement whose first record is `start` ends (exclusive): after
    /// at most ``eventsPerStatement`` records, and before their sizes pass
    /// `bytesPerStatement` (a single larger record goes alone).
    static func statementEnd(from start: Int, recordSizes sizes: [Int], bytesPerStatement: Int) -> Int {
        var end = start, bytes = 0
        while end < sizes.count && end - start < eventsPerStatement {
            if end > start && bytes + sizes[end] > bytesPerStatement { break }
            bytes += sizes[end]
            end += 1
        }
        return end
    }

    /// What a transaction writes after its rows: the heads it changed, the log
    /// head, and the notification of the appends.
    struct Ending {
        var streams: [(String, Head)]
        var tags: [(String, Head)]
        var lastPosition: UInt64
        var lastChainHash: [UInt8]
    }

    /// Inserts `rows` (and their tag rows), then, when `ending` is given, the
    /// heads, the log head and `pg_notify` in the last statement.
    func insert(_ rows: AppendBatch.Rows, then ending: Ending?, on connection: PostgresConnection) async throws {
        var start = 0
        var tagStart = 0
        let sizes = rows.records.map(\.readableBytes)
        repeat {
            let end = Self.statementEnd(from: start, recordSizes: sizes, bytesPerStatement: bytesPerStatement)
            var tagEnd = tagStart
            while tagEnd < rows.tagEvent.count && rows.tagEvent[tagEnd] < end { tagEnd += 1 }
            var query = QueryBuilder()
            query.append(
                """
                WITH inserted_events AS (
                    INSERT INTO \(schema.events) (position, stream_id, stream_version, event_id, type, record)
                    SELECT * FROM unnest(\(query.bind(Array(rows.positions[start..<end])))::bigint[],
                                         \(query.bind(Array(rows.streamIDs[start..<end])))::text[],
                                         \(query.bind(Array(rows.versions[start..<end])))::bigint[],
                                         \(query.bind(Array(rows.eventIDs[start..<end])))::uuid[],
                                         \(query.bind(Array(rows.types[start..<end])))::text[],
                                         \(query.bind(Array(rows.records[start..<end])))::bytea[])
                ), inserted_tags AS (
                    INSERT INTO \(schema.eventTags) (tag, position)
                    SELECT * FROM unnest(\(query.bind(Array(rows.tagNames[tagStart..<tagEnd])))::text[],
                                         \(query.bind(rows.tagEvent[tagStart..<tagEnd].map { rows.positions[$0] }))::bigint[])
                )
                """)
            if let ending, end == rows.count {
                let streams = ending.streams, tags = ending.tags
                query.append(
                    """
                    , stream_heads AS (
                        INSERT INTO \(schema.streamHeads) (stream_id, version, ladder)
                        SELECT * FROM unnest(\(query.bind(streams.map { $0.0 }))::text[],
                                             \(query.bind(streams.map { Int64($0.1.count) }))::bigint[],
                                             \(query.bind(streams.map { $0.1.ladderBytes() }))::bytea[])
                        ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, ladder = excluded.ladder
                    ), tag_heads AS (
                        INSERT INTO \(schema.tagHeads) (tag, count, ladder)
                        SELECT * FROM unnest(\(query.bind(tags.map { $0.0 }))::text[],
                                             \(query.bind(tags.map { Int64($0.1.count) }))::bigint[],
                                             \(query.bind(tags.map { $0.1.ladderBytes() }))::bytea[])
                        ON CONFLICT (tag) DO UPDATE SET count = excluded.count, ladder = excluded.ladder
                    ), log_head AS (
                        UPDATE \(schema.logHead)
                        SET position = \(query.bind(Int64(ending.lastPosition))), chain_hash = \(query.bind(ByteBuffer(bytes: ending.lastChainHash)))
                        WHERE singleton
                    )
                    SELECT pg_notify(\(query.bind(schema.channel)), \(query.bind(String(ending.lastPosition))))
                    """)
            } else {
                query.append("SELECT 1")
            }
            try await connection.execute(query.query, logger: logger)
            start = end
            tagStart = tagEnd
        } while start < rows.count
    }
}
