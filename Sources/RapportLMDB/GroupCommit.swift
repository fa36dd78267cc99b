import CLMDB
import Foundation
import Logging
import RapportEventLog

/// The single writer of a store: a dedicated thread that takes every append
/// waiting in its queue, applies them one after the other in one write
/// transaction, commits once, and answers each caller with its own result.
///
/// A request that fails its checks (expected version, condition, duplicate id,
/// a damaged head it would change) is answered with its error and leaves no
/// trace; the others in the same transaction are unaffected. When the
/// transaction itself fails (disk or map full, I/O), nothing of it is stored
/// and its requests are committed again one per transaction, so that each
/// caller gets its own outcome.
final class GroupCommitWriter: @unchecked Sendable {
    private struct Pending {
        let request: AppendRequest
        let continuation: CheckedContinuation<Result<AppendResult, EventStoreError>, Never>
    }

    /// Work other than appends (read-model commits), run alone in its own transaction.
    typealias Job = @Sendable (OpaquePointer) throws -> Void

    private struct PendingJob {
        let job: Job
        let continuation: CheckedContinuation<Result<Void, EventStoreError>, Never>
    }

    private let environment: Environment
    private let maximumEventsPerCommit: Int
    private let maximumIndexLag: UInt64
    private let logger: Logger
    private let clock: StoreClock
    private let condition = WriterCondition()
    // Guarded by `condition`.
    private var queue: [Pending] = []
    private var jobs: [PendingJob] = []
    private var stopping = false
    /// Every caller of ``stop()`` waiting for the thread to end.
    private var stopped: [CheckedContinuation<Void, Never>] = []
    private var running = true
    /// Transactions since the writer last freed dead processes' reader slots
    /// (writer thread only); see ``Environment/clearStaleReaders(when:)``.
    private var transactionsSinceReaderCheck = 0
    /// How many transactions pass between two such checks.
    static let readerCheckInterval = 64
    /// How many appends the last commit held (writer thread only).
    private var lastGroupSize = 0
    /// How long the last commit took, in nanoseconds (writer thread only).
    private var lastCommitNanoseconds: UInt64 = 0
    /// The longest the writer waits for a group to fill
    /// (``LMDBEventStore/Configuration/maximumGroupCommitWait``).
    private let maximumGatherNanoseconds: UInt64

    init(
        environment: Environment, maximumEventsPerCommit: Int, maximumIndexLag: Int, maximumGroupCommitWait: Duration,
        logger: Logger, clock: StoreClock
    ) {
        let wait = maximumGroupCommitWait.components
        self.maximumGatherNanoseconds = UInt64(Swift.max(wait.seconds, 0)) * 1_000_000_000
            + UInt64(Swift.max(wait.attoseconds, 0) / 1_000_000_000)
        self.environment = environment
        self.clock = clock
        self.maximumEventsPerCommit = maximumEventsPerCommit
        self.maximumIndexLag = UInt64(Swift.max(maximumIndexLag, 0))
        self.logger = logger
        let thread = Thread { [self] in self.run() }
        thread.name = "rapport.lmdb.writer"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Queues `request` and waits for the commit that holds it.
    func submit(_ request: AppendRequest) async -> Result<AppendResult, EventStoreError> {
        await withCheckedContinuation { continuation in
            enqueue(or: { continuation.resume(returning: .failure(.storeClosed)) }) {
                queue.append(Pending(request: request, continuation: continuation))
            }
        }
    }

    /// Queues `job` to run in a write transaction of its own on the writer thread.
    func submit(job: @escaping Job) async -> Result<Void, EventStoreError> {
        await withCheckedContinuation { continuation in
            enqueue(or: { continuation.resume(returning: .failure(.storeClosed)) }) {
                jobs.append(PendingJob(job: job, continuation: continuation))
            }
        }
    }

    /// Adds work under the lock and wakes the writer, or refuses it once stopping.
    private func enqueue(or refuse: () -> Void, _ add: () -> Void) {
        condition.lock()
        if stopping {
            condition.unlock()
            refuse()
            return
        }
        add()
        condition.signal()
        condition.unlock()
    }

    /// How many appends are queued, not yet taken into a commit (for tests).
    var queuedAppends: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count
    }

    /// How many jobs (read-model commits and the like) are queued (for tests).
    var queuedJobs: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count
    }

    /// Refuses new appends, lets queued ones commit, and waits for the thread to end.
    /// Any number of callers may wait at once; each returns when the thread
    /// ends, and a call after it ended returns at once.
    func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            stopping = true
            if running {
                stopped.append(continuation)
                condition.signal()
                condition.unlock()
            } else {
                condition.unlock()
                continuation.resume()
            }
        }
    }

    private func run() {
        // Jobs and append groups take turns while both wait: read-model commits
        // arriving back to back (several projection runners) never hold appends off.
        var jobRanLast = false
        while true {
            condition.lock()
            while queue.isEmpty && jobs.isEmpty && !stopping { condition.wait() }
            if !jobs.isEmpty && (queue.isEmpty || !jobRanLast) {
                jobRanLast = true
                let pending = jobs.removeFirst()
                condition.unlock()
                let result = run(pending.job)
                checkReadersPeriodically()
                pending.continuation.resume(returning: result)
                continue
            }
            if queue.isEmpty {
                running = false
                let waiters = stopped
                stopped.removeAll()
                condition.unlock()
                for waiter in waiters { waiter.resume() }
                return
            }
            jobRanLast = false
            gatherFollowers()
            var taken = 0
            var events = 0
            while taken < queue.count && (taken == 0 || events + queue[taken].request.eventCount <= maximumEventsPerCommit) {
                events += queue[taken].request.eventCount
                taken += 1
            }
            // The group leaves the queue now: under a lasting backlog the queue
            // never empties, and entries kept would hold their requests
            // (payloads and all) for as long as the backlog lasts.
            let group = Array(queue[..<taken])
            queue.removeSubrange(..<taken)
            condition.unlock()

            lastGroupSize = group.count
            let start = WriterCondition.now()
            let results = commit(group.map(\.request))
            lastCommitNanoseconds = WriterCondition.now() - start
            checkReadersPeriodically()
            for (pending, result) in zip(group, results) { pending.continuation.resume(returning: result) }
        }
    }

    /// Lets a group fill before it is taken, the lock held: when the last
    /// commit held several appends and fewer are queued now, waits until as
    /// many are, or for a quarter of the last commit's time (at most
    /// ``LMDBEventStore/Configuration/maximumGroupCommitWait``), whichever comes first.
    ///
    /// Concurrent callers come back at different moments: each must be
    /// resumed and prepare its next append, and the first to arrive would
    /// otherwise be committed almost alone while the others queue behind it.
    /// Waiting a fraction of a commit for them saves whole commits. A lone
    /// caller (a last group of one) never waits, and the wait is bounded by
    /// the commit time it can save.
    private func gatherFollowers() {
        guard maximumGatherNanoseconds > 0, lastGroupSize > 1, queue.count < lastGroupSize, jobs.isEmpty, !stopping
        else { return }
        let deadline = WriterCondition.now() + Swift.min(lastCommitNanoseconds / 4, maximumGatherNanoseconds)
        while queue.count < lastGroupSize && jobs.isEmpty && !stopping && condition.wait(until: deadline) {}
    }

    /// Every ``readerCheckInterval`` transactions, frees the reader slots of
    /// dead processes, which would otherwise keep old pages from reuse.
    private func checkReadersPeriodically() {
        transactionsSinceReaderCheck += 1
        guard transactionsSinceReaderCheck >= Self.readerCheckInterval else { return }
        transactionsSinceReaderCheck = 0
        environment.clearStaleReaders(when: "the writer's periodic check")
    }

    /// Commits `requests` in one transaction, growing the map and retrying when it is full.
    ///
    /// When the transaction itself fails (the map cannot grow enough for all
    /// of them, an I/O error, a damaged record met while writing), nothing of
    /// it is stored, and a group of several requests is tried again one
    /// request per transaction: each caller gets the outcome of its own
    /// append, not that of another it happened to share a commit with.
    private func commit(_ requests: [AppendRequest]) -> [Result<AppendResult, EventStoreError>] {
        func failed(_ error: EventStoreError) -> [Result<AppendResult, EventStoreError>] {
            guard requests.count > 1 else { return [.failure(error)] }
            logger.notice(
                "a grouped append transaction failed; committing its requests one by one",
                metadata: ["requests": "\(requests.count)", "error": "\(error)"])
            return requests.map { commit([$0])[0] }
        }
        while true {
            do throws(TransactionFailure) {
                // The gate is released before growing or adopting the map below.
                return try environment.holdingGateForWriting { () throws(TransactionFailure) in try attempt(requests) }
            } catch {
                switch error {
                case .mapFull(let needed):
                    do throws(EventStoreError) { try environment.growMap(needed: needed) } catch {
                        return failed(error)
                    }
                case .mapResized:
                    do throws(EventStoreError) { try environment.adoptResizedMap() } catch {
                        return failed(error)
                    }
                case .failed(let failure):
                    logger.error("append transaction failed", metadata: ["error": "\(failure)"])
                    return failed(failure)
                }
            }
        }
    }

    /// Runs a job in its own transaction, growing the map when it is full.
    private func run(_ job: Job) -> Result<Void, EventStoreError> {
        while true {
            // The transaction runs holding the gate; growing or adopting the map waits until it is released.
            switch environment.holdingGateForWriting({ attempt(job) }) {
            case .done(let result):
                return result
            case .mapFull:
                do throws(EventStoreError) { try environment.growMap(needed: 1 << 20) } catch { return .failure(error) }
            case .mapResized:
                do throws(EventStoreError) { try environment.adoptResizedMap() } catch { return .failure(error) }
            }
        }
    }

    private enum JobOutcome {
        case done(Result<Void, EventStoreError>)
        case mapFull
        case mapResized
    }

    /// One attempt at a job, in one write transaction.
    private func attempt(_ job: Job) -> JobOutcome {
        guard !environment.isClosed else { return .done(.failure(.storeClosed)) }
        var txn: OpaquePointer?
        let begin = mdb_txn_begin(environment.env, nil, 0, &txn)
        if begin == MDB_MAP_RESIZED { return .mapResized }
        guard begin == MDB_SUCCESS, let txn else {
            return .done(.failure(LMDBError(code: begin, operation: "beginning a write transaction").storeError))
        }
        do {
            try job(txn)
        } catch let error as LMDBError {
            mdb_txn_abort(txn)
            if error.isMapFull { return .mapFull }
            return .done(.failure(error.storeError))
        } catch {
            mdb_txn_abort(txn)
            return .done(.failure((error as? EventStoreError) ?? .storage("\(error)")))
        }
        let code = mdb_txn_commit(txn)
        if code == MDB_MAP_FULL { return .mapFull }
        guard code == MDB_SUCCESS else {
            let error = LMDBError(code: code, operation: "committing")
            return .done(.failure(environment.diagnoseFullDevice(needed: 1 << 20) ?? error.storeError))
        }
        return .done(.success(()))
    }

    enum TransactionFailure: Error {
        case mapFull(needed: Int)
        case mapResized
        case failed(EventStoreError)
    }

    private func attempt(_ requests: [AppendRequest]) throws(TransactionFailure) -> [Result<AppendResult, EventStoreError>] {
        guard !environment.isClosed else { throw .failed(.storeClosed) }
        var txn: OpaquePointer?
        let begin = mdb_txn_begin(environment.env, nil, 0, &txn)
        if begin == MDB_MAP_RESIZED { throw .mapResized }
        guard begin == MDB_SUCCESS, let txn else {
            throw .failed(LMDBError(code: begin, operation: "beginning the append transaction").storeError)
        }
        var committed = false
        defer { if !committed { mdb_txn_abort(txn) } }
        let needed = requests.reduce(0) { total, request in
            total + request.streams.reduce(0) { $0 + $1.events.reduce(0) { $0 + $1.payload.count + 512 } }
        }
        let streamCount = requests.reduce(0) { $0 + $1.streams.count }
        do {
            var batch = try AppendBatch(txn: txn, tables: environment.tables, now: clock.nowMicros(), expectedStreams: streamCount)
            var results: [Result<AppendResult, EventStoreError>] = []
            results.reserveCapacity(requests.count)
            for request in requests {
                let result = try batch.apply(request)
                // Damage LMDB itself met (a damaged page) fails the whole transaction: every later
                // call in it answers MDB_BAD_TXN. The request's own error is what its caller gets
                // (a group is tried again one request at a time).
                if case .failure(let failure) = result, batch.reader.transactionFailed { throw failure }
                results.append(result)
            }
            try batch.finish()
            // The type and actor indexes follow at a bounded distance (IndexWatermark).
            let indexed = try IndexWatermark.read(batch.reader)
            guard indexed <= batch.lastPosition else {
                throw EventStoreError.storage(
                    "the index watermark (\(indexed)) is past the log (\(batch.lastPosition)); rebuildIndexes() restores it")
            }
            if batch.lastPosition - indexed > maximumIndexLag {
                try IndexWatermark.catchUp(txn: txn, tables: environment.tables, indexedThrough: indexed)
            }
            committed = true  // mdb_txn_commit frees the transaction, whatever it returns
            try check(mdb_txn_commit(txn), "committing appends")
            return results
        } catch let error as LMDBError {
            if error.isMapFull { throw .mapFull(needed: needed) }
            if [EIO, ENOSPC, EFBIG, EDQUOT].contains(error.code), let full = environment.diagnoseFullDevice(needed: needed) {
                throw .failed(full)
            }
            throw .failed(error.storeError)
        } catch {
            throw .failed((error as? EventStoreError) ?? .storage("\(error)"))
        }
    }
}

/// The appends of one write transaction: checks each request against the
/// store's state (including earlier requests of the same transaction), then
/// writes its records, event ids and heads.
///
/// Each stream met in the transaction gets a slot (its head, and whether it
/// changed); a stream id is hashed once per request to find its slot, and the
/// changed heads are written at the end by walking the slots.
struct AppendBatch: AppendStateReader {
    let txn: OpaquePointer
    let tables: Tables
    let reader: TxnReader
    /// A cursor on `event-ids` for the whole transaction: new ids (UUIDv7)
    /// mostly sort after every stored one, and LMDB answers a lookup or an
    /// insert beyond the last key of the cursor's page without a descent
    /// from the root. Closed by ``finish()``, or with an aborted transaction.
    private let eventIDCursor: OpaquePointer
    var lastPosition: UInt64
    var lastChainHash: [UInt8]
    /// The heads of the streams read or written in this transaction, in the order first met.
    private var streams: [HeadSlot<StreamID>] = []
    private var streamSlots: [StreamID: Int] = [:]
    /// The slots ``currentVersion(of:)`` looked up while the current request
    /// was checked, in order, so that writing it needs no second lookup.
    private var checkedSlots: [Int] = []
    private var tags: [HeadSlot<Tag>] = []
    private var tagSlots: [Tag: Int] = [:]
    /// The store clock for this transaction, never earlier than the last
    /// record's: recorded-at times increase with positions.
    let recordedAt: Int64

    /// A head read or changed in this transaction.
    private struct HeadSlot<Key> {
        let key: Key
        var head: Head
        var changed = false
    }

    init(txn: OpaquePointer, tables: Tables, now: Int64, expectedStreams: Int) throws {
        self.txn = txn
        self.tables = tables
        self.reader = TxnReader(txn: txn, tables: tables)
        let last = try reader.last()
        lastPosition = last.position
        if let record = last.record {
            let view = try RecordView(validating: record, at: LogPosition(last.position))
            lastChainHash = Array(view.chainHashBytes)
            recordedAt = Swift.max(now, view.recordedAtMicroseconds)
        } else {
            lastChainHash = RecordFormat.genesisChainHash
            recordedAt = now
        }
        streams.reserveCapacity(expectedStreams)
        streamSlots.reserveCapacity(expectedStreams)
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, tables.eventIDs, &cursor), "opening an event-id cursor")
        eventIDCursor = cursor!
    }

    mutating func currentVersion(of stream: StreamID) throws(EventStoreError) -> UInt64 {
        let slot = try streamSlot(stream)
        checkedSlots.append(slot)
        return streams[slot].head.count
    }

    mutating func lastPosition(taggedWith tag: Tag) throws(EventStoreError) -> UInt64 {
        tags[try tagSlot(tag)].head.lastPosition
    }

    mutating func storedEvent(id: EventID) throws(EventStoreError) -> StoredEventReference? {
        guard let position = try storedPosition(of: id) else { return nil }
        let view = try reader.requireView(ofEvent: id, at: position)
        return StoredEventReference(
            position: view.position, streamID: StreamID(unchecked: String(decoding: view.streamIDBytes, as: UTF8.self)),
            streamVersion: view.streamVersion, type: view.type, payload: Data(view.payload))
    }

    private func storedPosition(of id: EventID) throws(EventStoreError) -> UInt64? {
        var uuid = id.uuid.uuid
        do throws(LMDBError) {
            return try withTypedBytes(of: &uuid) { (key) throws(LMDBError) -> UInt64? in
                var k = MDB_val(mv_size: 16, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
                var v = MDB_val()
                let code = mdb_cursor_get(eventIDCursor, &k, &v, MDB_SET)
                if code == MDB_NOTFOUND { return nil }
                try check(code, "looking up event id \(id)")
                guard v.mv_size == 8 else {
                    throw LMDBError(code: MDB_CORRUPTED, operation: "an event-id entry of \(v.mv_size) bytes")
                }
                return UInt64(bigEndian: v.mv_data.loadUnaligned(as: UInt64.self))
            }
        } catch { throw error.storeError }
    }

    private mutating func streamSlot(_ stream: StreamID) throws(EventStoreError) -> Int {
        if let slot = streamSlots[stream] { return slot }
        let slot = streams.count
        streams.append(HeadSlot(key: stream, head: try reader.streamHead(stream) ?? Head()))
        streamSlots[stream] = slot
        return slot
    }

    private mutating func tagSlot(_ tag: Tag) throws(EventStoreError) -> Int {
        if let slot = tagSlots[tag] { return slot }
        let slot = tags.count
        tags.append(HeadSlot(key: tag, head: try reader.tagHead(tag) ?? Head()))
        tagSlots[tag] = slot
        return slot
    }

    /// Checks and writes one request. A rejected request is returned as a
    /// failure and has written nothing; LMDB failures are thrown and fail the transaction.
    mutating func apply(_ request: AppendRequest) throws -> Result<AppendResult, EventStoreError> {
        checkedSlots.removeAll(keepingCapacity: true)
        let decision: AppendDecision
        do { decision = try AppendChecks.decide(request, state: &self) } catch { return .failure(error) }
        switch decision {
        case .alreadyStored(let result):
            return .success(result)
        case .write:
            // Every head the request will change is read now, while a damaged
            // one fails this request alone rather than the whole transaction.
            // The checks read every stream's head already (currentVersion,
            // `checkedSlots`); the tags' heads are read here.
            do throws(EventStoreError) {
                for part in request.streams {
                    for event in part.events { for tag in event.tags { _ = try tagSlot(tag) } }
                }
            } catch {
                return .failure(error)
            }
            let first = lastPosition + 1
            var versions: [StreamID: UInt64] = [:]
            versions.reserveCapacity(request.streams.count)
            let slotsChecked = checkedSlots.count == request.streams.count
            for (index, part) in request.streams.enumerated() {
                var slot = slotsChecked ? checkedSlots[index] : -1
                if slot < 0 || streams[slot].key != part.streamID { slot = try streamSlot(part.streamID) }
                guard !part.events.isEmpty else {  // a version check only
                    versions[part.streamID] = streams[slot].head.count
                    continue
                }
                // Moved out of its slot while it changes, so its ladder is never copied.
                var head = streams[slot].head
                streams[slot].head = Head()
                defer { streams[slot].head = head }
                for event in part.events {
                    try write(event, in: part.streamID, head: &head)
                }
                streams[slot].changed = true
                versions[part.streamID] = head.count
            }
            return .success(AppendResult(
                positions: LogPosition(first)...LogPosition(lastPosition), streamVersions: versions, wasAlreadyStored: false))
        }
    }

    private mutating func write(_ event: NewEvent, in stream: StreamID, head: inout Head) throws {
        let position = lastPosition + 1
        let links = head.append(position: position)
        var tagLinks: [RecordFormat.TagLink] = []
        if !event.tags.isEmpty {
            tagLinks.reserveCapacity(event.tags.count)
            for tag in event.tags {
                let slot = try tagSlot(tag)
                let link = tags[slot].head.append(position: position)
                tagLinks.append(RecordFormat.TagLink(previous: link.previous, skip: link.skip))
                tags[slot].changed = true
            }
        }
        let size = RecordFormat.encodedSize(of: event, in: stream)
        var key = position.bigEndian
        let buffer = try Swift.withUnsafeMutableBytes(of: &key) { keyBytes in
            var k = MDB_val(mv_size: 8, mv_data: keyBytes.baseAddress)
            var v = MDB_val(mv_size: size, mv_data: nil)
            try check(mdb_put(txn, tables.events, &k, &v, UInt32(MDB_APPEND | MDB_RESERVE)), "appending event \(position)")
            return UnsafeMutableRawBufferPointer(start: v.mv_data, count: size)
        }
        let assigned = RecordFormat.Assigned(
            position: position, streamVersion: head.count, streamPrevious: links.previous, streamSkip: links.skip,
            recordedAt: recordedAt)
        lastChainHash.withUnsafeBytes { previous in
            RecordFormat.write(event, in: stream, assigned: assigned, tagLinks: tagLinks, previousChainHash: previous, into: buffer)
        }
        lastChainHash.withUnsafeMutableBytes {
            $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[RecordFormat.Offset.chainHash..<RecordFormat.headerSize]))
        }
        var uuid = event.id.uuid.uuid
        var stored = position.bigEndian
        try withUnsafeMutableBytes(of: &uuid) { id in
            try withUnsafeMutableBytes(of: &stored) { value in
                var ik = MDB_val(mv_size: 16, mv_data: id.baseAddress)
                var iv = MDB_val(mv_size: 8, mv_data: value.baseAddress)
                try check(mdb_cursor_put(eventIDCursor, &ik, &iv, UInt32(MDB_NOOVERWRITE)), "indexing event id \(event.id)")
            }
        }
        lastPosition = position
    }

    /// Writes every head changed in this transaction and closes the batch's
    /// cursor: the last step before the commit.
    mutating func finish() throws {
        mdb_cursor_close(eventIDCursor)
        for slot in streams where slot.changed { try put(head: slot.head, key: slot.key.rawValue, in: tables.streamHeads) }
        for slot in tags where slot.changed { try put(head: slot.head, key: slot.key.rawValue, in: tables.tagHeads) }
    }

    private func put(head: Head, key: String, in dbi: MDB_dbi) throws {
        var key = key
        let size = StoredHead.encodedCount(of: head)
        try key.withUTF8Bytes { (utf8) throws(LMDBError) in
            var k = MDB_val(mv_size: utf8.count, mv_data: UnsafeMutableRawPointer(mutating: utf8.baseAddress))
            var v = MDB_val(mv_size: size, mv_data: nil)
            try check(mdb_put(txn, dbi, &k, &v, UInt32(MDB_RESERVE)), "writing a head")
            StoredHead.encode(head, into: UnsafeMutableRawBufferPointer(start: v.mv_data, count: size))
        }
    }
}
