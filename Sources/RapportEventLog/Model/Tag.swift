/// A label on an event that queries and append conditions can match across
/// streams, such as `contact:4f1c…`, `deal:42` or `owner:anna`.
///
/// A tag is 1 to ``Tag/maximumLength`` bytes of UTF-8 with no control characters,
/// kept in Unicode normalization form C (as ``StreamID`` is, for the same reason).
///
/// ```swift
/// let tag = try Tag("deal:42")
/// let same = try Tag(kind: "deal", id: "42")
/// ```
public struct Tag: Hashable, Comparable, Sendable, CustomStringConvertible, ValidatedText {
    /// The longest tag, in UTF-8 bytes.
    public static let maximumLength = 255

    /// The tag as text.
    public let rawValue: String

    /// Creates a tag, checking that it is valid.
    ///
    /// - Throws: ``EventStoreError/invalidTag(_:reason:)``.
    public init(_ rawValue: String) throws(EventStoreError) {
        let normalized = TextRules.canonical(rawValue)
        if let reason = TextRules.problem(in: normalized, maximumLength: Self.maximumLength) {
            throw .invalidTag(rawValue, reason: reason)
        }
        self.rawValue = normalized
    }

    /// Creates the tag `kind:id`.
    public init(kind: String, id: String) throws(EventStoreError) {
        try self.init("\(kind):\(id)")
    }

    package init(unchecked rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }

    public static func < (lhs: Tag, rhs: Tag) -> Bool { lhs.rawValue < rhs.rawValue }

    public var text: String { rawValue }

    public init(validating text: String) throws(EventStoreError) { try self.init(text) }
}
