import Foundation
import PostgresNIO
import RapportEventLog

/// The appends of one PostgreSQL transaction, decided and encoded in memory
/// while the transaction holds the log lock.
///
/// Everything the append rules may ask about (the ids, streams and tags of
/// every request in the group) is read from the database after the lock is
/// taken, so ``AppendChecks`` sees the committed state plus the earlier
/// requests of the same group, and nobody else can change it before the commit.
struct AppendBatch: AppendStateReader {
    private(set) var lastPosition: UInt64
    private(set) var lastChainHash: [UInt8]
    let recordedAt: Int64
    private var ids: [EventID: StoredEventReference]
    private var streamHeads: [StreamID: Head]
    private var tagHeads: [Tag: Head]
    private var dirtyStreams: Set<StreamID> = []
    private var dirtyTags: Set<Tag> = []
    /// The rows to insert, in position order.
    private(set) var rows = Rows()

    struct Rows {
        var positions: [Int64] = []
        var streamIDs: [String] = []
        var versions: [Int64] = []
        var eventIDs: [UUID] = []
        var types: [String] = []
        var records: [ByteBuffer] = []
        /// One entry per (event, tag): the index of the event in the arrays above.
        var tagEvent: [Int] = []
        var tagNames: [String] = []

        var isEmpty: Bool { positions.isEmpty }
        var count: Int { positions.count }
    }

    init(
        lastPosition: UInt64, lastChainHash: [UInt8], recordedAt: Int64, storedIDs: [EventID: StoredEventReference],
        streamHeads: [StreamID: Head], tagHeads: [Tag: Head]
    ) {
        self.lastPosition = lastPosition
        self.lastChainHash = lastChainHash
        self.recordedAt = recordedAt
        self.ids = storedIDs
        self.streamHeads = streamHeads
        self.tagHeads = tagHeads
    }

    /// What a group must read before its checks: every event id, stream and tag it mentions.
    struct Needs {
        var ids: [UUID] = []
        var streams: [String] = []
        var tags: [String] = []

        init(_ requests: [AppendRequest]) {
            var streams = Set<StreamID>(), tags = Set<Tag>()
            for request in requests {
                for part in request.streams {
                    streams.insert(part.streamID)
                    for event in part.events {
                        ids.append(event.id.uuid)
                        tags.formUnion(event.tags)
                    }
                }
                if let condition = request.condition { tags.formUnion(condition.tags) }
            }
            self.streams = streams.map(\.rawValue)
            self.tags = tags.map(\.rawValue)
        }
    }

    // MARK: AppendStateReader

    mutating func currentVersion(of stream: StreamID) throws(EventStoreError) -> UInt64 {
        streamHeads[stream]?.count ?? 0
    }

    mutating func lastPosition(taggedWith tag: Tag) throws(EventStoreError) -> UInt64 {
        tagHeads[tag]?.lastPosition ?? 0
    }

    mutating func storedEvent(id: EventID) throws(EventStoreError) -> StoredEventReference? {
        ids[id]
    }

    // MARK: Writing

    /// Checks `request` with ``AppendChecks`` and, when it may be written, assigns
    /// its positions and encodes its records. A refused request changes nothing.
    mutating func apply(_ request: AppendRequest) -> Result<AppendResult, EventStoreError> {
        let decision: AppendDecision
        do throws(EventStoreError) { decision = try AppendChecks.decide(request, state: &self) } catch { return .failure(error) }
        switch decision {
        case .alreadyStored(let result):
            return .success(result)
        case .write:
            let first = lastPosition + 1
            var versions: [StreamID: UInt64] = [:]
            for part in request.streams {
                var head = streamHeads[part.streamID] ?? Head()
                guard !part.events.isEmpty else {  // a version check only: nothing to write
                    versions[part.streamID] = head.count
                    continue
                }
                dirtyStreams.insert(part.streamID)
                for event in part.events { write(event, in: part.streamID, head: &head) }
                streamHeads[part.streamID] = head
                versions[part.streamID] = head.count
            }
            return .success(AppendResult(
                positions: LogPosition(first)...LogPosition(lastPosition), streamVersions: versions, wasAlreadyStored: false))
        }
    }

    private mutating func write(_ event: NewEvent, in stream: StreamID, head: inout Head) {
        let position = lastPosition + 1
        let links = head.append(position: position)
        var tagLinks: [RecordFormat.TagLink] = []
        tagLinks.reserveCapacity(event.tags.count)
        for tag in event.tags {
            var tagHead = tagHeads[tag] ?? Head()
            let link = tagHead.append(position: position)
            tagLinks.append(RecordFormat.TagLink(previous: link.previous, skip: link.skip))
            tagHeads[tag] = tagHead
            dirtyTags.insert(tag)
            rows.tagEvent.append(rows.count)
            rows.tagNames.append(tag.rawValue)
        }
        let assigned = RecordFormat.Assigned(
            position: position, streamVersion: head.count, streamPrevious: links.previous, streamSkip: links.skip,
            recordedAt: recordedAt)
        let size = RecordFormat.encodedSize(of: event, in: stream)
        var record = ByteBufferAllocator().buffer(capacity: size)
        record.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { free in
            let target = UnsafeMutableRawBufferPointer(rebasing: free[0..<size])
            lastChainHash.withUnsafeBytes { previous in
                RecordFormat.write(event, in: stream, assigned: assigned, tagLinks: tagLinks, previousChainHash: previous, into: target)
            }
            lastChainHash = Array(UnsafeRawBufferPointer(target)[RecordFormat.Offset.chainHash..<RecordFormat.headerSize])
            return size
        }
        rows.positions.append(Int64(position))
        rows.streamIDs.append(stream.rawValue)
        rows.versions.append(Int64(head.count))
        rows.eventIDs.append(event.id.uuid)
        rows.types.append(event.type)
        rows.records.append(record)
        ids[event.id] = StoredEventReference(
            position: LogPosition(position), streamID: stream, streamVersion: head.count, type: event.type, payload: event.payload)
        lastPosition = position
    }

    /// The streams whose heads changed, with their new heads.
    var changedStreams: [(StreamID, Head)] { dirtyStreams.map { ($0, streamHeads[$0]!) } }
    /// The tags whose heads changed, with their new heads.
    var changedTags: [(Tag, Head)] { dirtyTags.map { ($0, tagHeads[$0]!) } }
}
