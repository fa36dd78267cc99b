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

    // An aggregate's kind follows ``Aggregate/kind``'s rule (at most 40 ASCII
    // letters, digits or `-`), and with a UUID makes at most 77 bytes without
    // control characters, so the two properties below cannot fail for the
    // CRM's aggregates (EntityRefTests checks each). A type outside the
    // library whose kind breaks the rule is refused by ``Repository`` with a
    // typed error (``requireValidKind(_:)``) before either is used; code
    // that reads them directly stops with a message that names the type.

    /// The aggregate's stream: `<kind>-<uuid>`.
    public var streamID: StreamID {
        do { return try StreamID("\(A.kind)-\(description)") } catch { kindBreaksTheRule(error) }
    }
    /// The tag every event about this aggregate carries: `<kind>:<uuid>`.
    public var tag: Tag {
        do { return try Tag("\(A.kind):\(description)") } catch { kindBreaksTheRule(error) }
    }

    private func kindBreaksTheRule(_ error: EventStoreError) -> Never {
        preconditionFailure(
            "\(A.self).kind \"\(A.kind)\" breaks Aggregate.kind's rule (1 to 40 lower-case letters, digits and -, "
                + "starting with a letter): \(error)")
    }

    /// The order of the ids' texts (``description``), found from their bytes.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.uuid.precedes(rhs.uuid) }

    public init(from decoder: any Decoder) throws { uuid = try decoder.singleValueContainer().decodeUUID() }
    /// Encodes the id as lower-case text, as ``description``, stream ids and tags spell it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Refuses an aggregate type whose ``Aggregate/kind`` breaks the rule, before
/// any of its stream ids or tags is made.
///
/// - Throws: ``CRMError/invalidValue(field:reason:)`` with the field `kind`.
func requireValidKind<A: Aggregate>(_ type: A.Type) throws(CRMError) {
    if let problem = EntityRef.problem(withKind: A.kind) {
        throw .invalidValue(field: "kind", reason: "\(A.self).kind: \(problem)")
    }
}
