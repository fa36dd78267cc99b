public import Foundation

/// Appending events. One of the capabilities a store offers; see ``EventStore``.
public protocol EventAppender: Sendable {
    /// Appends one or several streams' events atomically: all of them are
    /// stored, at contiguous positions, or none is.
    ///
    /// Checks, in the store's transaction: every event id (a request whose ids
    /// are all stored already is answered with the stored positions and writes
    /// nothing), every stream's expected version, and the request's condition.
    ///
    /// ```swift
    /// let result = try await store.append(AppendRequest([
    ///     StreamAppend(streamID: stream, expectedVersion: .noStream, events: [created]),
    /// ]))
    /// ```
    ///
    /// - Throws: ``EventStoreError`` — `invalidEvent`, `eventTooLarge`,
    ///   `wrongExpectedVersion`, `appendConditionFailed`, `duplicateEventID`,
    ///   `storeFull`, `storeClosed`, `storage`. Nothing is written when it throws.
    func append(_ request: AppendRequest) async throws(EventStoreError) -> AppendResult
}

/// Reading one stream. One of the capabilities a store offers; see ``EventStore``.
public protocol EventStreamReader: Sendable {
    /// Reads up to `limit` events of `stream`.
    ///
    /// Forward reads return versions `version`, `version + 1`, …; backward reads
    /// return `version`, `version - 1`, … (pass `UInt64.max` to start at the
    /// newest). A stream with no events reads as empty.
    ///
    /// ```swift
    /// let latest = try await store.readStream(stream, from: .max, direction: .backward, limit: 10)
    /// ```
    func readStream(_ stream: StreamID, from version: UInt64, direction: ReadDirection, limit: Int)
        async throws(EventStoreError) -> [RecordedEvent]

    /// The version of the stream's last event; 0 when it has none.
    func streamVersion(of stream: StreamID) async throws(EventStoreError) -> UInt64
}

/// Reading the whole log. One of the capabilities a store offers; see ``EventStore``.
public protocol EventLogReader: Sendable {
    /// Reads up to `limit` events at `position` or later that pass `filter`, in log order.
    ///
    /// ```swift
    /// let page = try await store.readLog(from: 1, filter: .all, limit: 1_000)
    /// ```
    func readLog(from position: LogPosition, filter: LogFilter, limit: Int)
        async throws(EventStoreError) -> [RecordedEvent]

    /// The position of the last stored event; ``LogPosition/start`` when the store is empty.
    func headPosition() async throws(EventStoreError) -> LogPosition

    /// The event stored with `id`, or nil.
    func event(id: EventID) async throws(EventStoreError) -> RecordedEvent?

    /// The position of the last event recorded at or before `date`;
    /// ``LogPosition/start`` when none was. "What did we know as of `date`"
    /// is the log up to this position.
    ///
    /// Stores keep recorded-at times non-decreasing along the log, so this
    /// is a binary search. The default reads one event per step with
    /// ``readLog(from:filter:limit:)``; a store may search its records'
    /// headers instead (LMDB does, in one read transaction).
    ///
    /// ```swift
    /// let march1 = ISO8601DateFormatter().date(from: "2026-03-01T00:00:00Z")!
    /// let known = try await store.position(asOf: march1)
    /// let history = try await store.readLog(from: 1, filter: .all, limit: Int(known.rawValue))
    /// ```
    func position(asOf date: Date) async throws(EventStoreError) -> LogPosition
}

/// An append-only event log: append, read a stream, read the whole log.
///
/// Every backend (in memory, LMDB, PostgreSQL) conforms and passes the same
/// conformance suite (`RapportTesting`), so code written against this
/// protocol behaves the same on each.
///
/// ```swift
/// func record(_ store: some EventStore, _ event: NewEvent, in stream: StreamID) async throws {
///     let result = try await store.append([event], to: stream, expecting: .any)
///     let back = try await store.readStream(stream, from: 1, direction: .forward, limit: 100)
///     assert(back.last?.position == result.lastPosition)
/// }
/// ```
public protocol EventStore: EventAppender, EventStreamReader, EventLogReader {
    /// Waits for appends already accepted, then closes the store. Later calls
    /// fail with ``EventStoreError/storeClosed``. Closing twice does nothing.
    func close() async
}

extension EventAppender {
    /// Appends `events` to one stream atomically.
    ///
    /// ```swift
    /// try await store.append([opened], to: try StreamID("deal-42"), expecting: .noStream)
    /// ```
    @discardableResult
    public func append(
        _ events: [NewEvent], to stream: StreamID, expecting expectedVersion: ExpectedVersion = .any,
        condition: AppendCondition? = nil
    ) async throws(EventStoreError) -> AppendResult {
        try await append(AppendRequest([StreamAppend(streamID: stream, expectedVersion: expectedVersion, events: events)], condition: condition))
    }
}
