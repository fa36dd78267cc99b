/// Which events a read of the whole log returns.
///
/// Within ``types`` and within ``tags`` any match counts; when both are given,
/// an event must match both. `nil` means "no restriction".
///
/// ```swift
/// let filter = LogFilter(types: ["DealWon", "DealLost"], tags: [try Tag("owner:anna")])
/// for try await event in store.events(from: 1, filter: filter) { … }
/// ```
public struct LogFilter: Hashable, Sendable {
    /// Event type names to keep, or nil for all types.
    public var types: Set<String>?
    /// Tags to keep (an event with any of them), or nil for all events.
    public var tags: Set<Tag>?

    /// Creates a filter.
    public init(types: Set<String>? = nil, tags: Set<Tag>? = nil) {
        self.types = types
        self.tags = tags
    }

    /// Every event.
    public static let all = LogFilter()

    /// Whether `event` passes the filter.
    public func matches(_ event: RecordedEvent) -> Bool {
        if let types, !types.contains(event.type) { return false }
        if let tags, !event.tags.contains(where: tags.contains) { return false }
        return true
    }

    /// Whether the stored record passes the filter, without allocating.
    public func matches(_ view: RecordView) -> Bool {
        if let types, !types.contains(where: view.hasType) { return false }
        if let tags, !tags.contains(where: view.hasTag) { return false }
        return true
    }
}

/// The order of a stream read.
public enum ReadDirection: Hashable, Sendable {
    /// Oldest first, from the given version up.
    case forward
    /// Newest first, from the given version down.
    case backward
}
