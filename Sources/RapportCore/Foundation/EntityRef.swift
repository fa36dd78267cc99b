public import Foundation
public import RapportEventLog

/// A reference to any aggregate by kind and id, for links that may point to
/// several kinds (an activity linked to a contact, a company and a deal).
///
/// ```swift
/// let links = [EntityRef(contactID), EntityRef(dealID)]
/// links[0].tag      // "contact:<uuid>"
/// ```
public struct EntityRef: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The aggregate's kind, such as `deal`.
    public var kind: String
    /// The aggregate's id.
    public var id: UUID

    /// A reference to the aggregate `id`.
    public init<A: Aggregate>(_ id: Identifier<A>) {
        kind = A.kind
        self.id = id.uuid
    }

    /// A reference from its parts.
    public init(kind: String, id: UUID) {
        self.kind = kind
        self.id = id
    }

    /// The tag events about the aggregate carry: `<kind>:<uuid>`.
    public var tag: Tag { try! Tag("\(kind):\(id.lowercasedText)") }

    /// The identifier, when the reference is to an `A`.
    public func identifier<A: Aggregate>(as type: A.Type) -> Identifier<A>? {
        kind == A.kind ? Identifier<A>(id) : nil
    }

    public var description: String { "\(kind):\(id.lowercasedText)" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decode(String.self, forKey: .kind)
        id = try container.decodeUUID(forKey: .id)
    }

    private enum CodingKeys: String, CodingKey {
        case kind, id
    }

    /// Encodes the id as lower-case text, as ``description`` and ``tag`` spell it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id.lowercasedText, forKey: .id)
        try container.encode(kind, forKey: .kind)
    }
}
