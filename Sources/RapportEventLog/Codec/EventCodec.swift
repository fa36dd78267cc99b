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
///
/// Event types that conform to ``FastJSONDecodable`` (the most frequent
/// ones) are read by their own fast path first; anything it declines goes
/// to `JSONDecoder`, so the result never differs.
public struct JSONEventCodec: EventCodec {
    /// Creates the codec.
    public init() {}

    // One configured encoder and decoder for every call: Foundation's are
    // safe to share between threads, and a replay decodes millions of payloads.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()
    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom(decodeDate)
        return decoder
    }()

    public func encode<E: Event>(_ event: E) throws -> Data {
        try Self.encoder.encode(event)
    }

    public func decode<E: Event>(_ type: E.Type, from data: Data) throws -> E {
        if let fast = type as? any FastJSONDecodable.Type, let event = fast.init(fastJSON: data) as? E { return event }
        return try Self.decoder.decode(type, from: data)
    }

    /// `.iso8601`, with a fast path for the form this codec writes
    /// (`2024-03-01T09:30:00Z`); every other form goes to Foundation's
    /// ISO 8601 parser, so exactly the same texts are accepted.
    @Sendable static func decodeDate(_ decoder: any Decoder) throws -> Date {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        if let date = internetDate(text) ?? (try? Date.ISO8601FormatStyle().parse(text)) { return date }
        throw DecodingError.dataCorruptedError(in: container, debugDescription: "Expected date string to be ISO8601-formatted.")
    }

    /// The date `yyyy-MM-ddTHH:mm:ssZ` (UTC, whole seconds, from the year
    /// 1600 on) names; nil for any other text or an impossible date (a 31st
    /// of April, a 25th hour).
    package static func internetDate(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { (bytes) -> Date? in
            guard bytes.count == 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
                  bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes[19] == UInt8(ascii: "Z") else { return nil }
            func number(_ start: Int, _ count: Int) -> Int? {
                var value = 0
                for index in start..<(start + count) {
                    let digit = Int(bytes[index]) - 48
                    guard (0...9).contains(digit) else { return nil }
                    value = value * 10 + digit
                }
                return value
            }
            guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
                  let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
                  (1...12).contains(month), hour < 24, minute < 60, second < 60,
                  // Foundation's calendar is Julian before the Gregorian reform: leave early years to it.
                  year >= 1600 else { return nil }
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            let length = switch month {
            case 2: leap ? 29 : 28
            case 4, 6, 9, 11: 30
            default: 31
            }
            guard (1...length).contains(day) else { return nil }
            // Days from 1970-01-01 to the date (proleptic Gregorian calendar).
            let y = month <= 2 ? year - 1 : year
            let era = (y >= 0 ? y : y - 399) / 400
            let yearOfEra = y - era * 400
            let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
            let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
            let days = era * 146_097 + dayOfEra - 719_468
            return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + hour * 3_600 + minute * 60 + second))
        }
    }
}

/// An event type that reads its JSON payload without `JSONDecoder`, for the
/// shape ``JSONEventCodec`` writes it in. Foundation's decoder spends most
/// of its time in generic containers: 14.7 µs per `ActivityLogged` on the
/// benchmark machine against 3.4 µs through its fast path (benchmark P1),
/// and a rebuild decodes every activity.
///
/// A fast path may decline anything it is not sure of (escapes it would
/// have to interpret, unknown or repeated keys, other number forms) by
/// returning nil; the codec then decodes with `JSONDecoder`. What it does
/// return must equal what `JSONDecoder` would.
///
/// ```swift
/// extension ActivityLogged: FastJSONDecodable {
///     package init?(fastJSON data: Data) { … }
/// }
/// ```
package protocol FastJSONDecodable {
    /// The value `data` holds, or nil to leave it to `JSONDecoder`.
    init?(fastJSON data: Data)
}

/// Helpers for ``FastJSONDecodable`` types: each reads one value of a
/// ``JSONText`` the way `JSONDecoder` would, or returns nil when it is not
/// sure.
package enum FastJSON {
    /// The members of the object in `range`, each put in its place in
    /// `values` by its key's index in `keys`; false when it is not an object
    /// (strictly), or has a key not in `keys` or one twice.
    package static func object(_ text: JSONText, _ range: Range<Int>, keys: [StaticString], into values: inout [Range<Int>?]) -> Bool {
        guard let members = text.members(in: range, strict: true) else { return false }
        if values.count == keys.count {
            for index in values.indices { values[index] = nil }
        } else {
            values = [Range<Int>?](repeating: nil, count: keys.count)
        }
        for member in members {
            guard let slot = keys.firstIndex(where: { text.is(member.key, $0) }), values[slot] == nil else { return false }
            values[slot] = member.value
        }
        return true
    }

    /// A string.
    package static func string(_ text: JSONText, _ range: Range<Int>?) -> String? { range.flatMap(text.string) }

    /// An optional string: absent or `null` is `.some(nil)`; nil when it is neither nor a string.
    package static func optionalString(_ text: JSONText, _ range: Range<Int>?) -> String?? {
        guard let range, !text.isNull(range) else { return .some(nil) }
        return text.string(range).map { .some($0) }
    }

    /// A string array.
    package static func strings(_ text: JSONText, _ range: Range<Int>?) -> [String]? {
        guard let range, let elements = text.elements(in: range, strict: true) else { return nil }
        var result: [String] = []
        result.reserveCapacity(elements.count)
        for element in elements {
            guard let string = text.string(element) else { return nil }
            result.append(string)
        }
        return result
    }

    /// A date as ``JSONEventCodec`` writes it (`2024-03-01T09:30:00Z`); other forms are left to Foundation.
    package static func date(_ text: JSONText, _ range: Range<Int>?) -> Date? {
        string(text, range).flatMap(JSONEventCodec.internetDate)
    }

    /// A finite number in JSON's own syntax
    /// (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`), read as `Double`
    /// reads it; nil for anything else (and for `0e…`, which Foundation's
    /// JSON reader refuses).
    package static func double(_ text: JSONText, _ range: Range<Int>?) -> Double? {
        guard let range else { return nil }
        var bytes = text.bytes[range]
        if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        func digits() -> Int {
            let count = bytes.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
            bytes = bytes.dropFirst(count)
            return count
        }
        let first = bytes.first
        let whole = digits()
        guard whole > 0, first != UInt8(ascii: "0") || whole == 1 else { return nil }
        // Foundation refuses `0e1` (though not `-0e1` or `0.0e1`): left to it.
        if first == UInt8(ascii: "0"), bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") { return nil }
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            guard digits() > 0 else { return nil }
        }
        if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
            guard digits() > 0 else { return nil }
        }
        guard bytes.isEmpty, let value = Double(String(decoding: text.bytes[range], as: UTF8.self)), value.isFinite else { return nil }
        return value
    }
}
