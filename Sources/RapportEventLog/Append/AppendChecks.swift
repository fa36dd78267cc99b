public import Foundation

/// What a backend answers about its current state while it checks an append
/// inside its transaction. The rules themselves live in ``AppendChecks``, once
/// for every backend.
public protocol AppendStateReader {
    /// The stream's current version, 0 when it has no events.
    mutating func currentVersion(of stream: StreamID) throws(EventStoreError) -> UInt64
    /// The position of the last event carrying `tag`, 0 when there is none.
    mutating func lastPosition(taggedWith tag: Tag) throws(EventStoreError) -> UInt64
    /// Where the event with `id` is stored, with its stream and stream version, or nil.
    mutating func storedEvent(id: EventID) throws(EventStoreError) -> StoredEventReference?
}

/// Where an already stored event is, and what it holds.
public struct StoredEventReference: Hashable, Sendable {
    public var position: LogPosition
    public var streamID: StreamID
    public var streamVersion: UInt64
    /// The stored event's type, when the backend read it: a retry must carry the same.
    public var type: String?
    /// The stored event's payload, when the backend read it: a retry must carry the same bytes.
    public var payload: Data?

    /// A reference; give `type` and `payload` so that an append reusing the
    /// id with other content is refused rather than taken for a retry.
    public init(position: LogPosition, streamID: StreamID, streamVersion: UInt64, type: String? = nil, payload: Data? = nil) {
        self.position = position
        self.streamID = streamID
        self.streamVersion = streamVersion
        self.type = type
        self.payload = payload
    }

    /// Whether `event` could be the event stored here (no content known: yes).
    func holds(_ event: NewEvent) -> Bool {
        (type.map { $0 == event.type } ?? true) && (payload.map { $0 == event.payload } ?? true)
    }
}

/// The decision on an append request, taken with the store's state.
public enum AppendDecision: Hashable, Sendable {
    /// Write the request; `versions` are the streams' current versions, in request order.
    case write(currentVersions: [UInt64])
    /// Every event is stored already, as an append of this request would have
    /// stored it (same streams, types and payloads, consecutive positions in
    /// request order): answer with this and write nothing.
    case alreadyStored(AppendResult)
}

/// The append rules every backend applies, in this order: idempotency by
/// event id, expected versions, then the append condition.
public enum AppendChecks {
    /// Decides what to do with `request` given the backend's state.
    ///
    /// - Throws: ``EventStoreError/duplicateEventID(_:storedAt:)``,
    ///   ``EventStoreError/wrongExpectedVersion(stream:expected:actual:)`` or
    ///   ``EventStoreError/appendConditionFailed(tags:after:conflictingPosition:)``.
    public static func decide(_ request: AppendRequest, state: inout some AppendStateReader) throws(EventStoreError) -> AppendDecision {
        if let stored = try alreadyStored(request, state: &state) { return .alreadyStored(stored) }
        var versions: [UInt64] = []
        versions.reserveCapacity(request.streams.count)
        for part in request.streams {
            let actual = try state.currentVersion(of: part.streamID)
            guard part.expectedVersion.isSatisfied(by: actual) else {
                throw .wrongExpectedVersion(stream: part.streamID, expected: part.expectedVersion, actual: actual)
            }
            versions.append(actual)
        }
        if let condition = request.condition {
            for tag in condition.tags.sorted() {
                let last = try state.lastPosition(taggedWith: tag)
                if last > condition.after.rawValue {
                    throw .appendConditionFailed(tags: condition.tags, after: condition.after, conflictingPosition: LogPosition(last))
                }
            }
        }
        return .write(currentVersions: versions)
    }

    /// When any event id of the request is stored, the request must be a retry
    /// of the append that stored it: every id stored, each in the same stream
    /// with the same type and payload, at contiguous positions in request
    /// order. Then the stored result is returned.
    private static func alreadyStored(_ request: AppendRequest, state: inout some AppendStateReader) throws(EventStoreError) -> AppendResult? {
        var found: [(event: EventID, stream: StreamID, reference: StoredEventReference?)] = []
        found.reserveCapacity(request.eventCount)
        var anyStored = false
        for part in request.streams {
            for index in part.events.indices {
                let id = part.events[index].id  // only the id: no copy of the whole event
                let reference = try state.storedEvent(id: id)
                if let reference {
                    // The same id with another type or payload is another event, not a retry.
                    guard reference.holds(part.events[index]) else { throw .duplicateEventID(id, storedAt: reference.position) }
                    anyStored = true
                }
                found.append((id, part.streamID, reference))
            }
        }
        guard anyStored else { return nil }
        var versions: [StreamID: UInt64] = [:]
        var expectedPosition: UInt64? = nil
        for entry in found {
            guard let reference = entry.reference else {
                let stored = found.first { $0.reference != nil }!
                throw .duplicateEventID(stored.event, storedAt: stored.reference!.position)
            }
            let inOrder = expectedPosition.map { reference.position.rawValue == $0 } ?? true
            guard reference.streamID == entry.stream, inOrder else {
                throw .duplicateEventID(entry.event, storedAt: reference.position)
            }
            expectedPosition = reference.position.rawValue + 1
            versions[entry.stream] = reference.streamVersion
        }
        let positions = found.first!.reference!.position...found.last!.reference!.position
        return AppendResult(positions: positions, streamVersions: versions, wasAlreadyStored: true)
    }
}
