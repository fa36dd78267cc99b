/// Size limits a store enforces on what it is asked to append.
///
/// ```swift
/// var limits = EventLimits()
/// limits.maximumRecordSize = 256 * 1024
/// let store = InMemoryEventStore(limits: limits)
/// ```
public struct EventLimits: Hashable, Sendable {
    /// The largest stored record (header, names, metadata, tags and payload),
    /// in bytes. A record's header holds its length in 32 bits, so a limit
    /// above 4 GiB - 1 counts as that.
    public var maximumRecordSize: Int = 4 * 1024 * 1024
    /// The most tags one event may carry. A record's header counts them in
    /// 16 bits, so a limit above 65,535 counts as that.
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
        // One stream or one event cannot repeat itself: no set is needed then.
        var seenStreams = Set<StreamID>(minimumCapacity: streams.count > 1 ? streams.count : 0)
        let events = eventCount
        var seenIDs = Set<EventID>(minimumCapacity: events > 1 ? events : 0)
        var checkedTexts = CheckedTexts()
        var total = 0
        for part in streams {
            if streams.count > 1 && !seenStreams.insert(part.streamID).inserted {
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
                if events > 1 && !seenIDs.insert(event.id).inserted {
                    throw .invalidEvent("event id \(event.id) appears twice in one append request")
                }
                try event.validate(in: part.streamID, limits: limits, checkedTexts: &checkedTexts)
            }
        }
        if total == 0 { throw .invalidEvent("the append request has no events") }
    }
}

/// The type name and metadata texts of the event checked last in a request.
/// The events of one request mostly share them, so each later event that
/// has the same texts skips their checks (comparing equal strings costs less
/// than checking them byte by byte again).
struct CheckedTexts {
    private var type: String?
    private var actorID: String?
    private var role: String?
    private var channel: String?

    /// Whether every text of `event` was checked already.
    func holds(_ event: NewEvent) -> Bool {
        type == event.type && actorID == event.metadata.actor.id && role == event.metadata.actor.role.rawValue
            && channel == event.metadata.channel.rawValue
    }

    mutating func remember(_ event: NewEvent) {
        type = event.type
        actorID = event.metadata.actor.id
        role = event.metadata.actor.role.rawValue
        channel = event.metadata.channel.rawValue
    }
}

extension NewEvent {
    func validate(in stream: StreamID, limits: EventLimits, checkedTexts: inout CheckedTexts) throws(EventStoreError) {
        if !checkedTexts.holds(self) {
            try validateTexts()
            checkedTexts.remember(self)
        }
        try validateRest(in: stream, limits: limits)
    }

    private func validateTexts() throws(EventStoreError) {
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
    }

    private func validateRest(in stream: StreamID, limits: EventLimits) throws(EventStoreError) {
        // Limits set above what a record's header can hold are held to the header's.
        let tagLimit = min(limits.maximumTagsPerEvent, RecordFormat.maximumTagCount)
        if tags.count > tagLimit {
            throw .invalidEvent("event \(id) has \(tags.count) tags; the limit is \(tagLimit)")
        }
        if tags.count > 1 && Set(tags).count != tags.count {
            throw .invalidEvent("event \(id) carries the same tag twice")
        }
        if let occurredAt, !RecordFormat.isRepresentable(occurredAt) {
            throw .invalidEvent("the occurred-at date of event \(id) is out of range")
        }
        if metadata.correlationID == RecordFormat.noID || metadata.causationID == RecordFormat.noID {
            throw .invalidEvent("event \(id) has the nil UUID (all zeros) as its correlation or causation id; leave the id out instead")
        }
        let size = RecordFormat.encodedSize(of: self, in: stream)
        let sizeLimit = min(limits.maximumRecordSize, RecordFormat.maximumRecordSize)
        if size > sizeLimit {
            throw .eventTooLarge(id: id, size: size, limit: sizeLimit)
        }
    }
}
