public import Foundation
import Synchronization

/// The identity of one event: a UUID chosen by whoever proposes the event.
///
/// Appending an event whose id is already stored does not write it again: the
/// store answers with the stored position, so a retried append is safe.
/// ``EventID/init()`` makes a time-ordered UUID (version 7), which keeps the
/// store's id index writing near its end instead of all over it.
///
/// ```swift
/// let id = EventID()                       // UUIDv7, increasing
/// let fixed = EventID(UUID(uuidString: "0193…")!)
/// ```
public struct EventID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// The UUID.
    public let uuid: UUID

    /// Wraps an existing UUID (for example one your application already stores).
    public init(_ uuid: UUID) { self.uuid = uuid }

    /// A new time-ordered UUID (RFC 9562 version 7). Ids made by one process are
    /// strictly increasing, even within one millisecond.
    public init() { self.uuid = UUIDv7Generator.shared.next() }

    /// The 16 bytes of the UUID, most significant first.
    public var bytes: [UInt8] {
        withUnsafeBytes(of: uuid.uuid) { Array($0) }
    }

    /// Reads an id from 16 bytes.
    package init(bytes raw: UnsafeRawBufferPointer) {
        var value: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw.prefix(16))) }
        self.uuid = UUID(uuid: value)
    }

    public var description: String { uuid.lowercasedText }

    public static func < (lhs: EventID, rhs: EventID) -> Bool { lhs.uuid.precedes(rhs.uuid) }

    public init(from decoder: any Decoder) throws {
        uuid = try decoder.singleValueContainer().decodeUUID()
    }

    /// Encodes the id as lower-case text, as ``description`` spells it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Makes UUIDv7 values that increase strictly within the process: the 12-bit
/// `rand_a` field counts up within one millisecond (RFC 9562, method 1).
final class UUIDv7Generator: Sendable {
    static let shared = UUIDv7Generator()

    private struct State {
        var lastMillis: UInt64 = 0
        var counter: UInt16 = 0
        /// The random bits: ids need uniqueness, not secrecy, so one fast
        /// generator seeded from the system's randomness replaces a system
        /// call per id.
        var random: SplitMix64 = {
            var system = SystemRandomNumberGenerator()
            return SplitMix64(seed: system.next())
        }()
    }
    private let state = Mutex(State())

    func next() -> UUID {
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let (millis, counter, tail) = state.withLock { s -> (UInt64, UInt16, UInt64) in
            if now > s.lastMillis {
                s.lastMillis = now
                s.counter = UInt16(truncatingIfNeeded: s.random.next() & 0x3FF)
            } else if s.counter >= 0xFFF {
                s.lastMillis += 1
                s.counter = 0
            } else {
                s.counter += 1
            }
            return (s.lastMillis, s.counter, s.random.next())
        }
        let b: [UInt8] = [
            UInt8(truncatingIfNeeded: millis >> 40), UInt8(truncatingIfNeeded: millis >> 32),
            UInt8(truncatingIfNeeded: millis >> 24), UInt8(truncatingIfNeeded: millis >> 16),
            UInt8(truncatingIfNeeded: millis >> 8), UInt8(truncatingIfNeeded: millis),
            0x70 | UInt8(counter >> 8), UInt8(truncatingIfNeeded: counter),
            0x80 | UInt8(truncatingIfNeeded: tail >> 56) & 0x3F, UInt8(truncatingIfNeeded: tail >> 48),
            UInt8(truncatingIfNeeded: tail >> 40), UInt8(truncatingIfNeeded: tail >> 32),
            UInt8(truncatingIfNeeded: tail >> 24), UInt8(truncatingIfNeeded: tail >> 16),
            UInt8(truncatingIfNeeded: tail >> 8), UInt8(truncatingIfNeeded: tail),
        ]
        return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }
}
