public import Foundation
public import RapportEventLog

/// The identity of one aggregate of type `A`: a UUID that cannot be mixed up
/// with another aggregate type's.
///
/// ```swift
/// let contact = ContactID()          // Identifier<Contact>, a new UUID
/// let deal: DealID = DealID(uuid)    // from a stored UUID
/// contact.streamID                   // "contact-<uuid>"
/// contact.tag                        // "contact:<uuid>"
/// ```
public struct Identifier<A: Aggregate>: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The UUID.
    public let uuid: UUID

    /// A new identifier (UUIDv7, time-ordered).
    public init() { uuid = EventID().uuid }
    /// Wraps an existing UUID.
    public init(_ uuid: UUID) { self.uuid = uuid }
    /// Parses a UUID string; nil when it is not one.
    public init?(_ text: String) {
        guard let uuid = UUID(text: text) else { return nil }
        self.uuid = uuid
    }

    public var description: String { uuid.lowercasedText }

    // The two `try!` below cannot fail for a kind that follows ``Aggregate/kind``'s
    // rule (at most 40 ASCII letters, digits or `-`): with a UUID that makes at
    // most 77 bytes without control characters. Every CRM aggregate's kind does
    // (EntityRefTests checks each).

    /// The aggregate's stream: `<kind>-<uuid>`.
    public var streamID: StreamID { try! StreamID("\(A.kind)-\(description)") }
    /// The tag every event about this aggregate carries: `<kind>:<uuid>`.
    public var tag: Tag { try! Tag("\(A.kind):\(description)") }

    /// The order of the ids' texts (``description``), found from their bytes.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.uuid.precedes(rhs.uuid) }

    public init(from decoder: any Decoder) throws { uuid = try decoder.singleValueContainer().decodeUUID() }
    /// Encodes the id as lower-case text, as ``description``, stream ids and tags spell it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
