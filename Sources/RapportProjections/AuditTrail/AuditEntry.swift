public import Foundation
public import RapportEventLog

/// One field of an audited change: its name, and its value before and after
/// as JSON text (`"EUR"`, `12000.5`, `{"amount":12000,"currency":"EUR"}`).
/// A nil old value means the field was set (a creation, a new link); a nil
/// new value means it was removed or cleared.
///
/// ```swift
/// FieldChange(field: "stage", oldValue: "\"proposal\"", newValue: "\"negotiation\"")
/// ```
public struct FieldChange: Hashable, Sendable, Codable {
    /// The field, such as `amount`, `stage`, `owner`, `email` or `custom.seats`.
    public var field: String
    /// The value before, as JSON text; nil when there was none (or it is not recorded).
    public var oldValue: String?
    /// The value after, as JSON text; nil when the field was removed or cleared.
    public var newValue: String?

    public init(field: String, oldValue: String?, newValue: String?) {
        self.field = field
        self.oldValue = oldValue
        self.newValue = newValue
    }
}

/// One audited change, or one refused attempt: when, who, on which entity,
/// what action, which fields changed from what to what, through which
/// channel and as part of which operation.
///
/// ```swift
/// for entry in try audit.entries(.entity(kind: "deal", id: deal.description), in: store).items {
///     print(entry.recordedAt, entry.actor.id, entry.action, entry.changes.map(\.field))
/// }
/// ```
public struct AuditEntry: Hashable, Sendable, Codable {
    /// The event's place in the log.
    public var position: LogPosition
    /// The event's id.
    public var eventID: EventID
    /// The stream the event is in.
    public var streamID: String
    /// When the store recorded it.
    public var recordedAt: Date
    /// When it happened, by the caller's clock.
    public var occurredAt: Date?
    /// Who did it, in which role.
    public var actor: Principal
    /// The entity's kind (`deal`, `contact`, …). For a refused attempt, the entity it was refused on.
    public var entityKind: String
    /// The entity's id.
    public var entityID: String
    /// The event type, such as `DealAmountChanged` or `AccessDenied`.
    public var action: String
    /// Every field of the change, in payload order.
    public var changes: [FieldChange]
    /// The channel it came in through.
    public var channel: Channel
    /// The request or operation it was part of.
    public var correlationID: UUID?
    /// The command or event that caused it.
    public var causationID: UUID?

    /// Whether this entry records a refused attempt rather than a change.
    public var isDenial: Bool { action == "AccessDenied" }

    /// Encodes every field, ids as lower-case text (as the CSV export and
    /// stream ids spell them); decoding takes either case.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(position, forKey: .position)
        try container.encode(eventID, forKey: .eventID)
        try container.encode(streamID, forKey: .streamID)
        try container.encode(recordedAt, forKey: .recordedAt)
        try container.encodeIfPresent(occurredAt, forKey: .occurredAt)
        try container.encode(actor, forKey: .actor)
        try container.encode(entityKind, forKey: .entityKind)
        try container.encode(entityID, forKey: .entityID)
        try container.encode(action, forKey: .action)
        try container.encode(changes, forKey: .changes)
        try container.encode(channel, forKey: .channel)
        try container.encodeIfPresent(correlationID?.lowercasedText, forKey: .correlationID)
        try container.encodeIfPresent(causationID?.lowercasedText, forKey: .causationID)
    }

    public init(
        position: LogPosition, eventID: EventID, streamID: String, recordedAt: Date, occurredAt: Date?, actor: Principal,
        entityKind: String, entityID: String, action: String, changes: [FieldChange], channel: Channel,
        correlationID: UUID?, causationID: UUID?
    ) {
        self.position = position
        self.eventID = eventID
        self.streamID = streamID
        self.recordedAt = recordedAt
        self.occurredAt = occurredAt
        self.actor = actor
        self.entityKind = entityKind
        self.entityID = entityID
        self.action = action
        self.changes = changes
        self.channel = channel
        self.correlationID = correlationID
        self.causationID = causationID
    }
}
