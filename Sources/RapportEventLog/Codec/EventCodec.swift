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
        try Self.decoder.decode(type, from: data)
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
    static func internetDate(_ text: String) -> Date? {
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
