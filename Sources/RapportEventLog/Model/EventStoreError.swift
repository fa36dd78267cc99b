public import Foundation

/// Every way a store operation can fail. Each case says what went wrong in
/// words a person can act on; a failed operation has changed nothing.
///
/// ```swift
/// do {
///     try await store.append(events, to: stream, expecting: .exactly(3))
/// } catch .wrongExpectedVersion(let stream, let expected, let actual) {
///     // reload `stream` (now at `actual`) and decide again
/// }
/// ```
public enum EventStoreError: Error, Hashable, Sendable, CustomStringConvertible, LocalizedError {
    /// A stream id is empty, too long or holds a control character.
    case invalidStreamID(String, reason: String)
    /// A tag is empty, too long or holds a control character.
    case invalidTag(String, reason: String)
    /// An event or request is malformed (empty type name, missing actor, an id
    /// twice in one request, a stream twice in one request, no events, …).
    case invalidEvent(String)
    /// An event's stored form would exceed the store's limit.
    case eventTooLarge(id: EventID, size: Int, limit: Int)
    /// The stream's version is not what the append expected.
    case wrongExpectedVersion(stream: StreamID, expected: ExpectedVersion, actual: UInt64)
    /// An event carrying one of the condition's tags was stored after the condition's position.
    case appendConditionFailed(tags: Set<Tag>, after: LogPosition, conflictingPosition: LogPosition)
    /// An event id is already stored, but the request is not a retry of the
    /// append that stored it (other ids, other order, another stream, or
    /// another type or payload under the same id).
    case duplicateEventID(EventID, storedAt: LogPosition)
    /// A stored record failed its checksum, its chain hash or its structure.
    case corruptedRecord(position: LogPosition, reason: String)
    /// The disk or the store's configured size limit is full; nothing was written.
    case storeFull(String)
    /// The store was closed.
    case storeClosed
    /// The files are not a store this version can open (another format or another program's files).
    case incompatibleStore(String)
    /// A record was decoded as a type it is not.
    case typeMismatch(expected: String, found: String, position: LogPosition)
    /// A record's payload could not be decoded by the codec.
    case undecodablePayload(position: LogPosition, type: String, reason: String)
    /// The storage layer failed (permissions, I/O); the message says how.
    case storage(String)
    /// A read-model commit required the projection's stored checkpoint to be
    /// `expected`, and it is `actual` (nil: none stored): another runner of
    /// the projection committed in between. Nothing of the commit was written.
    case checkpointMoved(projection: String, expected: CheckpointCondition, actual: ProjectionCheckpoint?)

    public var description: String {
        switch self {
        case .invalidStreamID(let id, let reason):
            return "Invalid stream id \(Self.quote(id)): \(reason)."
        case .invalidTag(let tag, let reason):
            return "Invalid tag \(Self.quote(tag)): \(reason)."
        case .invalidEvent(let reason):
            return "Invalid event: \(reason)."
        case .eventTooLarge(let id, let size, let limit):
            return "Event \(id) is too large: \(size) bytes stored, the limit is \(limit)."
        case .wrongExpectedVersion(let stream, let expected, let actual):
            let found = actual == 0 ? "it has no events" : "it is at version \(actual)"
            return "Wrong expected version for stream \(stream): expected \(expected), but \(found)."
        case .appendConditionFailed(let tags, let after, let conflicting):
            let names = tags.map(\.rawValue).sorted().joined(separator: ", ")
            return "Append condition failed: an event tagged [\(names)] was stored at position \(conflicting), after position \(after)."
        case .duplicateEventID(let id, let position):
            return "Event id \(id) is already stored at position \(position) by a different append."
        case .corruptedRecord(let position, let reason):
            return "Corrupted record at position \(position): \(reason)."
        case .storeFull(let reason):
            return "The store is full: \(reason). Nothing was written."
        case .storeClosed:
            return "The store is closed."
        case .incompatibleStore(let reason):
            return "Cannot open the store: \(reason)."
        case .typeMismatch(let expected, let found, let position):
            return "The event at position \(position) is a \(found), not a \(expected)."
        case .undecodablePayload(let position, let type, let reason):
            return "The payload of the \(type) at position \(position) cannot be decoded: \(reason)."
        case .storage(let message):
            return "Storage error: \(message)."
        case .checkpointMoved(let projection, let expected, let actual):
            let stored = actual.map { "version \($0.version) at position \($0.position)" } ?? "none"
            return "The checkpoint of projection \(projection) moved: the commit expected \(expected), the stored one is \(stored); "
                + "another runner of the projection committed first, and nothing of this commit was written."
        }
    }

    public var errorDescription: String? { description }

    private static func quote(_ text: String) -> String {
        let shown = text.unicodeScalars.map { $0.properties.generalCategory == .control ? $0.escaped(asASCII: true) : String($0) }.joined()
        return "\"" + (shown.count > 80 ? String(shown.prefix(80)) + "…" : shown) + "\""
    }
}
