import Crypto
import Foundation
import RapportEventLog

/// How the projections of this module spell their read-model keys.
///
/// Numbers are zero-padded to 20 digits, so the byte order of keys (the
/// order a `ReadModelReader` iterates them in) is numeric order; a position
/// subtracted from `UInt64.max` ("inverted") sorts newest first. Free text in
/// a key (an actor id, a field name) has `%` and `/` escaped, so `/` always
/// separates components.
enum Key {
    /// The width of every number in a key.
    static let width = 20

    /// `value` zero-padded to ``width`` digits.
    static func padded(_ value: UInt64) -> String {
        let digits = String(value)
        return String(repeating: "0", count: width - digits.count) + digits
    }

    /// A position, ascending.
    static func position(_ position: LogPosition) -> String { padded(position.rawValue) }

    /// A position, newest first.
    static func inverted(_ position: LogPosition) -> String { padded(UInt64.max - position.rawValue) }

    /// A date to the second, ascending (valid from about 1200 BC on).
    static func date(_ date: Date) -> String { padded(dateNumber(date)) }

    /// The number ``date(_:)`` pads.
    static func dateNumber(_ date: Date) -> UInt64 {
        // Clamped, never trapping: a query's cut-off may be any date (`contactsNotContacted(forDays: .max)`).
        let shifted = date.timeIntervalSince1970.rounded(.down) + Double(dateOffset)
        guard shifted > 0 else { return 0 }  // also NaN
        return shifted < 1e19 ? UInt64(shifted) : 10_000_000_000_000_000_000
    }

    static let dateOffset: Int64 = 100_000_000_000

    /// `text` in Unicode normalization form C with `%` and `/` escaped, safe
    /// as one key component: two spellings of one name make one key (the
    /// stores compare key bytes, Swift's `==` canonical equivalence).
    static func component(_ text: String) -> String {
        escaped(TextRules.canonical(text))
    }

    /// `text` with `%` and `/` escaped, as it is.
    private static func escaped(_ text: String) -> String {
        // Most components (ids, names) need no escape: no new string then.
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "/") }) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "%": result += "%25"
            case "/": result += "%2F"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// The longest component ``boundedComponent(_:)`` keeps as text, in bytes.
    static let maximumComponentSize = 128

    /// ``component(_:)``, or, when that is longer than
    /// ``maximumComponentSize`` bytes, `%H` and the SHA-256 of `text` in hex
    /// (66 bytes): keys built of such components stay under a store's key
    /// limit (LMDB's 511 bytes) for every valid stream id, tag or type. The
    /// form is unambiguous (an escaped component has no `%H`) and, as a
    /// digest, keeps different texts apart; it cannot be decoded, and is
    /// only used where a key is looked up from its text.
    static func boundedComponent(_ text: String) -> String {
        let text = TextRules.canonical(text)
        let escaped = escaped(text)
        guard escaped.utf8.count > maximumComponentSize else { return escaped }
        let digest = SHA256.hash(data: Array(text.utf8))
        return "%H" + digest.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The inverse of ``component(_:)``.
    static func decodeComponent(_ text: Substring) -> String {
        text.replacingOccurrences(of: "%2F", with: "/").replacingOccurrences(of: "%25", with: "%")
    }
}

extension ReadModelReader {
    /// Calls `body` with every key `base + n…` for the numbers `n` in `range`
    /// (numbers of ``Key/width`` digits, possibly followed by more
    /// components), in key order, until `body` returns false. One seek to
    /// the range's start, then a walk that ends at the range's end.
    ///
    /// - Returns: false when `body` stopped the scan.
    @discardableResult
    func forEach(base: String, in range: ClosedRange<UInt64>, _ body: (String, [UInt8]) -> Bool) throws(EventStoreError) -> Bool {
        try forEachInPlace(base: base, in: range) { key, value in
            body(String(decoding: key, as: UTF8.self), Array(value))
        }
    }

    /// ``forEach(base:in:_:)`` lending the bytes of each key and value, valid
    /// only during that call of `body` (see
    /// `ReadModelReader.forEachInPlace(keyPrefix:from:_:)`). The range's end
    /// is found by comparing bytes (`memcmp`).
    ///
    /// - Returns: false when `body` stopped the scan.
    @discardableResult
    func forEachInPlace(
        base: String, in range: ClosedRange<UInt64>, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool
    ) throws(EventStoreError) -> Bool {
        let last = Array(Key.padded(range.upperBound).utf8)
        let skip = base.utf8.count
        var stopped = false
        try last.withUnsafeBytes { last in
            Result { () throws(EventStoreError) in
                try forEachInPlace(keyPrefix: base, from: base + Key.padded(range.lowerBound)) { key, value in
                    // Past the end when the number (or what there is of it) sorts after the last one.
                    let length = min(Key.width, key.count - skip)
                    guard length <= 0 || memcmp(last.baseAddress!, key.baseAddress! + skip, length) >= 0 else { return false }
                    if body(key, value) { return true }
                    stopped = true
                    return false
                }
            }
        }.get()
        return !stopped
    }
}
