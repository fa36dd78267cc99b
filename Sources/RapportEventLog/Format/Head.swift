/// The head of a stream or of a tag: how many events it has, and a ladder of
/// positions for the skip links.
///
/// `ladder[j]` is the position of the latest event whose number (stream version,
/// or sequence number within the tag) is a multiple of 2^j; `ladder[0]` is the
/// latest event. Each new event `v` stores two links: its predecessor
/// (`ladder[0]`) and the event numbered `v & (v - 1)` (`ladder[tz(v) + 1]`).
/// With both, any event number is reached from the head in O(log² n) hops
/// without any index page being written at append time.
///
/// Every backend keeps one per stream and per tag, so the links it writes into
/// records are the same everywhere (and so are the records' chain hashes).
///
/// `encode(into:)` and `init(decoding:)` are the fixed form (little-endian
/// UInt64s: the count, then the ladder, bit width of the count entries) that
/// LMDB stores of formats 1 and 2 hold; format 3 stores varints (RapportLMDB's
/// `StoredHead`). PostgreSQL stores the count and the ladder as columns.
package struct Head: Hashable, Sendable {
    package var count: UInt64 = 0
    package var ladder: [UInt64] = []

    package init() {}

    /// A head read back from its stored count and ladder.
    package init(count: UInt64, ladder: [UInt64]) {
        self.count = count
        self.ladder = ladder
    }

    package init(decoding bytes: UnsafeRawBufferPointer) {
        let words = bytes.count / 8
        guard words > 0 else { return }
        count = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        ladder = (1..<words).map { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
    }

    /// Whether the stored form is well formed: the ladder has one entry per bit of the count.
    package var isWellFormed: Bool { ladder.count == 64 - count.leadingZeroBitCount }

    package var encodedCount: Int { 8 * (1 + ladder.count) }

    package func encode(into buffer: UnsafeMutableRawBufferPointer) {
        buffer.storeBytes(of: count.littleEndian, as: UInt64.self)
        for (index, position) in ladder.enumerated() {
            buffer.storeBytes(of: position.littleEndian, toByteOffset: 8 * (index + 1), as: UInt64.self)
        }
    }

    /// The last event's position, or 0.
    package var lastPosition: UInt64 { ladder.first ?? 0 }

    /// Records event number `count + 1` at `position`; returns its links.
    package mutating func append(position: UInt64) -> (previous: UInt64, skip: UInt64) {
        let number = count + 1
        let previous = ladder.first ?? 0
        let skipTarget = number & (number - 1)
        let level = number.trailingZeroBitCount
        let skip = skipTarget == 0 ? 0 : ladder[level + 1]
        count = number
        let width = 64 - number.leadingZeroBitCount
        if ladder.count < width { ladder.append(contentsOf: repeatElement(0, count: width - ladder.count)) }
        for j in 0...level { ladder[j] = position }
        return (previous, skip)
    }

    /// The entry to start a walk towards event number `target` from: the
    /// smallest ladder number that is still at least `target`.
    package func start(towards target: UInt64) -> (number: UInt64, position: UInt64) {
        var best = (number: count, position: ladder.first ?? 0)
        for j in 1..<Swift.max(ladder.count, 1) {
            let number = count & ~((1 << UInt64(j)) - 1)
            if number >= target && number > 0 { best = (number, ladder[j]) } else { break }
        }
        return best
    }
}
