public import Foundation

/// A typed event: a value with a stable type name and a schema version.
///
/// ```swift
/// struct ContactCreated: Event {
///     static let typeName = "ContactCreated"
///     static let schemaVersion: UInt32 = 2
///     var givenName: String
///     var familyName: String
/// }
/// ```
public protocol Event: Codable, Sendable {
    /// The name stored with every event of this type. Never change it once
    /// events are stored; add a new type or a new schema version instead.
    static var typeName: String { get }
    /// The version of this type's schema; raise it when the payload's shape changes.
    static var schemaVersion: UInt32 { get }
}

extension Event {
    public static var schemaVersion: UInt32 { 1 }
}

/// Turns typed events into payload bytes and back. Replace the default
/// ``JSONEventCodec`` with your own (a binary format, encryption per subject, …).
///
/// ```swift
/// struct PropertyListCodec: EventCodec {
///     func encode<E: Event>(_ event: E) throws -> Data { try PropertyListEncoder().encode(event) }
///     func decode<E: Event>(_ type: E.Type, from data: Data) throws -> E {
///         try PropertyListDecoder().decode(type, from: data)
///     }
/// }
/// ```
public protocol EventCodec: Sendable {
    /// Encodes `event` as payload bytes.
    func encode<E: Event>(_ event: E) throws -> Data
    /// Decodes payload bytes as `type`.
    func decode<E: Event>(_ type: E.Type, from data: Data) throws -> E
}

/// The default codec: JSON with sorted keys, ISO 8601 dates and base64 data,
/// so payloads are readable in any tool and byte-for-byte stable.
///
/// Dates in payloads are kept to the whole second (ISO 8601 without a
/// fraction); a record's own recorded-at and occurred-at keep microseconds.
///
/// ```swift
/// let event = try NewEvent(created, metadata: metadata, codec: JSONEventCodec())
/// ```
public struct JSONEventCodec: EventCodec {
    /// Creates the codec.
    public init() {}

    public func encode<E: Event>(_ event: E) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(event)
    }

    public func decode<E: Event>(_ type: E.Type, from data: Data) throws -> E {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: data)
    }
}
