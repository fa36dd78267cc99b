package import Foundation

/// The top-level members of a JSON object, each value as its exact text
/// (numbers are not reinterpreted, so decimal amounts keep every digit):
/// what the audit trail shows of a payload. Lenient: commas are not
/// counted and invalid UTF-8 is repaired, so a damaged payload still shows
/// what can be read of it.
package enum JSONFields {
    /// The members of the object `data` holds, in document order; nil when it is not an object.
    package static func members(of data: Data) -> [(key: String, value: String)]? {
        let text = JSONText(data)
        guard let members = text.members(in: text.whole, strict: false) else { return nil }
        var result: [(key: String, value: String)] = []
        result.reserveCapacity(members.count)
        for member in members {
            guard let key = text.string(member.key) else { return nil }
            result.append((key, String(decoding: text.bytes[member.value], as: UTF8.self)))
        }
        return result
    }

    /// The string a JSON string literal holds, or nil when `text` is not one.
    package static func string(_ text: String) -> String? {
        unquoted(Array(text.utf8)[...])
    }

    /// The string the JSON string literal `literal` (quotes included) holds;
    /// nil when it is not one. Literals without escapes, nearly all of them,
    /// are read without a JSON decoder.
    package static func unquoted(_ literal: ArraySlice<UInt8>) -> String? {
        guard literal.count >= 2, literal.first == UInt8(ascii: "\""), literal.last == UInt8(ascii: "\"") else { return nil }
        let inner = literal.dropFirst().dropLast()
        let plain: String?? = inner.withUnsafeBufferPointer { bytes in
            var ascii = true
            for byte in bytes {
                if needsEscape(byte) { return .none }
                ascii = ascii && byte < 0x80
            }
            // ASCII needs no validation; anything else must be valid UTF-8, as JSONDecoder requires.
            return .some(ascii ? String(decoding: bytes, as: UTF8.self) : String(validating: bytes, as: UTF8.self))
        }
        if let plain { return plain }
        return try? JSONDecoder().decode(String.self, from: Data(literal))
    }

    /// Whether a JSON string literal writes `byte` escaped (a quote, a backslash, a control character).
    static func needsEscape(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") || byte < 0x20
    }

    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// `text` as a JSON string literal.
    package static func literal(_ text: String) -> String {
        if !text.utf8.contains(where: needsEscape) {
            return "\"" + text + "\""
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return String(decoding: (try? encoder.encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}

/// A JSON text's bytes, read in place: the members of an object and the
/// elements of an array as byte ranges, values skipped over (strings,
/// nesting) until asked for. The audit trail's ``JSONFields`` and the
/// codec's fast paths (``FastJSONDecodable``) both read payloads with it.
///
/// ```swift
/// let text = JSONText(payload)
/// for (key, value) in text.members(in: text.whole, strict: true) ?? [] where text.is(key, "notes") {
///     print(text.string(value) ?? "not a string")
/// }
/// ```
package struct JSONText {
    package let bytes: [UInt8]

    package init(_ data: Data) { bytes = [UInt8](data) }

    /// The whole text.
    package var whole: Range<Int> { 0..<bytes.count }

    /// The members of the object in `range`, in document order, keys with
    /// their quotes; nil when it is not an object. `strict` refuses what
    /// JSON does not allow at this level (a missing or extra comma, anything
    /// but white space around the object); lenient, commas are not counted.
    package func members(in range: Range<Int>, strict: Bool) -> [(key: Range<Int>, value: Range<Int>)]? {
        var walk = Walk(bytes: bytes, index: range.lowerBound, end: range.upperBound, strict: strict)
        guard walk.open(UInt8(ascii: "{")) else { return nil }
        var result: [(key: Range<Int>, value: Range<Int>)] = []
        result.reserveCapacity(8)  // one allocation for the objects of event payloads, not four
        while walk.more(UInt8(ascii: "}")) {
            guard let key = walk.key(), let value = walk.value() else { return nil }
            result.append((key, value))
        }
        return walk.finished(UInt8(ascii: "}")) ? result : nil
    }

    /// The elements of the array in `range`, in order; nil when it is not an
    /// array. `strict` as in ``members(in:strict:)``.
    package func elements(in range: Range<Int>, strict: Bool) -> [Range<Int>]? {
        var walk = Walk(bytes: bytes, index: range.lowerBound, end: range.upperBound, strict: strict)
        guard walk.open(UInt8(ascii: "[")) else { return nil }
        var result: [Range<Int>] = []
        result.reserveCapacity(4)
        while walk.more(UInt8(ascii: "]")) {
            guard let value = walk.value() else { return nil }
            result.append(value)
        }
        return walk.finished(UInt8(ascii: "]")) ? result : nil
    }

    /// The string the string literal in `range` holds (escapes as
    /// `JSONDecoder` reads them); nil when it is not one, or not valid UTF-8.
    package func string(_ range: Range<Int>) -> String? { JSONFields.unquoted(bytes[range]) }

    /// Whether `range` is exactly the literal `"name"` (no escapes): a key test without making a string.
    package func `is`(_ range: Range<Int>, _ name: StaticString) -> Bool {
        let count = name.utf8CodeUnitCount
        guard range.count == count + 2, bytes[range.lowerBound] == UInt8(ascii: "\""),
              bytes[range.upperBound - 1] == UInt8(ascii: "\"") else { return false }
        return name.withUTF8Buffer { name in
            bytes.withUnsafeBufferPointer { all in memcmp(all.baseAddress! + range.lowerBound + 1, name.baseAddress!, count) == 0 }
        }
    }

    /// Whether `range` is `null`.
    package func isNull(_ range: Range<Int>) -> Bool { bytes[range].elementsEqual("null".utf8) }

    /// One walk over the members or elements of one object or array.
    private struct Walk {
        let bytes: [UInt8]
        var index: Int
        let end: Int
        let strict: Bool
        /// Set when the text is malformed; every read then fails.
        var failed = false
        /// How many members or elements were read (strict: one comma between each two).
        var count = 0

        mutating func skipSpace() {
            while index < end, JSONFields.isSpace(bytes[index]) { index += 1 }
        }

        mutating func fail() -> Bool {
            failed = true
            return false
        }

        /// Skips the opening `bracket` (after white space); false when it is not there.
        mutating func open(_ bracket: UInt8) -> Bool {
            skipSpace()
            guard index < end, bytes[index] == bracket else { return false }
            index += 1
            return true
        }

        /// Whether another member or element follows (its comma skipped); false at `close` or an error.
        mutating func more(_ close: UInt8) -> Bool {
            guard !failed else { return false }
            if strict {
                skipSpace()
                guard index < end else { return fail() }
                if bytes[index] == close { return false }
                if count > 0 {
                    guard bytes[index] == UInt8(ascii: ",") else { return fail() }
                    index += 1
                    skipSpace()
                    // A comma must be followed by a member or an element.
                    guard index < end, bytes[index] != close else { return fail() }
                }
                count += 1
                return true
            }
            while true {
                skipSpace()
                guard index < end else { return fail() }
                if bytes[index] == close { return false }
                if bytes[index] != UInt8(ascii: ",") { return true }
                index += 1
            }
        }

        /// Whether the walk ended on `close` without an error (strict: and nothing but white space after it).
        mutating func finished(_ close: UInt8) -> Bool {
            guard !failed, index < end, bytes[index] == close else { return false }
            guard strict else { return true }
            index += 1
            skipSpace()
            return index == end
        }

        /// The next member's key (a string literal), its colon skipped; nil (and failed) when malformed.
        mutating func key() -> Range<Int>? {
            let start = index
            guard index < end, bytes[index] == UInt8(ascii: "\""), skipString() else {
                failed = true
                return nil
            }
            let key = start..<index
            skipSpace()
            guard index < end, bytes[index] == UInt8(ascii: ":") else {
                failed = true
                return nil
            }
            index += 1
            return key
        }

        /// The next value's range; nil (and failed) when malformed.
        mutating func value() -> Range<Int>? {
            skipSpace()
            let start = index
            // Strict: a value is never empty (`[1,,2]`, `{"a":}`).
            guard skipValue(), !strict || index > start else {
                failed = true
                return nil
            }
            return start..<index
        }

        /// Skips a string starting at `index` (on its quote); false when unterminated.
        mutating func skipString() -> Bool {
            index += 1
            while index < end {
                switch bytes[index] {
                case UInt8(ascii: "\\"): index += 2
                case UInt8(ascii: "\""):
                    index += 1
                    return true
                default: index += 1
                }
            }
            return false
        }

        /// Skips one value; false when malformed.
        mutating func skipValue() -> Bool {
            guard index < end else { return false }
            switch bytes[index] {
            case UInt8(ascii: "\""): return skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while index < end {
                    switch bytes[index] {
                    case UInt8(ascii: "\""): if !skipString() { return false }; continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 {
                            index += 1
                            return true
                        }
                    default: break
                    }
                    index += 1
                }
                return false
            default:
                while index < end, !JSONFields.isSpace(bytes[index]),
                      bytes[index] != UInt8(ascii: ","), bytes[index] != UInt8(ascii: "}"), bytes[index] != UInt8(ascii: "]") {
                    index += 1
                }
                return true
            }
        }
    }
}
