import Foundation
import RapportEventLog

/// A read-model value this module writes in its compact binary form instead
/// of JSON: the values written for nearly every event (timeline and audit
/// entries, contact links and statuses), where JSON cost more than
/// everything else a rebuild does.
///
/// The form: the byte `0xC1` (never the first byte of UTF-8 text, so never
/// of JSON), then the fields in declaration order. Unsigned numbers are
/// LEB128 varints, signed ones zigzag varints, dates signed microseconds
/// since 1970 (the precision the log records), strings a varint length then
/// UTF-8, UUIDs 16 bytes, optionals a 0/1 byte then the value, arrays a
/// varint count then the elements. Values stored as JSON by earlier
/// versions still read: ``Stored`` decides by the first byte.
protocol CompactValue: Codable {
    /// Appends the fields (without the leading marker).
    func write(to out: inout CompactWriter)
    /// Reads the fields back.
    init(from input: inout CompactReader) throws(CompactReader.Malformed)
    /// The value in its compact form (the marker, then what `write(to:)` appends).
    var compactBytes: [UInt8] { get }
}

/// Builds a compact value.
struct CompactWriter {
    /// The first byte of every compact value.
    static let marker: UInt8 = 0xC1

    private(set) var bytes: [UInt8]

    init(capacity: Int = 128) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(Self.marker)
    }

    mutating func unsigned(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func signed(_ value: Int64) {
        unsigned(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            unsigned(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func date(_ value: Date) { signed(ProjectionTimestamp.microseconds(of: value)) }

    mutating func uuid(_ value: UUID) {
        withUnsafeBytes(of: value.uuid) { bytes.append(contentsOf: $0) }
    }

    mutating func principal(_ value: Principal) {
        string(value.id)
        string(value.role.rawValue)
    }

    /// A 0 byte for nil, else a 1 byte and the value written by `body`.
    mutating func optional<T>(_ value: T?, _ body: (inout CompactWriter, T) -> Void) {
        guard let value else { return bytes.append(0) }
        bytes.append(1)
        body(&self, value)
    }

    mutating func strings(_ values: [String]) {
        unsigned(UInt64(values.count))
        for value in values { string(value) }
    }

    /// Bytes as they are, with no length: fields another value wrote already.
    mutating func raw(_ value: some Collection<UInt8>) {
        bytes.append(contentsOf: value)
    }

    /// Bytes as they are, after their length.
    mutating func blob(_ value: some Collection<UInt8>) {
        unsigned(UInt64(value.count))
        bytes.append(contentsOf: value)
    }
}

/// Reads a compact value in place, from bytes it borrows (an array's, or a
/// storage's own memory lent by `ReadModelReader.forEachInPlace`): a reader
/// lives only inside the scope that lends them, as in
/// `CompactValue.init(compactBytes:)`. Every read checks the bounds, so a
/// truncated or damaged value is an error, never a crash.
struct CompactReader {
    /// Why a value could not be read.
    struct Malformed: Error, CustomStringConvertible {
        var reason: String
        var description: String { "malformed compact value: \(reason)" }
    }

    private let bytes: UnsafeRawBufferPointer
    private var index: Int

    /// A reader of `bytes`, which must start with ``CompactWriter/marker``
    /// and stay valid as long as the reader is used.
    init(borrowing bytes: UnsafeRawBufferPointer) throws(Malformed) {
        guard bytes.first == CompactWriter.marker else { throw Malformed(reason: "no compact marker") }
        self.bytes = bytes
        index = 1
    }

    /// Whether every byte was read.
    var isAtEnd: Bool { index == bytes.count }

    /// Where the next read starts, counted from the marker.
    var offset: Int { index }

    /// The bytes read since `start` (an earlier ``offset``), in place.
    func bytes(since start: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[start..<index])
    }

    /// Moves past `count` bytes.
    mutating func skip(_ count: Int) throws(Malformed) {
        guard count <= remaining else { throw Malformed(reason: "length \(count) past the end") }
        index += count
    }

    /// Moves past a string, as ``string()`` would read it.
    mutating func skipString() throws(Malformed) {
        index += try count()
    }

    /// The bytes left.
    private var remaining: Int { bytes.count - index }

    @inline(__always)
    mutating func byte() throws(Malformed) -> UInt8 {
        guard index < bytes.count else { throw Malformed(reason: "truncated at byte \(index)") }
        defer { index += 1 }
        return bytes[index]
    }

    @inline(__always)
    mutating func unsigned() throws(Malformed) -> UInt64 {
        // One byte: positions' low bits, lengths, counts and flags mostly are.
        if index < bytes.count, bytes[index] < 0x80 {
            defer { index += 1 }
            return UInt64(bytes[index])
        }
        return try longUnsigned()
    }

    private mutating func longUnsigned() throws(Malformed) -> UInt64 {
        if remaining >= 10 {
            // The longest varint fits: no bounds check per byte.
            var result: UInt64 = 0
            var shift: UInt64 = 0
            var at = index
            while true {
                let next = bytes[at]
                at += 1
                guard shift < 63 || next <= 1 else { throw Malformed(reason: "varint too long at byte \(at)") }
                result |= UInt64(next & 0x7F) << shift
                if next < 0x80 {
                    index = at
                    return result
                }
                shift += 7
            }
        }
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let next = try byte()
            guard shift < 64, shift < 63 || next <= 1 else { throw Malformed(reason: "varint too long at byte \(index)") }
            result |= UInt64(next & 0x7F) << shift
            if next < 0x80 { return result }
            shift += 7
        }
    }

    /// An unsigned varint that must fit an `Int` (a damaged value is an error, not a trap).
    mutating func int() throws(Malformed) -> Int {
        let value = try unsigned()
        guard let result = Int(exactly: value) else { throw Malformed(reason: "\(value) is out of range") }
        return result
    }

    mutating func signed() throws(Malformed) -> Int64 {
        let raw = try unsigned()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    @inline(__always)
    mutating func bool() throws(Malformed) -> Bool {
        switch try byte() {
        case 0: false
        case 1: true
        case let other: throw Malformed(reason: "\(other) is not a boolean")
        }
    }

    mutating func count() throws(Malformed) -> Int {
        let value = try unsigned()
        guard value <= UInt64(remaining) else { throw Malformed(reason: "length \(value) past the end") }
        return Int(value)
    }

    mutating func string() throws(Malformed) -> String {
        let length = try count()
        defer { index += length }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[index..<index + length]), as: UTF8.self)
    }

    /// Reads a string's bytes with `read`, in place; when `read` returns
    /// nil, nothing is consumed (the caller reads the string another way).
    mutating func peekString<T>(_ read: (UnsafeRawBufferPointer) -> T?) throws(Malformed) -> T? {
        let start = index
        let length = try count()
        guard let value = read(UnsafeRawBufferPointer(rebasing: bytes[index..<index + length])) else {
            index = start
            return nil
        }
        index += length
        return value
    }

    mutating func date() throws(Malformed) -> Date { ProjectionTimestamp.date(microseconds: try signed()) }

    mutating func uuid() throws(Malformed) -> UUID {
        guard remaining >= 16 else { throw Malformed(reason: "truncated UUID") }
        defer { index += 16 }
        return UUID(uuid: bytes.loadUnaligned(fromByteOffset: index, as: uuid_t.self))
    }

    mutating func principal() throws(Malformed) -> Principal {
        Principal(id: try string(), role: Principal.Role(try string()))
    }

    /// Reads the 0/1 presence byte, then the value with `body` when present.
    @inline(__always)
    mutating func optional<T>(_ body: (inout CompactReader) throws(Malformed) -> T) throws(Malformed) -> T? {
        try bool() ? try body(&self) : nil
    }

    /// The bytes a ``CompactWriter/blob(_:)`` wrote, in place.
    mutating func blob() throws(Malformed) -> UnsafeRawBufferPointer {
        let length = try count()
        defer { index += length }
        return UnsafeRawBufferPointer(rebasing: bytes[index..<index + length])
    }

    mutating func strings() throws(Malformed) -> [String] {
        let count = try count()
        var result: [String] = []
        result.reserveCapacity(count)
        for _ in 0..<count { result.append(try string()) }
        return result
    }
}

extension CompactValue {
    /// The value in its compact form.
    var compactBytes: [UInt8] {
        var writer = CompactWriter()
        write(to: &writer)
        return writer.bytes
    }

    /// The value read from its compact form; trailing bytes are an error.
    init(compactBytes bytes: [UInt8]) throws(CompactReader.Malformed) {
        self = try bytes.withUnsafeBytes { raw in Result { () throws(CompactReader.Malformed) in try Self(compactBytes: raw) } }.get()
    }

    /// The value read in place from its compact form (bytes a storage lends,
    /// say); trailing bytes are an error. Nothing of `bytes` is kept.
    init(compactBytes bytes: UnsafeRawBufferPointer) throws(CompactReader.Malformed) {
        var reader = try CompactReader(borrowing: bytes)
        try self.init(from: &reader)
        guard reader.isAtEnd else { throw CompactReader.Malformed(reason: "trailing bytes") }
    }
}

extension Array: CompactValue where Element == String {
    func write(to out: inout CompactWriter) { out.strings(self) }
    init(from input: inout CompactReader) throws(CompactReader.Malformed) { self = try input.strings() }
}
