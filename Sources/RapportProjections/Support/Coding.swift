public import Foundation
import RapportEventLog

/// Dates as ISO 8601 text with microseconds (`2026-03-01T09:30:00.250000Z`),
/// the precision the log records times with. Every value this module stores
/// or exports writes dates this way, so an export read back is equal to the
/// entries it came from.
///
/// ```swift
/// let text = ProjectionTimestamp.string(from: entry.recordedAt)
/// let back = try ProjectionTimestamp.date(from: text)      // == entry.recordedAt
/// ```
public enum ProjectionTimestamp {
    /// The date's microseconds since 1970, rounded to the nearest (held to
    /// `Int64`'s range: a date read from a damaged value never traps).
    public static func microseconds(of date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1_000_000).rounded()
        guard value > -9_223_372_036_854_775_808.0 else { return .min }  // also NaN
        return value < 9_223_372_036_854_775_808.0 ? Int64(value) : .max
    }

    /// The date `microseconds` after 1970.
    public static func date(microseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)
    }

    /// `date` as `yyyy-MM-ddTHH:mm:ss.ffffffZ` (UTC).
    public static func string(from date: Date) -> String {
        let micros = microseconds(of: date)
        var seconds = micros / 1_000_000
        var fraction = micros % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        let whole = Date(timeIntervalSince1970: Double(seconds)).formatted(.iso8601)  // …:ssZ
        let digits = String(fraction)
        return whole.dropLast() + "." + String(repeating: "0", count: 6 - digits.count) + digits + "Z"
    }

    /// Parses what ``string(from:)`` writes (a fraction of 0 to 9 digits is accepted).
    ///
    /// - Throws: `DecodingError.dataCorrupted` for other text.
    public static func date(from text: String) throws -> Date {
        let body = text.hasSuffix("Z") ? text.dropLast() : Substring(text)
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = try? Date(String(parts[0]) + "Z", strategy: .iso8601) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(text) is not an ISO 8601 date"))
        }
        var micros = Int64(whole.timeIntervalSince1970.rounded()) * 1_000_000
        if parts.count == 2 {
            let fraction = parts[1].prefix(6)
            guard !parts[1].isEmpty, parts[1].allSatisfy(\.isASCII), parts[1].allSatisfy(\.isNumber),
                  let value = Int64(fraction + String(repeating: "0", count: 6 - fraction.count))
            else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(text) has a bad fraction")) }
            micros += value
        }
        return date(microseconds: micros)
    }

    /// The JSON encoder of this module: sorted keys, dates by ``string(from:)``.
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(string(from: date))
        }
        return encoder
    }

    /// The JSON decoder matching ``makeEncoder()``.
    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            try date(from: try decoder.singleValueContainer().decode(String.self))
        }
        return decoder
    }
}

/// Encoding and decoding of stored values: the compact binary form for
/// ``CompactValue`` types, JSON for the others (sendable: a fresh coder per
/// JSON call). Decoding goes by the stored bytes, so values written as JSON
/// by an earlier version still read.
enum Stored {
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        if let compact = value as? any CompactValue { return compact.compactBytes }
        return Array(try ProjectionTimestamp.makeEncoder().encode(value))
    }

    static func encode<T: CompactValue>(_ value: T) -> [UInt8] { value.compactBytes }

    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBytes { try decode(T.self, $0) }
    }

    static func decode<T: CompactValue>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBytes { try decode(T.self, $0) }
    }

    /// Decodes `bytes` in place (a compact value) or copies them for the JSON decoder.
    static func decode<T: Decodable>(_ type: T.Type, _ bytes: UnsafeRawBufferPointer) throws -> T {
        if bytes.first == CompactWriter.marker, let compact = T.self as? any CompactValue.Type {
            return try compact.init(compactBytes: bytes) as! T
        }
        return try ProjectionTimestamp.makeDecoder().decode(T.self, from: Data(bytes))
    }

    /// Decodes `bytes` in place (a compact value) or copies them for the JSON decoder.
    static func decode<T: CompactValue>(_ type: T.Type, _ bytes: UnsafeRawBufferPointer) throws -> T {
        if bytes.first == CompactWriter.marker { return try T(compactBytes: bytes) }
        return try ProjectionTimestamp.makeDecoder().decode(T.self, from: Data(bytes))
    }

    /// The value of an index key, which only its key matters for.
    static let marker: [UInt8] = [0x31]
}
