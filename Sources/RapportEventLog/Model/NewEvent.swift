public import Foundation

/// An event proposed for appending: everything but what the store assigns
/// (position, stream version, recorded-at and chain hash).
///
/// Most code builds it from a typed ``Event`` with ``NewEvent/init(_:metadata:tags:id:occurredAt:codec:)``;
/// the raw initializer is there for importers and tools that already hold bytes.
///
/// ```swift
/// let event = try NewEvent(
///     ContactCreated(name: "Ada"),
///     metadata: EventMetadata(actor: anna, channel: .ui),
///     tags: [try Tag("contact:\(contactID)")]
/// )
/// ```
public struct NewEvent: Sendable, Hashable {
    /// The id; retrying an append with the same id is safe.
    public var id: EventID
    /// The name of the event type, such as `ContactCreated`, kept in Unicode
    /// normalization form C.
    public var type: String { didSet { type = TextRules.canonical(type) } }
    /// The version of the type's schema the payload was written with.
    public var schemaVersion: UInt32
    /// When it happened by the caller's clock, if the caller knows.
    public var occurredAt: Date?
    /// Who, through which channel, and why.
    public var metadata: EventMetadata
    /// Labels for queries and append conditions across streams.
    public var tags: [Tag]
    /// The encoded payload.
    public var payload: Data

    /// Creates an event from bytes already encoded.
    public init(
        id: EventID = EventID(),
        type: String,
        schemaVersion: UInt32 = 1,
        occurredAt: Date? = nil,
        metadata: EventMetadata,
        tags: [Tag] = [],
        payload: Data
    ) {
        self.id = id
        self.type = TextRules.canonical(type)
        self.schemaVersion = schemaVersion
        self.occurredAt = occurredAt
        self.metadata = metadata
        self.tags = tags
        self.payload = payload
    }

    /// Creates an event from a typed value, encoding it with `codec`.
    ///
    /// - Throws: ``EventStoreError/invalidEvent(_:)`` when the codec cannot encode the value.
    public init<E: Event>(
        _ event: E,
        metadata: EventMetadata,
        tags: [Tag] = [],
        id: EventID = EventID(),
        occurredAt: Date? = nil,
        codec: any EventCodec = JSONEventCodec()
    ) throws(EventStoreError) {
        let payload: Data
        do { payload = try codec.encode(event) } catch {
            throw .invalidEvent("cannot encode \(E.typeName): \(error)")
        }
        self.init(
            id: id, type: E.typeName, schemaVersion: E.schemaVersion, occurredAt: occurredAt,
            metadata: metadata, tags: tags, payload: payload)
    }
}
