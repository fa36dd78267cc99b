import Foundation

/// Knows the event types an application reads, and how to turn a stored older
/// schema version of a type into the current one (upcasting).
///
/// Stored events are never rewritten: when a type's shape changes, raise its
/// `schemaVersion`, keep the old shape as a legacy type with the same type
/// name, and register an upcaster. Reads then see only the current shape.
///
/// ```swift
/// struct ContactCreatedV1: Event {            // what version 1 stored
///     static let typeName = "ContactCreated"
///     static let schemaVersion: UInt32 = 1
///     var name: String
/// }
/// var registry = EventTypeRegistry()
/// registry.register(ContactCreated.self)      // version 2: givenName, familyName
/// registry.register(upcasting: ContactCreatedV1.self, to: ContactCreated.self) { old in
///     ContactCreated(name: PersonName(splitting: old.name))
/// }
/// let event = try registry.decode(record)     // a ContactCreated, whichever version was stored
/// ```
public struct EventTypeRegistry: Sendable {
    private var decoders: [Key: @Sendable (Data, any EventCodec) throws -> any Event] = [:]
    private var current: [String: UInt32] = [:]

    private struct Key: Hashable {
        let type: String
        let schemaVersion: UInt32
    }

    /// An empty registry.
    public init() {}

    /// Registers the current version of an event type.
    public mutating func register<E: Event>(_ type: E.Type) {
        current[E.typeName] = E.schemaVersion
        decoders[Key(type: E.typeName, schemaVersion: E.schemaVersion)] = { data, codec in try codec.decode(E.self, from: data) }
    }

    /// Registers several current event types.
    public mutating func register(_ types: [any Event.Type]) {
        for type in types { register(type) }
    }

    /// Registers how a stored older version `Old` becomes `New`. `Old` and `New`
    /// share the type name; `Old.schemaVersion` is lower. Chains work: register
    /// 1 → 2 and 2 → 3 and a version-1 record is read as version 3.
    public mutating func register<Old: Event, New: Event>(
        upcasting old: Old.Type, to new: New.Type, _ upcast: @escaping @Sendable (Old) throws -> New
    ) {
        precondition(Old.typeName == New.typeName && Old.schemaVersion < New.schemaVersion,
                     "an upcaster goes from an older schema version of the same type to a newer one")
        decoders[Key(type: Old.typeName, schemaVersion: Old.schemaVersion)] = { data, codec in
            try upcast(try codec.decode(Old.self, from: data))
        }
    }

    /// The current schema version registered for `type`.
    public func currentVersion(of type: String) -> UInt32? { current[type] }

    /// Whether records of `type` can be decoded.
    public func knows(_ type: String) -> Bool { current[type] != nil }

    /// Decodes a record into its current typed event, upcasting older versions.
    ///
    /// - Throws: ``EventStoreError/undecodablePayload(position:type:reason:)`` when
    ///   the type or its version is unknown, or the bytes do not decode.
    public func decode(_ record: RecordedEvent, codec: any EventCodec = JSONEventCodec()) throws(EventStoreError) -> any Event {
        guard let decoder = decoders[Key(type: record.type, schemaVersion: record.schemaVersion)] else {
            let reason = knows(record.type)
                ? "schema version \(record.schemaVersion) has no upcaster to version \(current[record.type]!)"
                : "the type is not registered"
            throw .undecodablePayload(position: record.position, type: record.type, reason: reason)
        }
        do {
            var event = try decoder(record.payload, codec)
            // Follow the chain of upcasters until the current version.
            while let target = current[record.type], Swift.type(of: event).schemaVersion < target {
                let version = Swift.type(of: event).schemaVersion
                guard let next = decoders[Key(type: record.type, schemaVersion: version)] else {
                    throw EventStoreError.undecodablePayload(
                        position: record.position, type: record.type,
                        reason: "schema version \(version) has no upcaster to version \(target)")
                }
                event = try next(try codec.encode(event), codec)
                // The current type registered again at a newer version, with no upcaster
                // from its old one, decodes to itself: without this, the loop never ends.
                guard Swift.type(of: event).schemaVersion > version else {
                    throw EventStoreError.undecodablePayload(
                        position: record.position, type: record.type,
                        reason: "schema version \(version) has no upcaster to version \(target)")
                }
            }
            return event
        } catch let error as EventStoreError {
            throw error
        } catch {
            throw .undecodablePayload(position: record.position, type: record.type, reason: "\(error)")
        }
    }
}
