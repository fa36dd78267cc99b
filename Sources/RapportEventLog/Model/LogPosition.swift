/// The place of an event in the global log: gapless, starting at 1, in commit order.
///
/// Position 0 never holds an event; it stands for "before the first event",
/// which is what an empty store reports as its head.
///
/// ```swift
/// let head = try await store.headPosition()   // LogPosition(0) on an empty store
/// for try await event in store.events(from: head.next) { ... }
/// ```
public struct LogPosition: RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible, Codable
{
    /// The position as a number.
    public var rawValue: UInt64

    /// Creates a position from its number.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Creates a position from its number.
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public init(integerLiteral value: UInt64) { self.rawValue = value }

    /// "Before the first event": the head of an empty store.
    public static let start = LogPosition(0)

    /// The position right after this one.
    public var next: LogPosition { LogPosition(rawValue &+ 1) }

    public static func < (lhs: LogPosition, rhs: LogPosition) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(UInt64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
