import RapportEventLog

/// How the LMDB store keeps a stream's or a tag's ``Head`` (format 3): the
/// count, then the ladder as its first entry followed by the gap from each
/// entry to the next, every number an unsigned LEB128 varint (7 bits a byte,
/// low bits first, the high bit set on every byte but the last).
///
/// The ladder's length is not stored: it is the bit width of the count. Its
/// entries never increase (`ladder[j]` is the latest event numbered a multiple
/// of 2^j, and every multiple of 2^j is one of 2^(j-1)), so the gaps are small
/// non-negative numbers. A stream of 100 events in a log of 1,000,000 takes
/// about 20 bytes instead of the 64 of format 2's fixed u64s, which halves the
/// `stream-heads` pages a commit touching many streams rewrites.
///
/// ```swift
/// let size = StoredHead.encodedCount(of: head)
/// StoredHead.encode(head, into: buffer)   // buffer.count == size
/// let again = StoredHead.decode(UnsafeRawBufferPointer(buffer))  // == head
/// ```
enum StoredHead {
    /// The bytes `encode(_:into:)` writes for `head`.
    static func encodedCount(of head: Head) -> Int {
        var size = varintSize(head.count)
        var previous = head.ladder.first ?? 0
        if !head.ladder.isEmpty { size += varintSize(previous) }
        for entry in head.ladder.dropFirst() {
            size += varintSize(previous &- entry)
            previous = entry
        }
        return size
    }

    /// Writes `head` into `buffer`, which holds exactly ``encodedCount(of:)`` bytes.
    /// The head must be well formed (a ladder entry per bit of the count, not increasing).
    static func encode(_ head: Head, into buffer: UnsafeMutableRawBufferPointer) {
        var offset = 0
        put(head.count, into: buffer, at: &offset)
        var previous: UInt64 = 0
        for (index, entry) in head.ladder.enumerated() {
            put(index == 0 ? entry : previous &- entry, into: buffer, at: &offset)
            previous = entry
        }
        precondition(offset == buffer.count, "a head's stored size changed while it was written")
    }

    /// `head` as stored bytes.
    static func encoded(_ head: Head) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: encodedCount(of: head)) { buffer, initialized in
            encode(head, into: UnsafeMutableRawBufferPointer(buffer))
            initialized = buffer.count
        }
    }

    /// The head stored in `bytes`, or nil when they are not a well-formed
    /// head: a truncated or overlong number, a gap larger than the entry
    /// before it, a zero entry, bytes left over, or more events than the
    /// last one's position (one event per position at most; this also
    /// refuses the count `UInt64.max`, which no next event could follow).
    static func decode(_ bytes: UnsafeRawBufferPointer) -> Head? {
        var offset = 0
        guard let count = get(bytes, at: &offset) else { return nil }
        let width = 64 - count.leadingZeroBitCount
        var ladder: [UInt64] = []
        ladder.reserveCapacity(width + 1)  // room for the next power of two without a reallocation
        var previous: UInt64 = 0
        for index in 0..<width {
            guard let value = get(bytes, at: &offset) else { return nil }
            let entry: UInt64
            if index == 0 {
                entry = value
            } else {
                guard value < previous else { return nil }
                entry = previous - value
            }
            guard entry > 0 else { return nil }
            ladder.append(entry)
            previous = entry
        }
        guard offset == bytes.count, count <= (ladder.first ?? 0), count < .max else { return nil }
        return Head(count: count, ladder: ladder)
    }

    @inline(__always)
    static func varintSize(_ value: UInt64) -> Int {
        Swift.max(1, (64 - value.leadingZeroBitCount + 6) / 7)
    }

    @inline(__always)
    private static func put(_ value: UInt64, into buffer: UnsafeMutableRawBufferPointer, at offset: inout Int) {
        var rest = value
        while rest >= 0x80 {
            buffer[offset] = UInt8(truncatingIfNeeded: rest) | 0x80
            offset += 1
            rest >>= 7
        }
        buffer[offset] = UInt8(rest)
        offset += 1
    }

    /// One varint; nil when the bytes end inside it, it does not fit 64 bits,
    /// or it is longer than needed (so every head has exactly one stored form).
    @inline(__always)
    private static func get(_ bytes: UnsafeRawBufferPointer, at offset: inout Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            let bits = UInt64(byte & 0x7f)
            guard shift < 64, shift < 63 || bits <= 1 else { return nil }
            value |= bits << shift
            if byte & 0x80 == 0 {
                guard byte != 0 || shift == 0 else { return nil }  // no trailing zero byte
                return value
            }
            shift += 7
        }
        return nil
    }
}
