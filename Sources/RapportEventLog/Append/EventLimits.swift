/// Size limits a store enforces on what it is asked to append.
///
/// ```swift
/// var limits = EventLimits()
/// limits.maximumRecordSize = 256 * 1024
/// let store = InMemoryEventStore(limits: limits)
/// ```
public struct EventLimits: Hashable, Sendable {
    /// The largest stored record (header, names, metadata, tags and payload), in bytes.
    public var maximumRecordSize: Int = 4 * 1024 * 1024
    /// The most tags one event may carry.
    public var maximumTagsPerEvent: Int = 64
    /// The most events in one append request.
    public var maximumEventsPerAppend: Int = 1_000_000

    /// The defaults: 4 MiB records, 64 tags, a million events per append.
    public init() {}
}

extension AppendRequest {
    /// Checks everything that can be checked without the store's state, so that
    /// a malformed request is refused before it reaches the writer.
    ///
    /// - Throws: the first problem found, as an ``EventStoreError``.
    public func validate(limits: EventLimits) throws(EventStoreError) {
        if streams.isEmpty { throw .invalidEvent("the append request has no streams") }
        var seenStreams = Set<StreamID>(minimumCapacity: streams.count)
        var seenIDs = Set<EventID>(minimumCapacity: eventCount)
        var total = 0
        for part in streams {
            if !seenStreams.insert(part.streamID).inserted {
                throw .invalidEvent("stream \(part.streamID) appears twice in one append request")
            }
            if case .exactly(let version) = part.expectedVersion, version == UInt64.max {
                throw .invalidEvent("expected version \(version) for stream \(part.streamID) is out of range")
            }
            total += part.events.count
            if total > limits.maximumEventsPerAppend {
                throw .invalidEvent("the request has more than \(limits.maximumEventsPerAppend) events")
            }
            for event in part.events {
                if !seenIDs.insert(event.id).inserted {
                    throw .invalidEvent("event id \(event.id) appears twice in one append request")
                }
                try event.validate(in: part.streamID, limits: limits)
            }
        }
        if total == 0 { throw .invalidEvent("the append request has no events") }
    }
}

extension NewEvent {
    func validate(in stream: StreamID, limits: EventLimits) throws(EventStoreError) {
        if let reason = TextRules.problem(in: type, maximumLength: RecordFormat.maximumNameLength) {
            throw .invalidEvent("the type name \(String(reflecting: type)) is not valid: \(reason)")
        }
        if let reason = TextRules.problem(in: metadata.actor.id, maximumLength: RecordFormat.maximumNameLength) {
            throw .invalidEvent("the actor id of event \(id) is not valid: \(reason)")
        }
        if let reason = TextRules.problem(in: metadata.actor.role.rawValue, maximumLength: RecordFormat.maximumNameLength) {
            throw .invalidEvent("the actor role of event \(id) is not valid: \(reason)")
        }
        if let reason = TextRules.problem(in: metadata.channel.rawValue, maximumLength: RecordFormat.maximumNameLength) {
            throw .invalidEvent("the channel of event \(id) is not valid: \(reason)")
        }
        if tags.count > limits.maximumTagsPerEvent {
            throw .invalidEvent("event \(id) has \(tags.count) tags; the limit is \(limits.maximumTagsPerEvent)")
        }
        if tags.count > 1 && Set(tags).count != tags.count {
            throw .invalidEvent("event \(id) carries the same tag twice")
        }
        if let occurredAt, !RecordFormat.isRepresentable(occurredAt) {
            throw .invalidEvent("the occurred-at date of event \(id) is out of range")
        }
        let size = RecordFormat.encodedSize(of: self, in: stream)
        if size > limits.maximumRecordSize {
            throw .eventTooLarge(id: id, size: size, limit: limits.maximumRecordSize)
        }
    }
}
