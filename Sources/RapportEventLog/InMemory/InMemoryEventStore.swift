import Foundation
import Synchronization

/// An event store in memory, with exactly the behaviour of the persistent
/// stores: the same record format, checks, errors and chain hashes. For tests,
/// previews and tools; everything is gone when it is released.
///
/// ```swift
/// let store = InMemoryEventStore()
/// let stream = try StreamID("contact-1")
/// try await store.append([event], to: stream, expecting: .noStream)
/// let events = try await store.readStream(stream, from: 1, direction: .forward, limit: 10)
/// ```
///
/// - Complexity: appends are O(events + tags); stream reads O(result); log
///   reads O(events scanned from the start position), with a filter or without.
public final class InMemoryEventStore: EventStore {
    struct State {
        var records: [[UInt8]] = []
        var streams: [StreamID: [UInt64]] = [:]
        var tags: [Tag: [UInt64]] = [:]
        var ids: [EventID: UInt64] = [:]
        var closed = false
    }

    private let state = Mutex(State())
    /// The limits this store enforces.
    public let limits: EventLimits
    /// Where recorded-at times come from.
    public let clock: StoreClock

    /// Creates an empty store.
    public init(limits: EventLimits = EventLimits(), clock: StoreClock = .system) {
        self.limits = limits
        self.clock = clock
    }

    public func append(_ request: AppendRequest) async throws(EventStoreError) -> AppendResult {
        try request.validate(limits: limits)
        let clock = clock.nowMicros()
        return try state.withLock { (state) throws(EventStoreError) -> AppendResult in
            guard !state.closed else { throw .storeClosed }
            // Recorded-at times never go backwards along the log.
            let now = try state.records.last.map { (bytes) throws(EventStoreError) in
                try withTypedBytes(of: bytes) { (raw) throws(EventStoreError) in
                    max(clock, try RecordView(validating: raw, at: LogPosition(UInt64(state.records.count))).recordedAtMicroseconds)
                }
            } ?? clock
            switch try AppendChecks.decide(request, state: &state) {
            case .alreadyStored(let result):
                return result
            case .write(let currentVersions):
                return state.write(request, currentVersions: currentVersions, recordedAt: now)
            }
        }
    }

    public func readStream(_ stream: StreamID, from version: UInt64, direction: ReadDirection, limit: Int)
        async throws(EventStoreError) -> [RecordedEvent]
    {
        try state.withLock { (state) throws(EventStoreError) -> [RecordedEvent] in
            guard !state.closed else { throw .storeClosed }
            guard limit > 0, let positions = state.streams[stream], !positions.isEmpty else { return [] }
            let count = UInt64(positions.count)
            let range: [UInt64]
            switch direction {
            case .forward:
                guard version <= count else { return [] }
                let first = Int(max(version, 1) - 1)
                range = Array(positions[first..<(first + min(limit, positions.count - first))])
            case .backward:
                guard version >= 1 else { return [] }
                let last = Int(min(version, count)) - 1
                range = Array(positions[max(0, last - limit + 1)...last].reversed())
            }
            return try range.map { (position) throws(EventStoreError) in try state.record(at: position) }
        }
    }

    public func streamVersion(of stream: StreamID) async throws(EventStoreError) -> UInt64 {
        try state.withLock { (state) throws(EventStoreError) -> UInt64 in
            guard !state.closed else { throw .storeClosed }
            return UInt64(state.streams[stream]?.count ?? 0)
        }
    }

    public func readLog(from position: LogPosition, filter: LogFilter, limit: Int) async throws(EventStoreError) -> [RecordedEvent] {
        try state.withLock { (state) throws(EventStoreError) -> [RecordedEvent] in
            guard !state.closed else { throw .storeClosed }
            var result: [RecordedEvent] = []
            var next = max(position.rawValue, 1)
            let head = min(UInt64(state.records.count), filter.through?.rawValue ?? .max)
            while next <= head && result.count < limit {
                let matched = try withTypedBytes(of: state.records[Int(next - 1)]) { (bytes) throws(EventStoreError) -> RecordedEvent? in
                    let view = try RecordView(validating: bytes, at: LogPosition(next))
                    return filter.matches(view) ? view.materialize() : nil
                }
                if let matched { result.append(matched) }
                next += 1
            }
            return result
        }
    }

    public func headPosition() async throws(EventStoreError) -> LogPosition {
        try state.withLock { (state) throws(EventStoreError) -> LogPosition in
            guard !state.closed else { throw .storeClosed }
            return LogPosition(UInt64(state.records.count))
        }
    }

    public func event(id: EventID) async throws(EventStoreError) -> RecordedEvent? {
        try state.withLock { (state) throws(EventStoreError) -> RecordedEvent? in
            guard !state.closed else { throw .storeClosed }
            guard let position = state.ids[id] else { return nil }
            return try state.record(at: position)
        }
    }

    public func close() async {
        state.withLock { $0.closed = true }
    }
}

extension InMemoryEventStore.State: AppendStateReader {
    mutating func currentVersion(of stream: StreamID) throws(EventStoreError) -> UInt64 {
        UInt64(streams[stream]?.count ?? 0)
    }

    mutating func lastPosition(taggedWith tag: Tag) throws(EventStoreError) -> UInt64 {
        tags[tag]?.last ?? 0
    }

    mutating func storedEvent(id: EventID) throws(EventStoreError) -> StoredEventReference? {
        guard let position = ids[id] else { return nil }
        let record = try record(at: position)
        return StoredEventReference(
            position: record.position, streamID: record.streamID, streamVersion: record.streamVersion, type: record.type, payload: record.payload)
    }

    func record(at position: UInt64) throws(EventStoreError) -> RecordedEvent {
        try withTypedBytes(of: records[Int(position - 1)]) { (bytes) throws(EventStoreError) -> RecordedEvent in
            try RecordView(validating: bytes, at: LogPosition(position)).materialize()
        }
    }

    /// Writes a request that passed ``AppendChecks``.
    mutating func write(_ request: AppendRequest, currentVersions: [UInt64], recordedAt: Int64) -> AppendResult {
        let first = UInt64(records.count) + 1
        var versions: [StreamID: UInt64] = [:]
        for (part, current) in zip(request.streams, currentVersions) {
            var version = current
            for event in part.events {
                version += 1
                let position = UInt64(records.count) + 1
                let assigned = RecordFormat.Assigned(
                    position: position, streamVersion: version,
                    streamPrevious: streams[part.streamID]?.last ?? 0,
                    streamSkip: linkTarget(RecordFormat.skipVersion(version), in: streams[part.streamID]),
                    recordedAt: recordedAt)
                streams[part.streamID, default: []].append(position)
                let links = event.tags.map { tag -> RecordFormat.TagLink in
                    let sequence = UInt64(tags[tag]?.count ?? 0) + 1
                    let link = RecordFormat.TagLink(
                        previous: tags[tag]?.last ?? 0,
                        skip: linkTarget(RecordFormat.skipVersion(sequence), in: tags[tag]))
                    tags[tag, default: []].append(position)
                    return link
                }
                let previousHash = records.last.map { bytes in Array(bytes[RecordFormat.Offset.chainHash..<RecordFormat.headerSize]) }
                    ?? RecordFormat.genesisChainHash
                let size = RecordFormat.encodedSize(of: event, in: part.streamID)
                let record = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
                    previousHash.withUnsafeBytes { previous in
                        RecordFormat.write(
                            event, in: part.streamID, assigned: assigned, tagLinks: links,
                            previousChainHash: previous, into: UnsafeMutableRawBufferPointer(buffer))
                    }
                    initialized = size
                }
                records.append(record)
                ids[event.id] = position
            }
            versions[part.streamID] = version
        }
        return AppendResult(
            positions: LogPosition(first)...LogPosition(UInt64(records.count)), streamVersions: versions,
            wasAlreadyStored: false)
    }

    /// The position of event number `number` in `positions`; 0 for number 0.
    private func linkTarget(_ number: UInt64, in positions: [UInt64]?) -> UInt64 {
        number == 0 ? 0 : positions![Int(number - 1)]
    }
}
