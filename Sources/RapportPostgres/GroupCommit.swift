import Foundation
import Logging
import PostgresNIO
import RapportEventLog
import Synchronization

/// The one writer of a ``PostgresEventStore``: a task that takes every append
/// waiting in its queue, decides and writes them in one PostgreSQL transaction
/// holding the log lock, commits once, and answers each caller with its own
/// result (group commit).
///
/// A request that fails its checks is answered with its error and leaves no
/// trace; the others of its group are unaffected. When the server refuses the
/// transaction itself (a name its encoding cannot hold, a full disk), nothing
/// of it is stored and its requests are committed again one per transaction,
/// so each caller gets the outcome of its own append. A lost connection fails
/// every request of the group (after the retries of ``AppendTransaction``).
final class GroupCommitWriter: Sendable {
    private struct Pending: Sendable {
        let request: AppendRequest
        let size: Int
        let continuation: CheckedContinuation<Result<AppendResult, EventStoreError>, Never>
    }

    private struct State: Sendable {
        var queue: [Pending] = []
        /// The writer task, parked while the queue is empty.
        var idle: CheckedContinuation<Void, Never>?
        var stopping = false
        var finished = false
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let transaction: AppendTransaction
    private let maximumEventsPerCommit: Int
    private let maximumBytesPerCommit: Int

    init(transaction: AppendTransaction, maximumEventsPerCommit: Int, maximumBytesPerCommit: Int) {
        self.transaction = transaction
        self.maximumEventsPerCommit = max(1, maximumEventsPerCommit)
        self.maximumBytesPerCommit = max(1, maximumBytesPerCommit)
    }

    /// Starts the writer task. It keeps the writer alive until ``stop()``.
    func start() {
        Task { await self.run() }
    }

    /// Queues `request` and waits for the commit that holds it.
    func submit(_ request: AppendRequest) async -> Result<AppendResult, EventStoreError> {
        let size = request.streams.reduce(0) { total, part in
            total + part.events.reduce(0) { $0 + RecordFormat.encodedSize(of: $1, in: part.streamID) }
        }
        return await withCheckedContinuation { continuation in
            let wake = state.withLock { state -> (refused: Bool, writer: CheckedContinuation<Void, Never>?) in
                if state.stopping { return (true, nil) }
                state.queue.append(Pending(request: request, size: size, continuation: continuation))
                defer { state.idle = nil }
                return (false, state.idle)
            }
            if wake.refused { continuation.resume(returning: .failure(.storeClosed)) }
            wake.writer?.resume()
        }
    }

    /// Refuses new appends, lets queued ones commit, and waits for the writer to end.
    func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (done, writer) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
                state.stopping = true
                if state.finished { return (true, nil) }
                state.stopWaiters.append(continuation)
                defer { state.idle = nil }
                return (false, state.idle)
            }
            writer?.resume()
            if done { continuation.resume() }
        }
    }

    /// Refuses new appends and lets the writer end once the queue is empty, without waiting.
    func stopWithoutWaiting() {
        let writer = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.stopping = true
            defer { state.idle = nil }
            return state.idle
        }
        writer?.resume()
    }

    private func run() async {
        while let group = await nextGroup() {
            let results = await transaction.commit(group.map(\.request))
            for (pending, result) in zip(group, results) { pending.continuation.resume(returning: result) }
        }
    }

    /// The next requests to commit together, or nil once stopping with an empty queue.
    private func nextGroup() async -> [Pending]? {
        while true {
            var stopWaiters: [CheckedContinuation<Void, Never>] = []
            let taken = state.withLock { state -> [Pending]? in
                guard !state.queue.isEmpty else {
                    if state.stopping {
                        state.finished = true
                        stopWaiters = state.stopWaiters
                        state.stopWaiters = []
                        return []
                    }
                    return nil
                }
                var events = 0, bytes = 0, count = 0
                for pending in state.queue {
                    let more = pending.request.eventCount
                    if count > 0 && (events + more > maximumEventsPerCommit || bytes + pending.size > maximumBytesPerCommit) { break }
                    events += more
                    bytes += pending.size
                    count += 1
                }
                let group = Array(state.queue.prefix(count))
                state.queue.removeFirst(count)
                return group
            }
            for waiter in stopWaiters { waiter.resume() }
            if let taken { return taken.isEmpty ? nil : taken }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if !state.queue.isEmpty || state.stopping { return true }
                    state.idle = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }
}

/// One append transaction: lock the log head, read what the checks need,
/// decide every request with ``AppendChecks``, write the rows, notify, commit.
struct AppendTransaction: Sendable {
    let client: PostgresClient
    let schema: Schema
    let logger: Logger
    /// `idle_in_transaction_session_timeout` for append transactions, in milliseconds.
    let idleTimeoutMilliseconds: Int64
    /// Record bytes per INSERT statement (``RowWriter/bytesPerStatement``).
    var bytesPerStatement = RowWriter.defaultBytesPerStatement
    /// How often a group is tried when PostgreSQL reports a conflict it may not repeat.
    static let attempts = 3

    /// Commits `requests` in one transaction and answers each.
    ///
    /// A transaction that did not commit is tried again (up to ``attempts``
    /// times) when PostgreSQL reports a conflict that may not repeat, or when
    /// the connection was lost before COMMIT: nothing of it is stored then, and
    /// the next attempt runs every check again on a new connection.
    func commit(_ requests: [AppendRequest]) async -> [Result<AppendResult, EventStoreError>] {
        var attempt = 1
        while true {
            let failure: CommitFailure
            do {
                return try await run(requests)
            } catch let error as CommitFailure {
                failure = error
            } catch {
                failure = .beforeCommit(error)
            }
            let mapped: EventStoreError
            switch failure {
            case .beforeCommit(let error) where attempt < Self.attempts
                && (PostgresFailure.isRetryable(error) || PostgresFailure.isConnectionLost(error)):
                logger.notice("append transaction did not commit; trying again", metadata: [
                    "attempt": "\(attempt)", "error": "\(PostgresFailure.storeError(error, doing: "appending", schema: schema.name))",
                ])
                attempt += 1
                continue
            case .beforeCommit(let error) where requests.count > 1 && (Self.isDamagedRecord(error)
                || PostgresFailure.isCausedByContent(error) && !PostgresFailure.isConnectionLost(error)):
                // The server refused the group for what it holds (a name its encoding cannot
                // hold, a constraint, a full disk), or a request's retry met a damaged stored
                // record: nothing of it is stored. Each request is tried alone, so that each
                // caller gets the outcome of its own append. (A timeout would only repeat
                // for each request, one after another: the group fails as a whole.)
                logger.notice("a grouped append transaction failed; committing its requests one by one", metadata: [
                    "requests": "\(requests.count)", "error": "\(PostgresFailure.storeError(error, doing: "appending", schema: schema.name))",
                ])
                var results: [Result<AppendResult, EventStoreError>] = []
                for request in requests { results.append(await commit([request])[0]) }
                return results
            case .beforeCommit(let error):
                mapped = PostgresFailure.storeError(error, doing: "appending", schema: schema.name)
            case .duringCommit(let error):
                if PostgresFailure.isServerAnswer(error) && !PostgresFailure.isConnectionLost(error) {
                    mapped = PostgresFailure.storeError(error, doing: "committing appends", schema: schema.name)
                } else {
                    mapped = .storage("the connection to PostgreSQL failed during COMMIT, so the append may or may not be stored; retry it with the same event ids, which is safe: a stored append is answered with its stored positions")
                }
            }
            logger.error("append transaction failed", metadata: ["error": "\(mapped)", "attempts": "\(attempt)"])
            return requests.map { _ in .failure(mapped) }
        }
    }

    /// Whether `error` is a stored record that failed its checks (read for a retried event id).
    private static func isDamagedRecord(_ error: any Error) -> Bool {
        if case EventStoreError.corruptedRecord = error { true } else { false }
    }

    enum CommitFailure: Error {
        /// The transaction did not commit (rolled back, or the connection dropped before COMMIT).
        case beforeCommit(any Error)
        /// COMMIT was sent and failed: unless the server answered, the outcome is unknown.
        case duringCommit(any Error)
    }

    private func run(_ requests: [AppendRequest]) async throws -> [Result<AppendResult, EventStoreError>] {
        let lease: Result<[Result<AppendResult, EventStoreError>], CommitFailure>
        do {
            lease = try await client.withOpenConnection { connection in
                do {
                    try await connection.execute("BEGIN ISOLATION LEVEL READ COMMITTED", logger: logger)
                } catch {
                    return .failure(.beforeCommit(error))
                }
                let results: [Result<AppendResult, EventStoreError>]
                do {
                    results = try await decideAndWrite(requests, on: connection)
                } catch {
                    await connection.rollBack(after: error, logger: logger)
                    return .failure(.beforeCommit(error))
                }
                do {
                    try await connection.execute("COMMIT", logger: logger)
                } catch let error as ClosedConnection where !error.sent {
                    // Not sent: the transaction ended with its connection, uncommitted. (Sent and
                    // unanswered, it may have committed: that is a failure during COMMIT.)
                    return .failure(.beforeCommit(error))
                } catch {
                    return .failure(.duringCommit(error))
                }
                return .success(results)
            }
        } catch {
            // Leasing a connection failed: nothing was sent.
            throw CommitFailure.beforeCommit(error)
        }
        return try lease.get()
    }

    /// The body of the transaction. Takes the log lock first: from then on no
    /// other writer, in this process or another, can change what is read.
    private func decideAndWrite(
        _ requests: [AppendRequest], on connection: PostgresConnection
    ) async throws -> [Result<AppendResult, EventStoreError>] {
        // 1. The lock. In READ COMMITTED, a FOR UPDATE that waited returns the
        //    row as the previous holder committed it, and every later statement
        //    of this transaction sees that holder's rows. The statement that
        //    waited does not: its other reads use the snapshot taken before the
        //    wait, so nothing else is read in it.
        let lock = PostgresQuery.bound(
            """
            SELECT h.position, h.chain_hash, set_config('idle_in_transaction_session_timeout', $1, true)
            FROM \(schema.logHead) h WHERE h.singleton FOR UPDATE OF h
            """, "\(idleTimeoutMilliseconds)")
        var locked: (position: Int64, hash: ByteBuffer)?
        for try await (position, hash, _) in try await connection.run(lock, logger: logger).decode((Int64, ByteBuffer, String).self) {
            locked = (position, hash)
        }
        guard let locked else {
            throw EventStoreError.incompatibleStore("the log head row of schema \"\(schema.name)\" is missing; the tables were changed by hand")
        }
        //    Recorded-at, read under the lock in a statement of its own (a new
        //    snapshot, which sees the previous holder's rows): the server's
        //    clock, but never earlier than the last record's (its header's
        //    little-endian recorded-at), since a log imported from elsewhere may
        //    end later than this server's clock.
        let clock = PostgresQuery.bound(
            """
            SELECT floor(extract(epoch FROM clock_timestamp()) * 1000000)::bigint,
                   (SELECT substring(record FROM \(RecordFormat.Offset.recordedAt + 1) FOR 8) FROM \(schema.events) WHERE position = $1)
            """, locked.position)
        var head: (position: Int64, hash: ByteBuffer, now: Int64)?
        for try await (now, last) in try await connection.run(clock, logger: logger).decode((Int64, ByteBuffer?).self) {
            var lastRecordedAt = last
            let previous = lastRecordedAt?.readInteger(endianness: .little, as: Int64.self) ?? .min
            head = (locked.position, locked.hash, max(now, previous))
        }
        guard let head else {
            throw EventStoreError.storage("reading the clock under the log lock of schema \"\(schema.name)\" returned no row")
        }

        // 2. What the checks need: stored ids, stream heads, tag heads.
        let needs = AppendBatch.Needs(requests)
        var stored: [EventID: StoredEventReference] = [:]
        let idQuery = PostgresQuery.bound(
            "SELECT event_id, position, stream_id, stream_version, record FROM \(schema.events) WHERE event_id = ANY($1)", needs.ids)
        for try await (id, position, stream, version, record) in try await connection.run(idQuery, logger: logger)
            .decode((UUID, Int64, String, Int64, ByteBuffer).self)
        {
            // The stored content too: the same id with another type or payload is refused, not taken for a retry.
            let event = try materializeRecord(record, position: position)
            stored[EventID(id)] = StoredEventReference(
                position: LogPosition(UInt64(position)), streamID: try StreamID(stream), streamVersion: UInt64(version),
                type: event.type, payload: event.payload)
        }
        var streamHeads: [StreamID: Head] = [:], tagHeads: [Tag: Head] = [:]
        let headQuery = PostgresQuery.bound(
            """
            SELECT false, stream_id, version, ladder FROM \(schema.streamHeads) WHERE stream_id = ANY($1)
            UNION ALL
            SELECT true, tag, count, ladder FROM \(schema.tagHeads) WHERE tag = ANY($2)
            """, needs.streams, needs.tags)
        for try await (isTag, name, count, ladder) in try await connection.run(headQuery, logger: logger)
            .decode((Bool, String, Int64, ByteBuffer).self)
        {
            let value = Head(count: count, ladderBytes: ladder)
            if isTag { tagHeads[try Tag(name)] = value } else { streamHeads[try StreamID(name)] = value }
        }

        // 3. The rules, once for every backend, in memory under the lock.
        var batch = AppendBatch(
            lastPosition: UInt64(head.position), lastChainHash: Array(buffer: head.hash), recordedAt: head.now,
            storedIDs: stored, streamHeads: streamHeads, tagHeads: tagHeads)
        let results = requests.map { batch.apply($0) }
        guard !batch.rows.isEmpty else { return results }

        // 4. The rows, then the heads, the log head and the notification.
        try await write(batch, on: connection)
        return results
    }

    private func write(_ batch: AppendBatch, on connection: PostgresConnection) async throws {
        let streams = batch.changedStreams.map { ($0.0.rawValue, $0.1) }, tags = batch.changedTags.map { ($0.0.rawValue, $0.1) }
        var writer = RowWriter(schema: schema, logger: logger)
        writer.bytesPerStatement = bytesPerStatement
        try await writer.insert(
            batch.rows, then: .init(streams: streams, tags: tags, lastPosition: batch.lastPosition, lastChainHash: batch.lastChainHash),
            on: connection)
    }
}
