public import Foundation

/// An event as the store keeps it: what was proposed plus what the store assigned.
///
/// Records of types your code does not know are still readable: every field
/// here is plain data, and decoding the payload is a separate, explicit step.
///
/// ```swift
/// let record = try await store.event(id: id)!
/// print(record.position, record.streamID, record.type, record.metadata.actor)
/// if record.type == ContactCreated.typeName {
///     let created = try record.decode(ContactCreated.self)
/// }
/// ```
public struct RecordedEvent: Sendable, Hashable {
    /// The place in the global log.
    public var position: LogPosition
    /// The stream the event belongs to.
    public var streamID: StreamID
    /// The event's version within its stream: 1 for the first event.
    public var streamVersion: UInt64
    /// The id given when it was appended.
    public var id: EventID
    /// The name of the event type.
    public var type: String
    /// The schema version the payload was written with.
    public var schemaVersion: UInt32
    /// When the store committed it, by the store's clock (UTC, microsecond precision).
    public var recordedAt: Date
    /// When it happened by the caller's clock, if given (microsecond precision).
    public var occurredAt: Date?
    /// Who, through which channel, and why.
    public var metadata: EventMetadata
    /// The labels given when it was appended.
    public var tags: [Tag]
    /// The encoded payload.
    public var payload: Data
    /// SHA-256 over the previous record's chain hash and this record's bytes.
    /// Changing any stored byte changes every later chain hash.
    public var chainHash: [UInt8]

    public init(
        position: LogPosition, streamID: StreamID, streamVersion: UInt64, id: EventID, type: String,
        schemaVersion: UInt32, recordedAt: Date, occurredAt: Date?, metadata: EventMetadata, tags: [Tag],
        payload: Data, chainHash: [UInt8]
    ) {
        self.position = position
        self.streamID = streamID
        self.streamVersion = streamVersion
        self.id = id
        self.type = type
        self.schemaVersion = schemaVersion
        self.recordedAt = recordedAt
        self.occurredAt = occurredAt
        self.metadata = metadata
        self.tags = tags
        self.payload = payload
        self.chainHash = chainHash
    }

    /// Decodes the payload as `E`.
    ///
    /// - Throws: ``EventStoreError/typeMismatch(expected:found:position:)`` when the
    ///   record is of another type, ``EventStoreError/undecodablePayload(position:type:reason:)``
    ///   when the bytes do not decode.
    public func decode<E: Event>(_ type: E.Type, codec: any EventCodec = JSONEventCodec()) throws(EventStoreError) -> E {
        guard self.type == E.typeName else {
            throw .typeMismatch(expected: E.typeName, found: self.type, position: position)
        }
        do { return try codec.decode(E.self, from: payload) } catch {
            throw .undecodablePayload(position: position, type: self.type, reason: "\(error)")
        }
    }
}
