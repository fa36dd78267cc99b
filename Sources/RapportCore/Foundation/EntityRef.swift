public import Foundation
public import RapportEventLog

/// A reference to any aggregate by kind and id, for links that may point to
/// several kinds (an activity linked to a contact, a company and a deal).
///
/// Its kind is an entity kind: checked when the reference is made from its
/// parts (``init(kind:id:)``) or decoded, and the rule of every aggregate's
/// ``Aggregate/kind`` when it is made from an identifier. So its ``tag`` is
/// always a valid tag.
///
/// ```swift
/// let links = [EntityRef(contactID), try EntityRef(kind: "deal", id: dealUUID)]
/// links[0].tag      // "contact:<uuid>"
/// ```
public struct EntityRef: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The aggregate's kind, such as `deal`: an entity kind (1 to 40 ASCII
    /// lower-case letters, digits or `-`, starting with a letter). A `let`, so
    /// that it stays checked.
    public let kind: String
    /// The aggregate's id.
    public var id: UUID

    /// A reference to the aggregate `id`, of kind ``Aggregate/kind``.
    ///
    /// ```swift
    /// let ada = EntityRef(adaID)    // kind "contact"
    /// ```
    public init<A: Aggregate>(_ id: Identifier<A>) {
        kind = A.kind
        self.id = id.uuid
    }

    /// A reference from its parts, such as a kind and an id a client sent.
    ///
    /// `kind` must be an entity kind, as every aggregate's ``Aggregate/kind``
    /// is: 1 to 40 ASCII lower-case letters, digits or `-`, starting with a
    /// letter. Anything else (empty, capitals, spaces, control characters,
    /// too long) is refused, so a reference never holds a kind that makes
    /// no tag.
    ///
    /// ```swift
    /// let deal = try EntityRef(kind: "deal", id: dealUUID)
    /// _ = try EntityRef(kind: "Deal ", id: dealUUID)   // throws CRMError.invalidValue(field: "kind", …)
    /// ```
    ///
    /// - Throws: ``CRMError/invalidValue(field:reason:)`` with the field
    ///   `kind` when `kind` is not an entity kind.
    public init(kind: String, id: UUID) throws(CRMError) {
        if let problem = Self.problem(withKind: kind) { throw .invalidValue(field: "kind", reason: problem) }
        self.kind = kind
        self.id = id
    }

    /// Why `kind` is not an entity kind, or nil when it is.
    static func problem(withKind kind: String) -> String? {
        isValidKind(kind) ? nil : "\"\(kind)\" is not an entity kind (1 to 40 lower-case letters, digits and -, starting with a letter)"
    }

    /// The tag events about the aggregate carry: `<kind>:<uuid>`.
    ///
    /// ```swift
    /// try EntityRef(kind: "deal", id: dealUUID).tag   // "deal:<uuid>"
    /// ```
    public var tag: Tag {
        // Never fails: an entity kind (checked when the reference is made from
        // parts or decoded, an aggregate's kind by ``Aggregate/kind``'s rule)
        // and a UUID make at most 77 bytes without control characters.
        try! Tag("\(kind):\(id.lowercasedText)")
    }

    /// The identifier, when the reference is to an `A`.
    public func identifier<A: Aggregate>(as type: A.Type) -> Identifier<A>? {
        kind == A.kind ? Identifier<A>(id) : nil
    }

    public var description: String { "\(kind):\(id.lowercasedText)" }

    /// Decodes a reference, checking its kind as ``init(kind:id:)`` does.
    ///
    /// ```swift
    /// let ref = try JSONDecoder().decode(EntityRef.self, from: Data(#"{"id":"…","kind":"deal"}"#.utf8))
    /// ```
    ///
    /// - Throws: `DecodingError.dataCorrupted` at the key `kind` when it is
    ///   not an entity kind.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try container.decode(String.self, forKey: .kind)
        if let problem = Self.problem(withKind: kind) {
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: problem)
        }
        self.kind = kind
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
