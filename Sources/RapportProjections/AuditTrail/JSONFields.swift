import Foundation

/// The top-level members of a JSON object, each value as its exact text
/// (numbers are not reinterpreted, so decimal amounts keep every digit).
enum JSONFields {
    /// The members of the object `data` holds, in document order; nil when it is not an object.
    static func members(of data: Data) -> [(key: String, value: String)]? {
        let bytes = [UInt8](data)
        var index = 0
        func skipSpace() {
            while index < bytes.count, isSpace(bytes[index]) { index += 1 }
        }
        /// Skips a string starting at `index` (on its quote); false when unterminated.
        func skipString() -> Bool {
            index += 1
            while index < bytes.count {
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
        func skipValue() -> Bool {
            guard index < bytes.count else { return false }
            switch bytes[index] {
            case UInt8(ascii: "\""): return skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while index < bytes.count {
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
                while index < bytes.count, !isSpace(bytes[index]),
                      bytes[index] != UInt8(ascii: ","), bytes[index] != UInt8(ascii: "}"), bytes[index] != UInt8(ascii: "]") {
                    index += 1
                }
                return true
            }
        }
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        var result: [(String, String)] = []
        while true {
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "}") { return result }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            let keyStart = index
            guard bytes[index] == UInt8(ascii: "\""), skipString() else { return nil }
            guard let key = unquoted(bytes[keyStart..<index]) else { return nil }
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            skipSpace()
            let valueStart = index
            guard skipValue() else { return nil }
            result.append((key, String(decoding: bytes[valueStart..<index], as: UTF8.self)))
        }
    }

    /// The string a JSON string literal holds, or nil when `text` is not one.
    static func string(_ text: String) -> String? {
        unquoted(Array(text.utf8)[...])
    }

    /// The string the JSON string literal `literal` (quotes included) holds;
    /// nil when it is not one. Literals without escapes, nearly all of them,
    /// are read without a JSON decoder.
    static func unquoted(_ literal: ArraySlice<UInt8>) -> String? {
        guard literal.count >= 2, literal.first == UInt8(ascii: "\""), literal.last == UInt8(ascii: "\"") else { return nil }
        let inner = literal.dropFirst().dropLast()
        if !inner.contains(where: needsEscape) {
            return String(validating: inner, as: UTF8.self)
        }
        return try? JSONDecoder().decode(String.self, from: Data(literal))
    }

    /// Whether a JSON string literal writes `byte` escaped (a quote, a backslash, a control character).
    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") || byte < 0x20
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// `text` as a JSON string literal.
    static func literal(_ text: String) -> String {
        if !text.utf8.contains(where: needsEscape) {
            return "\"" + text + "\""
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return String(decoding: (try? encoder.encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}
