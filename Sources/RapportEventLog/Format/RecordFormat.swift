import CRapportSupport
package import Crypto
package import Foundation

/// The stored form of one event, version 1. See `docs/storage-format.md`.
///
/// All integers are little-endian. The fixed header (128 bytes) can be read
/// without touching the variable part:
///
/// | offset | size | field |
/// |-------:|-----:|-------|
/// | 0 | 1 | format version (1) |
/// | 1 | 1 | flags: bit 0 compressed payload, bit 1 encrypted payload (reserved, 0 in v1) |
/// | 2 | 2 | header length (128) |
/// | 4 | 4 | record length |
/// | 8 | 8 | position |
/// | 16 | 8 | stream version |
/// | 24 | 8 | position of the stream's previous event (0: none) |
/// | 32 | 8 | skip link: position of stream version `v & (v - 1)` (0: none) |
/// | 40 | 8 | recorded-at, microseconds since 1970 UTC |
/// | 48 | 8 | occurred-at, microseconds since 1970 UTC (Int64.min: not given) |
/// | 56 | 16 | event id |
/// | 72 | 4 | schema version |
/// | 76 | 2 | stream id length |
/// | 78 | 2 | type name length |
/// | 80 | 2 | tag count |
/// | 82 | 2 | metadata length |
/// | 84 | 4 | payload length |
/// | 88 | 4 | CRC-32C of the record without this field |
/// | 92 | 4 | reserved (0) |
/// | 96 | 32 | chain hash: SHA-256(previous chain hash, bytes 0..<88, bytes 128..<end) |
/// | 128 | … | stream id, type name, metadata, tags, payload |
package enum RecordFormat {
    package static let formatVersion: UInt8 = 1
    package static let headerSize = 128
    package static let maximumNameLength = 255
    /// The most tags the header's 16-bit count can say, whatever ``EventLimits`` allow.
    package static let maximumTagCount = Int(UInt16.max)
    /// The largest record the header's 32-bit length can say, whatever ``EventLimits`` allow.
    package static let maximumRecordSize = Int(UInt32.max)
    package static let knownFlags: UInt8 = 0
    package static let noOccurredAt = Int64.min
    /// What the metadata stores for an absent correlation or causation id
    /// (sixteen zero bytes): a present id may not be it, or it reads back as nil.
    package static let noID = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
    package static let chainHashSize = 32
    package static let genesisChainHash = [UInt8](repeating: 0, count: 32)

    package enum Offset {
        package static let version = 0, flags = 1, headerLength = 2, recordLength = 4
        package static let position = 8, streamVersion = 16, streamPrevious = 24, streamSkip = 32
        package static let recordedAt = 40, occurredAt = 48, eventID = 56, schemaVersion = 72
        package static let streamLength = 76, typeLength = 78, tagCount = 80, metadataLength = 82
        package static let payloadLength = 84, checksum = 88, reserved = 92, chainHash = 96
    }

    /// The links the store computes for an event when it assigns its position.
    package struct Assigned {
        package var position: UInt64
        package var streamVersion: UInt64
        package var streamPrevious: UInt64
        package var streamSkip: UInt64
        package var recordedAt: Int64

        package init(position: UInt64, streamVersion: UInt64, streamPrevious: UInt64, streamSkip: UInt64, recordedAt: Int64) {
            self.position = position
            self.streamVersion = streamVersion
            self.streamPrevious = streamPrevious
            self.streamSkip = streamSkip
            self.recordedAt = recordedAt
        }
    }

    /// The links of one tag: the previous event with the tag, and the skip link.
    package struct TagLink: Hashable {
        package var previous: UInt64
        package var skip: UInt64

        package init(previous: UInt64, skip: UInt64) {
            self.previous = previous
            self.skip = skip
        }
    }

    package static func metadataSize(_ metadata: EventMetadata) -> Int {
        6 + metadata.actor.id.utf8.count + metadata.actor.role.rawValue.utf8.count
            + metadata.channel.rawValue.utf8.count + 32
    }

    package static func encodedSize(of event: NewEvent, in stream: StreamID) -> Int {
        var size = headerSize + stream.rawValue.utf8.count + event.type.utf8.count + metadataSize(event.metadata)
        for tag in event.tags { size += 2 + tag.rawValue.utf8.count + 16 }
        return size + event.payload.count
    }

    package static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
    }

    package static func date(micros: Int64) -> Date {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }

    package static func isRepresentable(_ date: Date) -> Bool {
        let value = date.timeIntervalSince1970 * 1_000_000
        return value.isFinite && value > -9.2e18 && value < 9.2e18
    }

    package static func nowMicros() -> Int64 { micros(Date()) }

    /// Writes the record into `buffer`, which must be exactly `encodedSize` bytes,
    /// then fills in its checksum and its chain hash (computed from `previousChainHash`).
    package static func write(
        _ event: NewEvent, in stream: StreamID, assigned: Assigned, tagLinks: [TagLink],
        previousChainHash: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawBufferPointer
    ) {
        precondition(tagLinks.count == event.tags.count)
        let base = buffer.baseAddress!
        var writer = ByteWriter(base: base, offset: 0)
        writer.u8(formatVersion)
        writer.u8(0)
        writer.u16(UInt16(headerSize))
        writer.u32(UInt32(buffer.count))
        writer.u64(assigned.position)
        writer.u64(assigned.streamVersion)
        writer.u64(assigned.streamPrevious)
        writer.u64(assigned.streamSkip)
        writer.i64(assigned.recordedAt)
        writer.i64(event.occurredAt.map(micros) ?? noOccurredAt)
        withUnsafeBytes(of: event.id.uuid.uuid) { writer.bytes($0) }
        writer.u32(event.schemaVersion)
        writer.u16(UInt16(stream.rawValue.utf8.count))
        writer.u16(UInt16(event.type.utf8.count))
        writer.u16(UInt16(event.tags.count))
        writer.u16(UInt16(metadataSize(event.metadata)))
        writer.u32(UInt32(event.payload.count))
        writer.u32(0)  // checksum, filled below
        writer.u32(0)  // reserved
        writer.offset = headerSize
        writer.string(stream.rawValue)
        writer.string(event.type)
        writer.lengthPrefixed(event.metadata.actor.id)
        writer.lengthPrefixed(event.metadata.actor.role.rawValue)
        writer.lengthPrefixed(event.metadata.channel.rawValue)
        writer.uuid(event.metadata.correlationID)
        writer.uuid(event.metadata.causationID)
        for (tag, link) in zip(event.tags, tagLinks) {
            writer.lengthPrefixed(tag.rawValue)
            writer.u64(link.previous)
            writer.u64(link.skip)
        }
        event.payload.withUnsafeBytes { writer.bytes($0) }
        assert(writer.offset == buffer.count)

        let record = UnsafeRawBufferPointer(buffer)
        let hash = chainHash(of: record, previous: previousChainHash)
        hash.withUnsafeBytes { (base + Offset.chainHash).copyMemory(from: $0.baseAddress!, byteCount: chainHashSize) }
        let crc = checksum(of: record)
        (base + Offset.checksum).storeBytes(of: crc.littleEndian, as: UInt32.self)
    }

    /// SHA-256 over the previous chain hash and the record, leaving out the
    /// checksum, reserved and chain-hash fields.
    package static func chainHash(of record: UnsafeRawBufferPointer, previous: UnsafeRawBufferPointer) -> SHA256.Digest {
        var hasher = SHA256()
        hasher.update(bufferPointer: previous)
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: record[0..<Offset.checksum]))
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: record[headerSize...]))
        return hasher.finalize()
    }

    /// CRC-32C over the record without its checksum field.
    package static func checksum(of record: UnsafeRawBufferPointer) -> UInt32 {
        let base = record.baseAddress!
        var crc = rapport_crc32c(0, base, Offset.checksum)
        crc = rapport_crc32c(crc, base + Offset.reserved, record.count - Offset.reserved)
        return crc
    }

    /// The skip link target for stream (or tag) version `version`: `version & (version - 1)`.
    @inline(__always)
    package static func skipVersion(_ version: UInt64) -> UInt64 { version & (version &- 1) }
}

/// Sequential little-endian writes into raw memory.
struct ByteWriter {
    let base: UnsafeMutableRawPointer
    var offset: Int

    @inline(__always) mutating func u8(_ v: UInt8) { base.storeBytes(of: v, toByteOffset: offset, as: UInt8.self); offset += 1 }
    @inline(__always) mutating func u16(_ v: UInt16) { base.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt16.self); offset += 2 }
    @inline(__always) mutating func u32(_ v: UInt32) { base.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt32.self); offset += 4 }
    @inline(__always) mutating func u64(_ v: UInt64) { base.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt64.self); offset += 8 }
    @inline(__always) mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }

    @inline(__always) mutating func bytes(_ raw: UnsafeRawBufferPointer) {
        guard raw.count > 0 else { return }
        (base + offset).copyMemory(from: raw.baseAddress!, byteCount: raw.count)
        offset += raw.count
    }

    mutating func string(_ text: String) {
        var text = text
        text.withUTF8 { bytes(UnsafeRawBufferPointer($0)) }
    }

    mutating func lengthPrefixed(_ text: String) {
        u16(UInt16(text.utf8.count))
        string(text)
    }

    mutating func uuid(_ value: UUID?) {
        if let value {
            withUnsafeBytes(of: value.uuid) { bytes($0) }
        } else {
            (base + offset).initializeMemory(as: UInt8.self, repeating: 0, count: 16)
            offset += 16
        }
    }
}

/// CRC-32C of `bytes`.
package func rapportCRC32C(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    rapport_crc32c(0, bytes.baseAddress, bytes.count)
}
