package import Foundation

// UUIDs as text, on the replay's hot path: every id in a payload, a stream
// name, a tag or a read-model key is parsed or printed once per event.
// Foundation parses with `sscanf` and prints upper case (which the library
// then lowercases, a second string); these read and write the 36 bytes
// directly.
extension UUID {
    /// Parses `text` as a UUID. The canonical form (8-4-4-4-12 hex digits of
    /// either case) is read directly; any other text goes to
    /// `UUID(uuidString:)`, so exactly the texts Foundation accepts are
    /// accepted, with the same value.
    ///
    /// ```swift
    /// UUID(text: "0193a5b2-7c41-7d3e-8f00-1234567890ab")   // a UUID
    /// UUID(text: "not a uuid")                              // nil
    /// ```
    package init?(text: String) {
        var text = text
        let parsed = text.withUTF8 { Self.canonical($0) }
        if let parsed {
            self = parsed
        } else if let foundation = UUID(uuidString: text) {
            self = foundation
        } else {
            return nil
        }
    }

    /// The canonical form's 16 bytes, or nil when `utf8` is not in it.
    private static func canonical(_ utf8: UnsafeBufferPointer<UInt8>) -> UUID? {
        guard utf8.count == 36, utf8[8] == 0x2D, utf8[13] == 0x2D, utf8[18] == 0x2D, utf8[23] == 0x2D else { return nil }
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let ok = withUnsafeMutableBytes(of: &bytes) { out -> Bool in
            var index = 0
            for byte in 0..<16 {
                if index == 8 || index == 13 || index == 18 || index == 23 { index += 1 }
                guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return false }
                out[byte] = high << 4 | low
                index += 2
            }
            return true
        }
        return ok ? UUID(uuid: bytes) : nil
    }

    @inline(__always)
    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c &- 0x30
        case 0x61...0x66: c &- 0x61 &+ 10
        case 0x41...0x46: c &- 0x41 &+ 10
        default: nil
        }
    }

    /// Whether this UUID's 16 bytes come before `other`'s, read as unsigned
    /// big-endian numbers: the order of their texts too (canonical hex of
    /// one case, dashes in the same places), without making the texts.
    ///
    /// ```swift
    /// a.precedes(b) == (a.lowercasedText < b.lowercasedText)   // always
    /// ```
    @inline(__always)
    package func precedes(_ other: UUID) -> Bool {
        withUnsafeBytes(of: uuid) { l in
            withUnsafeBytes(of: other.uuid) { r in
                let (lh, rh) = (UInt64(bigEndian: l.loadUnaligned(as: UInt64.self)), UInt64(bigEndian: r.loadUnaligned(as: UInt64.self)))
                if lh != rh { return lh < rh }
                return UInt64(bigEndian: l.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
                    < UInt64(bigEndian: r.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            }
        }
    }

    /// The UUID in lower case, as the library writes ids in stream names,
    /// tags and keys: `uuidString.lowercased()` without the second string.
    ///
    /// ```swift
    /// contactID.uuid.lowercasedText   // "0193a5b2-7c41-7d3e-8f00-1234567890ab"
    /// ```
    package var lowercasedText: String {
        let digits: StaticString = "0123456789abcdef"
        return withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { out in
                digits.withUTF8Buffer { hex in
                    var index = 0
                    for byte in 0..<16 {
                        if byte == 4 || byte == 6 || byte == 8 || byte == 10 {
                            out[index] = 0x2D
                            index += 1
                        }
                        out[index] = hex[Int(bytes[byte] >> 4)]
                        out[index + 1] = hex[Int(bytes[byte] & 0x0F)]
                        index += 2
                    }
                }
                return 36
            }
        }
    }
}

extension SingleValueDecodingContainer {
    /// A UUID stored as text, parsed by ``Foundation/UUID/init(text:)``;
    /// fails as `decode(UUID.self)` does. A value that is not text goes to
    /// `decode(UUID.self)`, for coders that store UUIDs in a form of their own.
    package func decodeUUID() throws -> UUID {
        let text: String
        do { text = try decode(String.self) } catch DecodingError.typeMismatch { return try decode(UUID.self) }
        guard let uuid = UUID(text: text) else {
            throw DecodingError.dataCorruptedError(in: self, debugDescription: "Attempted to decode UUID from invalid UUID string.")
        }
        return uuid
    }
}

extension KeyedDecodingContainer {
    /// The UUID under `key`, stored as text, parsed by ``Foundation/UUID/init(text:)``;
    /// fails as `decode(UUID.self, forKey:)` does. A value that is not text
    /// goes to `decode(UUID.self, forKey:)`, as above.
    package func decodeUUID(forKey key: Key) throws -> UUID {
        let text: String
        do { text = try decode(String.self, forKey: key) } catch DecodingError.typeMismatch { return try decode(UUID.self, forKey: key) }
        guard let uuid = UUID(text: text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "Attempted to decode UUID from invalid UUID string.")
        }
        return uuid
    }
}
