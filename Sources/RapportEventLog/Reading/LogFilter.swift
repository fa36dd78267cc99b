/// Which events a read of the whole log returns.
///
/// Within ``types``, within ``tags`` and within ``actors`` any match counts;
/// when several are given, an event must match each of them. `nil` means "no
/// restriction".
///
/// ```swift
/// let filter = LogFilter(types: ["DealWon", "DealLost"], tags: [try Tag("owner:anna")])
/// for try await event in store.events(from: 1, filter: filter) { … }
///
/// // Everything one actor did, up to position 5,000:
/// let byAnna = LogFilter(actors: ["user:anna"], through: 5_000)
/// ```
///
/// The LMDB store answers each kind of filter from an index (tags from the
/// tag links, types and actors from their secondary indexes) without reading
/// the records that do not match; see docs/replay.md.
public struct LogFilter: Hashable, Sendable {
    /// Event type names to keep, or nil for all types (kept in Unicode
    /// normalization form C, as stored type names are).
    public var types: Set<String>? { didSet { types = Self.canonical(types) } }
    /// Tags to keep (an event with any of them), or nil for all events.
    public var tags: Set<Tag>?
    /// Actor ids to keep (``Principal/id``), or nil for every actor (kept in
    /// Unicode normalization form C, as stored actor ids are).
    public var actors: Set<String>? { didSet { actors = Self.canonical(actors) } }
    /// The last position to return, or nil for "up to the head". A read
    /// stops there instead of looking further for matches, so a bounded
    /// window of the log costs only what lies inside it.
    public var through: LogPosition?

    /// Creates a filter.
    public init(types: Set<String>? = nil, tags: Set<Tag>? = nil, actors: Set<String>? = nil, through: LogPosition? = nil) {
        self.types = Self.canonical(types)
        self.tags = tags
        self.actors = Self.canonical(actors)
        self.through = through
    }

    private static func canonical(_ names: Set<String>?) -> Set<String>? {
        // Swift's `==` calls two spellings equal; only non-ASCII names can be in another form.
        guard let names, !names.allSatisfy(TextRules.isASCII) else { return names }
        return Set(names.map(TextRules.canonical))
    }

    /// Every event.
    public static let all = LogFilter()

    /// Whether the filter lets every event through.
    public var isUnrestricted: Bool { types == nil && tags == nil && actors == nil && through == nil }

    /// Whether `event` passes the filter.
    public func matches(_ event: RecordedEvent) -> Bool {
        if let through, event.position > through { return false }
        if let types, !types.contains(event.type) { return false }
        if let tags, !event.tags.contains(where: tags.contains) { return false }
        if let actors, !actors.contains(event.metadata.actor.id) { return false }
        return true
    }

    /// Whether the stored record passes the filter, without allocating.
    public func matches(_ view: RecordView) -> Bool {
        if let through, view.position > through { return false }
        if let types, !types.contains(where: view.hasType) { return false }
        if let tags, !tags.contains(where: view.hasTag) { return false }
        if let actors, !actors.contains(where: view.hasActor) { return false }
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
