public import Foundation
public import RapportEventLog

/// Where a paged query resumes: opaque, stable across runs and processes
/// (it holds the log position of the last entry returned and, for a query
/// whose pages must all answer up to one position, that position).
///
/// ```swift
/// var page = try audit.entries(.actor("user:anna"), in: store, page: PageRequest(limit: 100))
/// while let next = page.continuation {
///     page = try audit.entries(.actor("user:anna"), in: store, page: PageRequest(limit: 100, after: next))
/// }
/// ```
public struct PageToken: Hashable, Sendable, Codable, RawRepresentable, CustomStringConvertible {
    public var rawValue: String
    /// A token as a client sent it back; a query refuses one it did not make
    /// with ``ProjectionQueryError/invalidToken(_:)``.
    public init(rawValue: String) { self.rawValue = rawValue }

    init(after position: LogPosition, through end: LogPosition? = nil) {
        rawValue = "p\(position.rawValue)" + (end.map { "-\($0.rawValue)" } ?? "")
    }

    /// The position of the last entry returned, or nil for a malformed token.
    var position: LogPosition? { parts?.after }

    /// The position every page of the query answers up to, when the token holds one.
    var end: LogPosition? { parts?.through }

    /// "p<after>" or "p<after>-<through>".
    private var parts: (after: LogPosition, through: LogPosition?)? {
        guard rawValue.hasPrefix("p") else { return nil }
        let fields = rawValue.dropFirst().split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard let after = UInt64(fields[0]) else { return nil }
        guard fields.count == 2 else { return (LogPosition(after), nil) }
        guard let through = UInt64(fields[1]) else { return nil }
        return (LogPosition(after), LogPosition(through))
    }

    public var description: String { rawValue }
}

/// How much of a result to return, and from where.
///
/// ```swift
/// PageRequest(limit: 50)                       // the first 50
/// PageRequest(limit: 50, after: page.continuation)
/// ```
public struct PageRequest: Hashable, Sendable {
    /// The most entries to return (at least 1).
    public var limit: Int
    /// The continuation of the previous page; nil for the first page.
    public var after: PageToken?

    /// A request for at most `limit` entries (a limit below 1 is taken as 1)
    /// after the continuation `after` (nil: from the start).
    public init(limit: Int = 100, after: PageToken? = nil) {
        self.limit = max(1, limit)
        self.after = after
    }
}

/// One page of a query's result.
///
/// ```swift
/// for entry in page.items { print(entry) }
/// if let next = page.continuation { … }       // nil: this was the last page
/// ```
public struct Page<Element: Sendable>: Sendable {
    /// The entries, in the query's order.
    public var items: [Element]
    /// Where the next page starts; nil when there is no more.
    public var continuation: PageToken?

    /// A page of `items`, with where the next one starts (nil: none).
    public init(items: [Element], continuation: PageToken?) {
        self.items = items
        self.continuation = continuation
    }
}

extension Page: Equatable where Element: Equatable {}

/// A failure of a query on a read model.
public enum ProjectionQueryError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// The storage failed.
    case store(EventStoreError)
    /// A stored value could not be decoded (written by another version?).
    case corruptValue(key: String, reason: String)
    /// The continuation token is not one this query returned.
    case invalidToken(String)
    /// The read model has not reached the position asked about (it is at
    /// `reached`; nil when it was stored by another version of its
    /// projection, which the runner rebuilds at its next catch-up).
    case notCaughtUp(projection: String, reached: LogPosition?, asked: LogPosition)
    /// The read model has never been built: no catch-up has committed it, so
    /// an answer from it would look like "nothing recorded". A catch-up on an
    /// empty log builds it too (it then answers empty).
    ///
    /// ```swift
    /// do {
    ///     _ = try AuditTrail().entries(AuditQuery(.actor("ana")), in: store)
    /// } catch .notBuilt(let projection) {
    ///     try await ProjectionRunner(log: store, storage: store, projections: [AuditTrail()]).catchUp()
    /// }
    /// ```
    case notBuilt(projection: String)
    /// An argument of the query is out of its range (`name` as the query's
    /// signature spells it); nothing was read.
    ///
    /// ```swift
    /// do {
    ///     _ = try states.summary(of: sales, in: store, now: Date(), staleAfterDays: -7)
    /// } catch .invalidArgument(let name, let reason) {
    ///     print(name, reason)     // staleAfterDays -7 is negative; give 0 or more days
    /// }
    /// ```
    case invalidArgument(name: String, reason: String)

    /// The same as ``description``, for `localizedDescription`.
    public var errorDescription: String? { description }

    public var description: String {
        switch self {
        case .store(let error): return error.description
        case .corruptValue(let key, let reason): return "The read-model value under \(key) does not decode: \(reason)."
        case .invalidToken(let token): return "\(token) is not a continuation of this query."
        case .notCaughtUp(let projection, let reached, let asked):
            return "The read model \(projection) has not reached position \(asked) (it is at \(reached.map { "\($0)" } ?? "nothing")); catch it up first."
        case .notBuilt(let projection):
            return "The read model \(projection) has never been built; catch it up (ProjectionRunner.catchUp, or `rapport rebuild \(projection)`) before querying it."
        case .invalidArgument(let name, let reason): return "Invalid \(name): \(reason)."
        }
    }
}

/// Refuses a negative number of days with ``ProjectionQueryError/invalidArgument(name:reason:)``.
/// Zero is a count like any other: a cut-off at `now` itself.
func requireDays(_ days: Int, argument: String) throws(ProjectionQueryError) {
    guard days < 0 else { return }
    throw .invalidArgument(name: argument, reason: "\(days) is negative; give 0 or more days")
}

extension ReadModelStorage {
    /// Runs a read whose body throws query errors; storage errors are wrapped.
    func query<R>(_ projection: String, _ body: (any ReadModelReader) throws(ProjectionQueryError) -> R) throws(ProjectionQueryError) -> R {
        var failure: ProjectionQueryError?
        let result: R?
        do {
            result = try read(projection) { (reader) throws(EventStoreError) -> R? in
                do throws(ProjectionQueryError) { return try body(reader) } catch {
                    failure = error
                    return nil
                }
            }
        } catch { throw .store(error) }
        if let failure { throw failure }
        return result!
    }
}

extension ReadModelReader {
    /// The value under `key` decoded, or nil.
    func decoded<T: Decodable>(_ type: T.Type, _ key: String) throws(ProjectionQueryError) -> T? {
        let bytes: [UInt8]?
        do { bytes = try value(forKey: key) } catch { throw .store(error) }
        guard let bytes else { return nil }
        do { return try Stored.decode(T.self, bytes) } catch { throw .corruptValue(key: key, reason: "\(error)") }
    }

    /// Decodes the values of the keys `base + n…` for `n` in `range`, in key
    /// order, until `body` returns false (see ``forEachInPlace(base:in:_:)``).
    /// `body` gets each key's bytes, valid only during that call.
    ///
    /// - Returns: false when `body` stopped the scan.
    @discardableResult
    func scan<T: Decodable>(
        _ type: T.Type, base: String, in range: ClosedRange<UInt64>, _ body: (_ key: UnsafeRawBufferPointer, consuming T) -> Bool
    ) throws(ProjectionQueryError) -> Bool {
        try scan(base: base, in: range, decode: { try Stored.decode(T.self, $0) }, body)
    }

    /// ``scan(_:base:in:_:)`` for a compact value: decoded in place from the
    /// storage's bytes, without a dynamic cast per value.
    @discardableResult
    func scan<T: CompactValue>(
        _ type: T.Type, base: String, in range: ClosedRange<UInt64>, _ body: (_ key: UnsafeRawBufferPointer, consuming T) -> Bool
    ) throws(ProjectionQueryError) -> Bool {
        try scan(base: base, in: range, decode: { try Stored.decode(T.self, $0) }, body)
    }

    @inline(__always)
    private func scan<T>(
        base: String, in range: ClosedRange<UInt64>, decode: (UnsafeRawBufferPointer) throws -> T,
        _ body: (_ key: UnsafeRawBufferPointer, consuming T) -> Bool
    ) throws(ProjectionQueryError) -> Bool {
        var problem: ProjectionQueryError?
        let finished: Bool
        do {
            finished = try forEachInPlace(base: base, in: range) { key, bytes in
                do { return body(key, try decode(bytes)) } catch {
                    problem = .corruptValue(key: String(decoding: key, as: UTF8.self), reason: "\(error)")
                    return false
                }
            }
        } catch { throw .store(error) }
        if let problem { throw problem }
        return finished
    }

    /// The value of the first key at or after `start` under `prefix`, decoded,
    /// or nil: one seek. Under keys that end in inverted positions
    /// (``Key/inverted(_:)``), the version as of a position.
    func first<T: Decodable>(_ type: T.Type, under prefix: String, from start: String) throws(ProjectionQueryError) -> T? {
        try first(under: prefix, from: start, read: { try Stored.decode(T.self, $0) })
    }

    /// ``first(_:under:from:)`` for a compact value: decoded in place, without a dynamic cast.
    func first<T: CompactValue>(_ type: T.Type, under prefix: String, from start: String) throws(ProjectionQueryError) -> T? {
        try first(under: prefix, from: start, read: { try Stored.decode(T.self, $0) })
    }

    /// ``first(_:under:from:)`` with the value read from the storage's bytes by `read`.
    func first<T>(under prefix: String, from start: String, read: (UnsafeRawBufferPointer) throws -> T) throws(ProjectionQueryError) -> T? {
        var found: T?
        try walk(under: prefix, from: start, decode: read) { found = $0; return false }
        return found
    }

    /// Decodes the values under `prefix` from the first key at or after
    /// `start` on, in key order, until `body` returns false: one seek, then
    /// a walk. Under keys that end in inverted positions, from the version
    /// as of a position back in time.
    func walk<T: CompactValue>(
        _ type: T.Type, under prefix: String, from start: String, _ body: (consuming T) -> Bool
    ) throws(ProjectionQueryError) {
        try walk(under: prefix, from: start, decode: { try Stored.decode(T.self, $0) }, body)
    }

    /// The walk of ``walk(_:under:from:_:)`` and ``first(_:under:from:)``:
    /// each value decoded from the storage's bytes; one that does not
    /// decode ends the walk with an error naming its key.
    @inline(__always)
    private func walk<T>(
        under prefix: String, from start: String, decode: (UnsafeRawBufferPointer) throws -> T, _ body: (consuming T) -> Bool
    ) throws(ProjectionQueryError) {
        var problem: ProjectionQueryError?
        do {
            try forEachInPlace(keyPrefix: prefix, from: start) { key, bytes in
                do { return body(try decode(bytes)) } catch {
                    problem = .corruptValue(key: String(decoding: key, as: UTF8.self), reason: "\(error)")
                    return false
                }
            }
        } catch { throw .store(error) }
        if let problem { throw problem }
    }

    /// The keys starting with `prefix`, in order.
    func keys(withPrefix prefix: String) throws(ProjectionQueryError) -> [String] {
        var keys: [String] = []
        do {
            try forEach(keyPrefix: prefix) { key, _ in
                keys.append(key)
                return true
            }
        } catch { throw .store(error) }
        return keys
    }
}

extension PageToken {
    /// The position in a token a query received, or the error.
    static func position(of token: PageToken?) throws(ProjectionQueryError) -> LogPosition? {
        guard let token else { return nil }
        guard let position = token.position else { throw .invalidToken(token.rawValue) }
        return position
    }
}
