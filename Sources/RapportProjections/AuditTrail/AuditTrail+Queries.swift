public import Foundation
public import RapportEventLog

/// Which audit entries a query selects.
///
/// ```swift
/// AuditSelection.actor("user:anna")                                  // everything Anna did
/// AuditSelection.entity(kind: "deal", id: deal.description)          // every change to a deal
/// AuditSelection.field("amount", kind: "deal", id: deal.description) // who changed its amount
/// AuditSelection.action("AccessDenied")                              // every refused attempt
/// ```
public enum AuditSelection: Hashable, Sendable {
    /// Every entry.
    case all
    /// The entries of one actor (principal id).
    case actor(String)
    /// The entries about one entity (refused attempts on it included).
    case entity(kind: String, id: String)
    /// The entries that changed one field of one entity, each narrowed to
    /// that field's change (the entity's query gives the whole entries).
    case field(String, kind: String, id: String)
    /// The entries of one event type.
    case action(String)

    /// The index key prefix (a field's changes: its entity's index).
    var base: String {
        switch self {
        case .all: "entry/"
        case .actor(let actor): "actor/\(Key.boundedComponent(actor))/"
        case .entity(let kind, let id): "entity/\(Key.boundedComponent(kind))/\(Key.boundedComponent(id))/"
        case .field(_, let kind, let id): AuditSelection.entity(kind: kind, id: id).base
        case .action(let action): "action/\(Key.boundedComponent(action))/"
        }
    }
}

/// An audit query: a selection, optionally limited to a range of log
/// positions (a time range, through ``AuditTrail/positions(from:through:in:)``).
///
/// ```swift
/// let march = try await AuditTrail.positions(from: march1, through: march31, in: store)
/// let query = AuditQuery(.actor("user:anna"), positions: march)
/// ```
public struct AuditQuery: Hashable, Sendable {
    /// What to select.
    public var selection: AuditSelection
    /// The positions to look at; nil for the whole log as far as the trail
    /// has reached. A range past the trail's checkpoint is refused
    /// (``ProjectionQueryError/notCaughtUp(projection:reached:asked:)``):
    /// bring the trail up to date first.
    public var positions: ClosedRange<LogPosition>?

    /// A query for `selection`, within `positions` when given.
    public init(_ selection: AuditSelection, positions: ClosedRange<LogPosition>? = nil) {
        self.selection = selection
        self.positions = positions
    }
}

extension AuditTrail {
    /// The log positions recorded from `start` through `end` (both
    /// inclusive), or nil when nothing was recorded then. Recorded-at times
    /// never decrease along the log, so this is two binary searches.
    ///
    /// ```swift
    /// let march = try await AuditTrail.positions(from: march1, through: april1.addingTimeInterval(-0.000_001), in: store)
    /// ```
    public static func positions(from start: Date, through end: Date, in log: any EventLogReader) async throws(EventStoreError) -> ClosedRange<LogPosition>? {
        // Times have microsecond precision: "before start" is "at or before start - 1 µs".
        let first = try await log.position(asOf: start.addingTimeInterval(-0.000_001)).next
        let last = try await log.position(asOf: end)
        return first <= last ? first...last : nil
    }

    /// One page of the entries `query` selects, in log order.
    ///
    /// ```swift
    /// var page = try audit.entries(AuditQuery(.entity(kind: "deal", id: deal.description)), in: store, page: PageRequest(limit: 100))
    /// while let next = page.continuation {
    ///     page = try audit.entries(AuditQuery(.entity(kind: "deal", id: deal.description)), in: store, page: PageRequest(limit: 100, after: next))
    /// }
    /// ```
    ///
    /// - Complexity: one seek into one index at the continuation (or the
    ///   range's start), then a walk: O(log n + page) for `.all` and
    ///   `.actor` (whose index holds the entries), plus one lookup per entry
    ///   for `.entity` and `.action`. `.field` walks its entity's entries and
    ///   keeps those that change the field: O(the entity's entries).
    /// - Throws: ``ProjectionQueryError/notCaughtUp(projection:reached:asked:)``
    ///   when `query.positions` ends past the trail's checkpoint (a partial
    ///   answer would look complete); ``ProjectionQueryError/notBuilt(projection:)``
    ///   when the trail was never built (its empty answer would look like
    ///   "nothing recorded").
    public func entries(_ query: AuditQuery, in storage: any ReadModelStorage, page: PageRequest = PageRequest()) throws(ProjectionQueryError) -> Page<AuditEntry> {
        var low = query.positions?.lowerBound.rawValue ?? 1
        // Pages after the first answer up to where the first did, though the trail moved on since.
        let firstPageEnd = page.after?.end
        if let after = try PageToken.position(of: page.after) {
            guard after.rawValue < UInt64.max else { return Page(items: [], continuation: nil) }
            low = max(low, after.rawValue + 1)
        }
        let selection = query.selection
        let base = selection.base
        return try self.query(in: storage) { (reader, checkpoint) throws(ProjectionQueryError) in
            // The checkpoint of the state read below (a rebuild may have started since any earlier look).
            let reached = checkpoint.position
            // A range the trail has not reached would be answered in part, with nothing to say so;
            // so would a later page of a trail rebuilt since the first page (it is behind that page).
            if let bound = query.positions?.upperBound ?? firstPageEnd, bound > reached {
                throw .notCaughtUp(projection: name, reached: reached, asked: bound)
            }
            let end = query.positions?.upperBound ?? firstPageEnd ?? reached
            let high = end.rawValue
            guard low <= high else { return Page(items: [], continuation: nil) }
            var items: [AuditEntry] = []
            var more = false
            switch selection {
            case .all, .actor:
                try reader.scan(AuditEntry.self, base: base, in: low...high) { _, entry in
                    guard items.count < page.limit else {
                        more = true
                        return false
                    }
                    items.append(entry)
                    return true
                }
            case .entity, .action, .field:
                // The index names positions; the entries are looked up after the walk.
                var field: String?
                if case .field(let name, _, _) = selection { field = name }
                var positions: [String] = []
                do throws(EventStoreError) {
                    try reader.forEach(base: base, in: low...high) { key, _ in
                        // A field's entries are filtered after the lookups: it collects the entity's whole range.
                        guard field != nil || positions.count < page.limit else {
                            more = true
                            return false
                        }
                        positions.append(String(key.dropFirst(base.count).prefix(Key.width)))
                        return true
                    }
                } catch { throw .store(error) }
                for position in positions {
                    guard let entry = try reader.decoded(AuditEntry.self, "entry/\(position)") else {
                        throw .corruptValue(key: "entry/\(position)", reason: "an index names an entry that is not stored")
                    }
                    var narrowed = entry
                    if let field {
                        let changes = entry.changes
                        let kept = changes.filter { $0.field == field }
                        if kept.isEmpty { continue }
                        if kept.count < changes.count { narrowed.changes = kept }
                    }
                    guard items.count < page.limit else {  // only a field's walk gets here with a full page
                        more = true
                        break
                    }
                    items.append(narrowed)
                }
            }
            return Page(items: items, continuation: more ? items.last.map { PageToken(after: $0.position, through: end) } : nil)
        }
    }

    /// One page of the entries `selection` selects, in log order.
    ///
    /// ```swift
    /// let page = try audit.entries(.field("amount", kind: "deal", id: deal.description), in: store)
    /// let who = page.items.map(\.actor.id)
    /// ```
    public func entries(_ selection: AuditSelection, in storage: any ReadModelStorage, page: PageRequest = PageRequest()) throws(ProjectionQueryError) -> Page<AuditEntry> {
        try entries(AuditQuery(selection), in: storage, page: page)
    }

    /// One page of what `actor` did from `start` through `end` (recorded-at
    /// times, inclusive): "everything Anna changed in March".
    ///
    /// ```swift
    /// let page = try await audit.entries(by: "user:anna", from: march1, through: march31, log: store, in: store)
    /// ```
    public func entries(
        by actor: String, from start: Date, through end: Date, log: any EventLogReader, in storage: any ReadModelStorage,
        page: PageRequest = PageRequest()
    ) async throws(ProjectionQueryError) -> Page<AuditEntry> {
        let range: ClosedRange<LogPosition>?
        do { range = try await Self.positions(from: start, through: end, in: log) } catch { throw .store(error) }
        guard let range else { return Page(items: [], continuation: nil) }
        return try entries(AuditQuery(.actor(actor), positions: range), in: storage, page: page)
    }
}
