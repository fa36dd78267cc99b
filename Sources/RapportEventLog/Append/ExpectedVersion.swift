/// What the caller believes about a stream's version when appending to it.
///
/// The store compares it with the stream's actual version inside the append's
/// transaction, so two writers cannot both succeed on the same belief.
///
/// ```swift
/// try await store.append(events, to: stream, expecting: .noStream)      // create
/// try await store.append(events, to: stream, expecting: .exactly(7))    // optimistic update
/// ```
public enum ExpectedVersion: Hashable, Sendable, CustomStringConvertible {
    /// No check.
    case any
    /// The stream must have no events yet.
    case noStream
    /// The stream must have at least one event.
    case streamExists
    /// The stream's last event must have exactly this version (1 for a stream of one event).
    /// `.exactly(0)` means the same as ``noStream``. `.exactly(UInt64.max)`,
    /// a version no stream can reach, is refused as
    /// ``EventStoreError/invalidEvent(_:)`` before anything is read.
    case exactly(UInt64)

    /// Whether a stream whose current version is `actual` (0 when it has no events) satisfies this.
    public func isSatisfied(by actual: UInt64) -> Bool {
        switch self {
        case .any: return true
        case .noStream: return actual == 0
        case .streamExists: return actual > 0
        case .exactly(let expected): return actual == expected
        }
    }

    public var description: String {
        switch self {
        case .any: return "any version"
        case .noStream: return "no stream"
        case .streamExists: return "an existing stream"
        case .exactly(let version): return "version \(version)"
        }
    }
}
