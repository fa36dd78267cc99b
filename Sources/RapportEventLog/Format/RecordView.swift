import Foundation

/// A stored record read in place, without copying or decoding its payload.
///
/// A view is handed to a closure by the scanning APIs (for example
/// `LMDBEventStore.scan(from:_:)`) and is **valid only during that closure**: its
/// bytes point into the store's memory map, and nothing derived from
/// ``payload`` or ``bytes`` may escape the closure. Copy what you need, or call
/// ``materialize()``.
///
/// Creating a view checks the record's structure and checksum, so a view never
/// shows a damaged record.
///
/// ```swift
/// try store.scan(from: 1) { view in
///     guard view.hasType("DealWon") else { return .continue }
///     total += view.payload.count
///     return .continue
/// }
/// ```
public struct RecordView {
    /// The whole stored record. Valid only inside the closure that received the view.
    public let bytes: UnsafeRawBufferPointer

    private let metadataStart: Int
    private let tagsStart: Int
    private let payloadStart: Int

    /// Checks `bytes` as the record stored at `position`.
    ///
    /// - Throws: ``EventStoreError/corruptedRecord(position:reason:)`` when the
    ///   structure, the checksum or the position does not hold.
    public init(validating bytes: UnsafeRawBufferPointer, at position: LogPosition) throws(EventStoreError) {
        func corrupted(_ reason: String) -> EventStoreError { .corruptedRecord(position: position, reason: reason) }
        let count = bytes.count
        guard count >= RecordFormat.headerSize else { throw corrupted("the record is \(count) bytes, shorter than its header") }
        let base = bytes.baseAddress!
        func u16(_ at: Int) -> Int { Int(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt16.self))) }
        func u32(_ at: Int) -> Int { Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt32.self))) }
        let storedChecksum = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: RecordFormat.Offset.checksum, as: UInt32.self))
        guard storedChecksum == RecordFormat.checksum(of: bytes) else {
            throw corrupted("checksum mismatch")
        }
        let version = base.load(fromByteOffset: RecordFormat.Offset.version, as: UInt8.self)
        guard version == RecordFormat.formatVersion else { throw corrupted("unknown record format version \(version)") }
        let flags = base.load(fromByteOffset: RecordFormat.Offset.flags, as: UInt8.self)
        guard flags & ~RecordFormat.knownFlags == 0 else { throw corrupted("unsupported flags 0x\(String(flags, radix: 16))") }
        // Reserved bytes are outside the chain hash: anything but zero there is a change nothing else would show.
        guard u32(RecordFormat.Offset.reserved) == 0 else { throw corrupted("the reserved header bytes are not zero") }
        guard u16(RecordFormat.Offset.headerLength) == RecordFormat.headerSize,
              u32(RecordFormat.Offset.recordLength) == count
        else { throw corrupted("the header's lengths do not match the record") }
        let stored = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: RecordFormat.Offset.position, as: UInt64.self))
        guard stored == position.rawValue else { throw corrupted("the record says it is at position \(stored)") }
        let streamLength = u16(RecordFormat.Offset.streamLength)
        let typeLength = u16(RecordFormat.Offset.typeLength)
        let metadataLength = u16(RecordFormat.Offset.metadataLength)
        let payloadLength = u32(RecordFormat.Offset.payloadLength)
        metadataStart = RecordFormat.headerSize + streamLength + typeLength
        tagsStart = metadataStart + metadataLength
        payloadStart = count - payloadLength
        guard streamLength > 0, typeLength > 0, metadataLength >= 38, payloadStart >= tagsStart else {
            throw corrupted("the section lengths do not add up")
        }
        // The metadata's three texts and two ids must fill its section exactly, so
        // that reading them (materialize(), actorIDBytes) stays inside the record:
        // a record with a matching checksum may still come from another writer.
        var field = metadataStart
        for _ in 0..<3 {
            guard field + 2 <= tagsStart else { throw corrupted("the metadata section is truncated") }
            field += 2 + u16(field)
        }
        guard field + 32 == tagsStart else { throw corrupted("the metadata section's lengths do not add up") }
        self.bytes = bytes
        // Walk the tag section once so later accessors can trust it.
        var offset = tagsStart
        for _ in 0..<u16(RecordFormat.Offset.tagCount) {
            guard offset + 2 <= payloadStart else { throw corrupted("the tag section is truncated") }
            offset += 2 + u16(offset) + 16
        }
        guard offset == payloadStart else { throw corrupted("the tag section does not end where the payload starts") }
    }

    @inline(__always) private func u64(_ at: Int) -> UInt64 {
        UInt64(littleEndian: bytes.baseAddress!.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }
    @inline(__always) private func u16(_ at: Int) -> Int {
        Int(UInt16(littleEndian: bytes.baseAddress!.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
    }
    private func slice(_ start: Int, _ length: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)])
    }

    /// The record's position in the log.
    public var position: LogPosition { LogPosition(u64(RecordFormat.Offset.position)) }
    /// The event's version within its stream.
    public var streamVersion: UInt64 { u64(RecordFormat.Offset.streamVersion) }
    /// The position of the previous event of the same stream, or 0.
    public var previousInStream: LogPosition { LogPosition(u64(RecordFormat.Offset.streamPrevious)) }
    /// The position of stream version `streamVersion & (streamVersion - 1)`, or 0.
    public var skipInStream: LogPosition { LogPosition(u64(RecordFormat.Offset.streamSkip)) }
    /// When the store committed the event, in microseconds since 1970 UTC.
    public var recordedAtMicroseconds: Int64 { Int64(bitPattern: u64(RecordFormat.Offset.recordedAt)) }
    /// The schema version of the payload.
    public var schemaVersion: UInt32 {
        UInt32(littleEndian: bytes.baseAddress!.loadUnaligned(fromByteOffset: RecordFormat.Offset.schemaVersion, as: UInt32.self))
    }
    /// The stream id's UTF-8 bytes. Valid only inside the closure.
    public var streamIDBytes: UnsafeRawBufferPointer { slice(RecordFormat.headerSize, u16(RecordFormat.Offset.streamLength)) }
    /// The type name's UTF-8 bytes. Valid only inside the closure.
    public var typeBytes: UnsafeRawBufferPointer {
        slice(RecordFormat.headerSize + u16(RecordFormat.Offset.streamLength), u16(RecordFormat.Offset.typeLength))
    }
    /// The payload. Valid only inside the closure.
    public var payload: UnsafeRawBufferPointer { slice(payloadStart, bytes.count - payloadStart) }
    /// The stored chain hash. Valid only inside the closure.
    public var chainHashBytes: UnsafeRawBufferPointer { slice(RecordFormat.Offset.chainHash, RecordFormat.chainHashSize) }
    /// The number of tags.
    public var tagCount: Int { u16(RecordFormat.Offset.tagCount) }
    /// The UTF-8 bytes of the actor's id (the first field of the metadata).
    public var actorIDBytes: UnsafeRawBufferPointer { slice(metadataStart + 2, u16(metadataStart)) }

    /// The type name (allocates a string; compare with ``hasType(_:)`` on hot paths).
    public var type: String { String(decoding: typeBytes, as: UTF8.self) }

    /// Whether the record's type is `name`, without allocating.
    public func hasType(_ name: String) -> Bool { Self.equal(typeBytes, name) }

    /// Whether the record belongs to `stream`, without allocating.
    public func isInStream(_ stream: StreamID) -> Bool { Self.equal(streamIDBytes, stream.rawValue) }
    /// Whether the event was made by the actor with this id, without allocating.
    public func hasActor(_ id: String) -> Bool { Self.equal(actorIDBytes, id) }

    /// Whether the record carries `tag`, without allocating.
    public func hasTag(_ tag: Tag) -> Bool { tagLink(for: tag) != nil }

    /// The links stored for `tag` in this record, or nil when it does not carry the tag.
    package func tagLink(for tag: Tag) -> RecordFormat.TagLink? {
        var offset = tagsStart
        for _ in 0..<tagCount {
            let length = u16(offset)
            if Self.equal(slice(offset + 2, length), tag.rawValue) {
                return RecordFormat.TagLink(previous: u64(offset + 2 + length), skip: u64(offset + 10 + length))
            }
            offset += 2 + length + 16
        }
        return nil
    }

    /// Calls `body` with each tag's UTF-8 bytes and links.
    package func forEachTag(_ body: (UnsafeRawBufferPointer, RecordFormat.TagLink) -> Void) {
        var offset = tagsStart
        for _ in 0..<tagCount {
            let length = u16(offset)
            body(slice(offset + 2, length), RecordFormat.TagLink(previous: u64(offset + 2 + length), skip: u64(offset + 10 + length)))
            offset += 2 + length + 16
        }
    }

    /// Whether the stored chain hash equals SHA-256 over `previous` and this record.
    public func chainHashMatches(previous: UnsafeRawBufferPointer) -> Bool {
        let computed = RecordFormat.chainHash(of: bytes, previous: previous)
        return computed.withUnsafeBytes { $0.elementsEqual(chainHashBytes) }
    }

    /// Copies the record out of the store into a ``RecordedEvent``.
    public func materialize() -> RecordedEvent {
        var offset = metadataStart
        func text() -> String {
            let length = u16(offset)
            defer { offset += 2 + length }
            return String(decoding: slice(offset + 2, length), as: UTF8.self)
        }
        func uuid() -> UUID? {
            defer { offset += 16 }
            let raw = slice(offset, 16)
            if raw.allSatisfy({ $0 == 0 }) { return nil }
            return EventID(bytes: raw).uuid
        }
        let actorID = text()
        let role = text()
        let channel = text()
        let correlation = uuid()
        let causation = uuid()
        var tags: [Tag] = []
        tags.reserveCapacity(tagCount)
        forEachTag { name, _ in tags.append(Tag(unchecked: String(decoding: name, as: UTF8.self))) }
        let occurred = Int64(bitPattern: u64(RecordFormat.Offset.occurredAt))
        return RecordedEvent(
            position: position,
            streamID: StreamID(unchecked: String(decoding: streamIDBytes, as: UTF8.self)),
            streamVersion: streamVersion,
            id: EventID(bytes: slice(RecordFormat.Offset.eventID, 16)),
            type: type,
            schemaVersion: schemaVersion,
            recordedAt: RecordFormat.date(micros: recordedAtMicroseconds),
            occurredAt: occurred == RecordFormat.noOccurredAt ? nil : RecordFormat.date(micros: occurred),
            metadata: EventMetadata(
                actor: Principal(unchecked: actorID, role: Principal.Role(unchecked: role)), channel: Channel(unchecked: channel),
                correlationID: correlation, causationID: causation),
            tags: tags,
            payload: Data(payload),
            chainHash: Array(chainHashBytes)
        )
    }

    @inline(__always)
    package static func equal(_ raw: UnsafeRawBufferPointer, _ text: String) -> Bool {
        var text = text
        return text.withUTF8 { utf8 in
            utf8.count == raw.count && (raw.count == 0 || memcmp(utf8.baseAddress!, raw.baseAddress!, raw.count) == 0)
        }
    }
}
