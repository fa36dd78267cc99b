import Foundation

/// The name of a stream, such as `contact-4f1c…` or `deal-42`.
///
/// A stream id is 1 to ``StreamID/maximumLength`` bytes of UTF-8 with no control
/// characters. Invalid names are refused when the id is created, so a store
/// never sees one. The id is kept in Unicode normalization form C, so two
/// spellings Swift considers equal (`"café"` with `é` as one character or as
/// `e` and a combining accent) are one stream in every store, which compare
/// names byte by byte.
///
/// ```swift
/// let stream = try StreamID("contact-\(id)")
/// try StreamID("")            // throws EventStoreError.invalidStreamID
/// ```
public struct StreamID: Hashable, Comparable, Sendable, CustomStringConvertible, ValidatedText {
    /// The longest stream id, in UTF-8 bytes.
    public static let maximumLength = 255

    /// The id as text.
    public let rawValue: String

    /// Creates a stream id, checking that it is valid.
    ///
    /// - Throws: ``EventStoreError/invalidStreamID(_:reason:)`` when the name is
    ///   empty, longer than ``maximumLength`` bytes (in normalization form C),
    ///   or holds a control character.
    public init(_ rawValue: String) throws(EventStoreError) {
        let normalized = TextRules.canonical(rawValue)
        if let reason = TextRules.problem(in: normalized, maximumLength: Self.maximumLength) {
            throw .invalidStreamID(rawValue, reason: reason)
        }
        self.rawValue = normalized
    }

    /// Creates a stream id from a category and an identifier: `category-identifier`.
    ///
    /// ```swift
    /// let stream = try StreamID(category: "deal", id: "42")   // "deal-42"
    /// ```
    public init(category: String, id: String) throws(EventStoreError) {
        try self.init("\(category)-\(id)")
    }

    /// Creates a stream id from text already known to be valid (records read
    /// back from a store).
    package init(unchecked rawValue: String) { self.rawValue = rawValue }

    /// The part before the first `-`, or the whole id when it has none.
    public var category: Substring {
        rawValue[..<(rawValue.firstIndex(of: "-") ?? rawValue.endIndex)]
    }

    public var description: String { rawValue }

    public static func < (lhs: StreamID, rhs: StreamID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var text: String { rawValue }

    public init(validating text: String) throws(EventStoreError) { try self.init(text) }
}

/// The rules shared by stream ids, tags, type names and metadata strings.
package enum TextRules {
    /// `text` in Unicode normalization form C. Swift's `==` and hashing treat
    /// canonically equivalent strings as equal, while LMDB and PostgreSQL
    /// compare bytes: names kept in one form are equal in both senses at
    /// once. ASCII (almost every name) is already in that form and is returned as it is.
    package static func canonical(_ text: String) -> String {
        isASCII(text) ? text : text.precomposedStringWithCanonicalMapping
    }

    /// Whether `text` is ASCII, and so already in normalization form C.
    package static func isASCII(_ text: String) -> Bool {
        text.utf8.withContiguousStorageIfAvailable(isASCII) ?? text.utf8.allSatisfy { $0 < 0x80 }
    }

    /// Whether every byte is below 0x80, eight bytes at a time.
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var index = 0
        while index + 8 <= bytes.count {
            if raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            index += 8
        }
        while index < bytes.count {
            if bytes[index] >= 0x80 { return false }
            index += 1
        }
        return true
    }

    /// Why `text` is not acceptable, or nil when it is.
    static func problem(in text: String, maximumLength: Int, allowEmpty: Bool = false) -> String? {
        var text = text
        return text.withUTF8 { utf8 -> String? in
            if utf8.isEmpty && !allowEmpty { return "it is empty" }
            if utf8.count > maximumLength { return "it is \(utf8.count) bytes long; the limit is \(maximumLength)" }
            // Control characters (Unicode category Cc) are U+0000–U+001F and
            // U+007F–U+009F: single bytes below 0x20 or 0x7F, or C2 80–C2 9F.
            var index = 0
            while index < utf8.count {
                let byte = utf8[index]
                var scalar: UInt32? = nil
                if byte < 0x20 || byte == 0x7F {
                    scalar = UInt32(byte)
                } else if byte == 0xC2, index + 1 < utf8.count, (0x80...0x9F).contains(utf8[index + 1]) {
                    scalar = UInt32(utf8[index + 1])
                }
                if let scalar {
                    return "it contains the control character U+\(String(scalar, radix: 16, uppercase: true))"
                }
                index += 1
            }
            return nil
        }
    }
}
