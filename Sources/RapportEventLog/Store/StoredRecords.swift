/// One record exactly as a store keeps it (the format of
/// `docs/storage-format.md`): header, stream id, type, metadata, tags and
/// payload, with its checksum, its links and its chain hash.
///
/// ```swift
/// let records = try await source.storedRecords(from: 1, limit: 1_000)
/// print(records[0].position, records[0].bytes.count)
/// ```
public struct StoredRecord: Sendable, Hashable {
    /// The record's position in its log.
    public var position: LogPosition
    /// The stored bytes.
    public var bytes: [UInt8]

    public init(position: LogPosition, bytes: [UInt8]) {
        self.position = position
        self.bytes = bytes
    }
}

/// The outcome of a store's verification walk (`verifyLog`).
public struct VerificationReport: Sendable, Hashable, CustomStringConvertible {
    /// How many records were checked.
    public var eventsChecked: UInt64
    /// The head position the check ran up to.
    public var head: LogPosition
    /// The first problem found, or nil when the store is sound.
    public var problem: VerificationProblem?

    /// True when no problem was found.
    public var isSound: Bool { problem == nil }

    public init(eventsChecked: UInt64, head: LogPosition, problem: VerificationProblem?) {
        self.eventsChecked = eventsChecked
        self.head = head
        self.problem = problem
    }

    public var description: String {
        if let problem { return "Checked \(eventsChecked) of \(head) events: \(problem)" }
        return "Checked \(eventsChecked) events up to position \(head): sound."
    }
}

/// A problem found by a verification walk.
public struct VerificationProblem: Sendable, Hashable, CustomStringConvertible {
    /// The position of the record concerned, when the problem is in a record.
    public var position: LogPosition?
    /// What is wrong.
    public var message: String

    public init(position: LogPosition?, message: String) {
        self.position = position
        self.message = message
    }

    public var description: String {
        if let position { return "position \(position): \(message)" }
        return message
    }
}

/// A store whose log can be read and written as stored records, byte for
/// byte, and checked as a whole: what moving a log between backends needs
/// (``LogCopy``, `rapport copy`, `rapport verify`). The LMDB and PostgreSQL
/// stores provide it; the records, and so the chain hashes, are the same on both.
///
/// ```swift
/// let head = try await LogCopy.copy(from: lmdbStore, to: postgresStore)
/// let report = try await postgresStore.verifyLog(progress: nil)
/// ```
public protocol StoredRecordLog: EventStore {
    /// Up to `limit` stored records from `position` on, in position order.
    func storedRecords(from position: LogPosition, limit: Int) async throws(EventStoreError) -> [StoredRecord]

    /// Stores the records `next` hands out, batch after batch, until it hands
    /// out an empty batch: records copied verbatim from another log, with their
    /// positions, ids, recorded-at times and chain hashes. The log must be empty
    /// when the import starts, and the records must form a sound log from
    /// position 1: each one's checksum, structure, position, chain hash, stream
    /// version and links are checked before it is written (as ``verifyLog(progress:)``
    /// would), and the import stops at the first that fails.
    ///
    /// Whether a failed import leaves anything behind depends on the backend;
    /// each documents it (PostgreSQL: one transaction, nothing is left; LMDB:
    /// the batches before the failure stay).
    ///
    /// - Returns: the new head position.
    /// - Throws: ``EventStoreError/invalidEvent(_:)`` when the log is not empty,
    ///   ``EventStoreError/corruptedRecord(position:reason:)`` for a record that
    ///   does not continue the log, or what `next` or the storage threw.
    func importStoredRecords(_ next: () async throws(EventStoreError) -> [StoredRecord]) async throws(EventStoreError) -> LogPosition

    /// Walks the whole log and checks everything the store promises: each
    /// record's checksum and structure, gapless positions from 1, the hash
    /// chain, every stream and tag link and head, and the indexes against the
    /// log. Reports the first problem; throws only when the log cannot be read.
    ///
    /// - Parameter progress: called now and then with (records checked, head).
    func verifyLog(progress: (@Sendable (UInt64, UInt64) -> Void)?) async throws(EventStoreError) -> VerificationReport
}

/// Why ``LogCopy/copy(from:to:batchSize:progress:)`` failed.
public enum LogCopyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The target log already holds events; a copy only goes into an empty log.
    case targetNotEmpty(head: LogPosition)
    /// Reading the source failed.
    case source(EventStoreError)
    /// Writing the target failed (including a source record that does not continue the log).
    case target(EventStoreError)

    public var description: String {
        switch self {
        case .targetNotEmpty(let head):
            return "the target log is not empty (it holds events up to position \(head)); copy into an empty store"
        case .source(let error): return "reading the source failed: \(error)"
        case .target(let error): return "writing the target failed: \(error)"
        }
    }
}

/// Copies a whole log from one store to another, verbatim.
public enum LogCopy {
    /// Copies every record of `source` up to its head (as it is when the copy
    /// starts) into the empty log of `target`, in batches of `batchSize`
    /// records (a size below 1 is taken as 1), so memory does not grow with the log. Positions, event ids,
    /// recorded-at times and chain hashes are unchanged: the records are
    /// copied, not appended anew. See ``StoredRecordLog/importStoredRecords(_:)``
    /// for what a failure leaves behind.
    ///
    /// ```swift
    /// let head = try await LogCopy.copy(from: lmdbStore, to: postgresStore) { done, total in
    ///     print("\(done) of \(total)")
    /// }
    /// ```
    ///
    /// - Returns: the target's head after the copy (the source's head when it started).
    @discardableResult
    public static func copy(
        from source: any StoredRecordLog, to target: any StoredRecordLog, batchSize: Int = 1_000,
        progress: (@Sendable (UInt64, UInt64) -> Void)? = nil
    ) async throws(LogCopyError) -> LogPosition {
        let targetHead: LogPosition, end: LogPosition
        do { targetHead = try await target.headPosition() } catch { throw .target(error) }
        guard targetHead == .start else { throw .targetNotEmpty(head: targetHead) }
        do { end = try await source.headPosition() } catch { throw .source(error) }
        var next = LogPosition(1)
        var sourceFailure: EventStoreError?
        let batch = max(1, batchSize)
        do {
            return try await target.importStoredRecords { () throws(EventStoreError) -> [StoredRecord] in
                guard next <= end else { return [] }
                progress?(next.rawValue - 1, end.rawValue)
                do throws(EventStoreError) {
                    let records = try await source.storedRecords(from: next, limit: Int(min(UInt64(batch), end.rawValue - next.rawValue + 1)))
                    guard let last = records.last else {
                        throw EventStoreError.corruptedRecord(position: next, reason: "the source has no record here, but its head is at \(end)")
                    }
                    next = last.position.next
                    if next > end { progress?(end.rawValue, end.rawValue) }
                    return records
                } catch {
                    sourceFailure = error
                    throw error
                }
            }
        } catch {
            if let sourceFailure { throw .source(sourceFailure) }
            // The import's refusal of a log that is not empty (its only invalidEvent): the
            // target was empty when looked at above, and another writer appended since.
            if case .invalidEvent = error, let head = try? await target.headPosition(), head > .start {
                throw .targetNotEmpty(head: head)
            }
            throw .target(error)
        }
    }
}

/// Follows a log record by record from position 1 and checks that each record
/// continues it: the next position, the hash chain, a recorded-at time no
/// earlier than the one before (what `position(asOf:)` relies on), the stream
/// version and links and the tag links the heads so far give. The
/// verification walks and the imports of every backend share it, so they
/// check the same things.
package struct LogChain {
    package private(set) var lastPosition: UInt64 = 0
    package private(set) var lastChainHash = RecordFormat.genesisChainHash
    package private(set) var lastRecordedAt = Int64.min
    /// The head of every stream and tag met so far.
    package private(set) var streams: [String: Head] = [:]
    package private(set) var tags: [String: Head] = [:]

    package init() {}

    /// Checks that `view` (whose checksum and structure were checked when it
    /// was made) is the next record, and moves the heads on.
    ///
    /// - Returns: what is wrong, or nil when the record continues the log.
    package mutating func follow(_ view: RecordView) -> String? {
        let position = view.position.rawValue
        guard position == lastPosition + 1 else { return "expected position \(lastPosition + 1): the log has a gap" }
        let matches = lastChainHash.withUnsafeBytes { view.chainHashMatches(previous: $0) }
        guard matches else { return "the chain hash does not match the record and its predecessor" }
        let recordedAt = view.recordedAtMicroseconds
        guard recordedAt >= lastRecordedAt else {
            return "recorded at \(recordedAt) µs since 1970, before the record before it (\(lastRecordedAt) µs): recorded-at times never decrease"
        }
        let streamName = String(decoding: view.streamIDBytes, as: UTF8.self)
        var streamHead = streams[streamName] ?? Head()
        let links = streamHead.append(position: position)
        guard view.streamVersion == streamHead.count else {
            return "stream \(streamName) should be at version \(streamHead.count), the record says \(view.streamVersion)"
        }
        guard view.previousInStream.rawValue == links.previous, view.skipInStream.rawValue == links.skip else {
            return "the links of stream \(streamName) are wrong"
        }
        var tagProblem: String?
        var changedTags: [(String, Head)] = []
        view.forEachTag { name, link in
            let tagName = String(decoding: name, as: UTF8.self)
            var tagHead = changedTags.last(where: { $0.0 == tagName })?.1 ?? tags[tagName] ?? Head()
            let expected = tagHead.append(position: position)
            changedTags.append((tagName, tagHead))
            if link.previous != expected.previous || link.skip != expected.skip, tagProblem == nil {
                tagProblem = "the links of tag \(tagName) are wrong"
            }
        }
        if let tagProblem { return tagProblem }
        streams[streamName] = streamHead
        for (name, head) in changedTags { tags[name] = head }
        lastPosition = position
        lastChainHash = Array(view.chainHashBytes)
        lastRecordedAt = recordedAt
        return nil
    }
}

extension RecordView {
    /// The event id in the record's header.
    package var eventID: EventID {
        EventID(bytes: UnsafeRawBufferPointer(rebasing: bytes[RecordFormat.Offset.eventID..<(RecordFormat.Offset.eventID + 16)]))
    }
}
