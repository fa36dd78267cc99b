import Foundation
public import RapportEventLog

/// Which events a projection wants, and which of their payloads it needs
/// decoded. The runner skips every other event without decoding its payload,
/// and decodes a payload only when a projection applying the event needs it.
///
/// ```swift
/// ProjectionInterest(types: ["DealOpened", "DealMovedToStage", "DealWon", "DealLost"])
/// ProjectionInterest(tagPrefixes: ["contact:"])        // every event touching a contact
/// ProjectionInterest(tagPrefixes: ["contact:"], decoding: ["ContactCreated"])  // only those payloads decoded
/// ```
public struct ProjectionInterest: Sendable, Hashable {
    /// Event types wanted; nil for all.
    public var types: Set<String>?
    /// Tag prefixes, one of which an event's tags must start with; nil for all.
    public var tagPrefixes: [String]?
    /// The wanted types whose payload the projection reads from the `decoded`
    /// argument of ``Projection/apply(_:decoded:to:)``; nil (the default) for
    /// every type. For the others `decoded` is nil, and decoding, often the
    /// largest cost of a replay, is skipped when no other projection needs it.
    public var decoding: Set<String>?

    public init(types: Set<String>? = nil, tagPrefixes: [String]? = nil, decoding: Set<String>? = nil) {
        self.types = types
        self.tagPrefixes = tagPrefixes
        self.decoding = decoding
    }

    /// Every event.
    public static let everything = ProjectionInterest()

    /// Whether `event` is wanted.
    public func wants(_ event: RecordedEvent) -> Bool {
        if let types, !types.contains(event.type) { return false }
        if let tagPrefixes {
            return event.tags.contains { tag in tagPrefixes.contains { tag.rawValue.hasPrefix($0) } }
        }
        return true
    }

    /// Whether the payload of a wanted event of `type` must be decoded.
    public func decodes(_ type: String) -> Bool { decoding?.contains(type) ?? true }
}

/// Turns events into a read model.
///
/// A projection has a name and a version; bumping the version rebuilds its
/// read model from position 1. Its read model changes and its checkpoint are
/// committed together, so after a crash it resumes exactly where its last
/// committed batch ended.
///
/// ```swift
/// struct DealCount: Projection {
///     let name = "deal-count"
///     let version = 1
///     let interest = ProjectionInterest(types: ["DealOpened"])
///     func apply(_ event: RecordedEvent, decoded: (any Event)?, to model: inout ReadModelContext) throws {
///         let count = try model.get(Int.self, "count") ?? 0
///         try model.set(count + 1, "count")
///     }
/// }
/// ```
public protocol Projection: Sendable {
    /// A stable name; its read model and checkpoint are stored under it.
    var name: String { get }
    /// The version of the projection's logic; a different stored version rebuilds it.
    var version: Int { get }
    /// Which events it applies.
    var interest: ProjectionInterest { get }
    /// Applies one event. `decoded` is the payload decoded by the runner's
    /// registry (nil when the type is not registered, or not in the
    /// interest's ``ProjectionInterest/decoding``). A registered type whose
    /// payload does not decode is never handed over as nil: the catch-up
    /// stops there with ``ReplayError/projectionFailed(projection:position:reason:)``,
    /// and a projection that lists types its runner's registry does not
    /// know is refused with ``ReplayError/unregisteredTypes(projection:types:)``.
    func apply(_ event: RecordedEvent, decoded: (any Event)?, to model: inout ReadModelContext) throws
}

/// A projection's read model during a batch: reads see the batch's own
/// writes first, then those of the previous batch while it is still being
/// committed, then what is committed.
public struct ReadModelContext: Sendable {
    let projection: String
    let storage: any ReadModelStorage
    var writes: [String: [UInt8]?] = [:]
    /// The previous batch's writes, while its commit is under way.
    let pending: [String: [UInt8]?]
    /// Whether committed state is hidden: the projection is being rebuilt
    /// and no batch of the rebuild has been committed yet.
    let storageHidden: Bool
    /// What the catch-up read from storage before, with the writes of the
    /// batches since applied over it.
    let cache: ReadCache?

    /// `expectedWrites`: how many keys the batch is likely to write (the
    /// previous batch's count), reserved so the table does not grow step by step.
    init(
        projection: String, storage: any ReadModelStorage, pending: [String: [UInt8]?] = [:], storageHidden: Bool,
        cache: ReadCache? = nil, expectedWrites: Int = 0
    ) {
        self.projection = projection
        self.storage = storage
        self.pending = pending
        self.storageHidden = storageHidden
        self.cache = cache
        writes.reserveCapacity(expectedWrites)
    }

    /// The raw value under `key`, or nil.
    public func value(forKey key: String) throws -> [UInt8]? {
        if let written = writes[key] ?? pending[key] { return written }
        if storageHidden { return nil }
        if let known = cache?.value(forKey: key) { return known }
        let value = try storage.read(projection) { (reader) throws(EventStoreError) in try reader.value(forKey: key) }
        cache?.remember(value, forKey: key)
        return value
    }

    /// Calls `body` with every key starting with `prefix` and its value, in key
    /// order, as the batch sees them (its own writes over committed state).
    ///
    /// - Complexity: O(k log k) for the k keys under the prefix, plus the
    ///   batch's pending writes: meant for occasional use, not every event.
    public func forEach(keyPrefix prefix: String, _ body: (String, [UInt8]) throws -> Void) throws {
        var merged: [String: [UInt8]?] = [:]
        if !storageHidden {
            try storage.read(projection) { (reader) throws(EventStoreError) in
                try reader.forEach(keyPrefix: prefix) { key, value in
                    merged[key] = value
                    return true
                }
            }
        }
        for (key, value) in pending where key.hasPrefix(prefix) { merged[key] = value }
        for (key, value) in writes where key.hasPrefix(prefix) { merged[key] = value }
        for key in merged.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            if let value = merged[key]! { try body(key, value) }
        }
    }

    /// Stores `value` under `key` (nil removes it).
    public mutating func setValue(_ value: [UInt8]?, forKey key: String) {
        writes[key] = .some(value)
    }

    /// The value under `key` decoded from JSON, or nil.
    public func get<T: Decodable>(_ type: T.Type, _ key: String) throws -> T? {
        guard let bytes = try value(forKey: key) else { return nil }
        return try Self.decoder.decode(T.self, from: Data(bytes))
    }

    /// Stores `value` as JSON under `key`.
    public mutating func set<T: Encodable>(_ value: T, _ key: String) throws {
        setValue(Array(try Self.encoder.encode(value)), forKey: key)
    }

    /// Removes `key`.
    public mutating func remove(_ key: String) {
        setValue(nil, forKey: key)
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
