import Synchronization

/// How far a projection has read: its version and the last position it applied.
public struct ProjectionCheckpoint: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The projection's version when it wrote this checkpoint. A projection
    /// whose version differs rebuilds from position 1.
    public var version: Int
    /// The last position whose effects are in the read model.
    public var position: LogPosition

    public init(version: Int, position: LogPosition) {
        self.version = version
        self.position = position
    }

    public var description: String { "v\(version)@\(position)" }
}

/// Reading a projection's committed read model.
///
/// Readers see committed state only; keys are strings, values bytes (see
/// `ReadModelContext` in RapportReplay for typed access).
public protocol ReadModelReader {
    /// The checkpoint of the projection this reader reads, in the same
    /// committed state as its values: a query that checks how far the read
    /// model has come and then reads it sees one state, even while a runner
    /// commits or rebuilds it. nil when the projection has never committed.
    ///
    /// ```swift
    /// let summary = try storage.read("deal-states") { (reader) throws(EventStoreError) -> [UInt8]? in
    ///     guard let reached = try reader.checkpoint(), reached.position >= asked else { return nil }
    ///     return try reader.value(forKey: "tally/\(pipeline)")   // read in the state the checkpoint describes
    /// }
    /// ```
    func checkpoint() throws(EventStoreError) -> ProjectionCheckpoint?
    /// The value stored under `key`, or nil.
    func value(forKey key: String) throws(EventStoreError) -> [UInt8]?
    /// Calls `body` with every key starting with `prefix` and its value, in
    /// key order (UTF-8 byte order), until `body` returns false.
    func forEach(keyPrefix prefix: String, _ body: (String, [UInt8]) -> Bool) throws(EventStoreError)
    /// Like ``forEach(keyPrefix:_:)``, from the first key at or after `start`:
    /// a seek, where the storage's keys are ordered (LMDB, PostgreSQL), then a
    /// walk. The latest version of something at or before a position is one
    /// seek when its keys hold inverted positions.
    ///
    /// ```swift
    /// try reader.forEach(keyPrefix: "deal-at/42/", from: "deal-at/42/\(inverted)") { key, value in
    ///     found = value
    ///     return false            // the first one is all we need
    /// }
    /// ```
    func forEach(keyPrefix prefix: String, from start: String, _ body: (String, [UInt8]) -> Bool) throws(EventStoreError)
    /// Like ``forEach(keyPrefix:from:_:)``, but lends `body` each key (its
    /// UTF-8 bytes) and value where the storage holds them, without copying
    /// or decoding either: the walk for queries that read many values and
    /// decode them straight from the bytes. LMDB lends its memory map; the
    /// default goes through ``forEach(keyPrefix:from:_:)``.
    ///
    /// The buffers are **valid only during that call of `body`**: do not
    /// keep them, or pointers into them, past it; copy what you need.
    ///
    /// ```swift
    /// var bytes = 0
    /// try reader.forEachInPlace(keyPrefix: "entry/", from: "entry/") { key, value in
    ///     bytes += value.count        // read here; never keep `value`
    ///     return true
    /// }
    /// ```
    func forEachInPlace(
        keyPrefix prefix: String, from start: String, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool
    ) throws(EventStoreError)
}

extension ReadModelReader {
    /// Filters ``forEach(keyPrefix:_:)``: correct for any reader, O(keys under
    /// the prefix); ordered storages seek instead.
    public func forEach(keyPrefix prefix: String, from start: String, _ body: (String, [UInt8]) -> Bool) throws(EventStoreError) {
        try forEach(keyPrefix: prefix) { key, value in
            key.utf8.lexicographicallyPrecedes(start.utf8) ? true : body(key, value)
        }
    }

    /// Lends the key and the value ``forEach(keyPrefix:from:_:)`` passes:
    /// correct for any reader, with that walk's copies.
    public func forEachInPlace(
        keyPrefix prefix: String, from start: String, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool
    ) throws(EventStoreError) {
        try forEach(keyPrefix: prefix, from: start) { key, value in
            var key = key
            return key.withUTF8 { key in value.withUnsafeBytes { body(UnsafeRawBufferPointer(key), $0) } }
        }
    }
}

/// The changes one batch made to one projection's read model, and the
/// checkpoint they bring it to. Committed atomically: after a crash a read
/// model holds a whole number of batches, never part of one.
public struct ReadModelChanges: Sendable, Hashable {
    /// The projection's name.
    public var projection: String
    /// Whether to drop everything the projection stored before applying `writes` (a rebuild).
    public var resetFirst: Bool
    /// New values by key; nil deletes the key.
    public var writes: [String: [UInt8]?]
    /// The checkpoint to store with the writes.
    public var checkpoint: ProjectionCheckpoint
    /// What the stored checkpoint must be for the commit to proceed: the
    /// one the changes were computed from. When it is not, the whole commit
    /// fails with ``EventStoreError/checkpointMoved(projection:expected:actual:)``
    /// and writes nothing. ``CheckpointCondition/any`` (the default) checks nothing.
    public var condition: CheckpointCondition

    /// The changes of one batch; `condition` guards against another runner of
    /// the same projection having committed since the batch started.
    ///
    /// ```swift
    /// ReadModelChanges(projection: "deal-count", writes: ["count": bytes],
    ///                  checkpoint: ProjectionCheckpoint(version: 1, position: 2_000),
    ///                  condition: .equals(ProjectionCheckpoint(version: 1, position: 1_000)))
    /// ```
    public init(
        projection: String, resetFirst: Bool = false, writes: [String: [UInt8]?] = [:], checkpoint: ProjectionCheckpoint,
        condition: CheckpointCondition = .any
    ) {
        self.projection = projection
        self.resetFirst = resetFirst
        self.writes = writes
        self.checkpoint = checkpoint
        self.condition = condition
    }
}

/// What a read-model commit requires of the projection's stored checkpoint
/// (``ReadModelChanges/condition``). The projection runner commits each
/// batch on the condition that the checkpoint is still the one it started
/// from, so two runners of one projection (two processes on one PostgreSQL
/// database, say) never apply events onto each other's later state: the
/// second to commit fails with ``EventStoreError/checkpointMoved(projection:expected:actual:)``,
/// and its runner starts again from the stored checkpoint.
public enum CheckpointCondition: Sendable, Hashable, CustomStringConvertible {
    /// No condition.
    case any
    /// No checkpoint is stored for the projection.
    case notStored
    /// The stored checkpoint is this one.
    case equals(ProjectionCheckpoint)

    /// The condition for changes computed from `stored` (nil: no checkpoint stored).
    public init(_ stored: ProjectionCheckpoint?) {
        self = stored.map { .equals($0) } ?? .notStored
    }

    /// Whether `stored` (nil: none stored) meets the condition.
    public func isMet(by stored: ProjectionCheckpoint?) -> Bool {
        switch self {
        case .any: true
        case .notStored: stored == nil
        case .equals(let expected): stored == expected
        }
    }

    public var description: String {
        switch self {
        case .any: "any checkpoint"
        case .notStored: "no checkpoint"
        case .equals(let checkpoint): "version \(checkpoint.version) at position \(checkpoint.position)"
        }
    }
}

/// Where projections keep their read models: transactional key-value
/// storage that every backend provides, so a projection is written once for
/// all of them.
///
/// ```swift
/// let storage: any ReadModelStorage = lmdbStore          // or InMemoryReadModelStorage()
/// try await storage.commit([ReadModelChanges(projection: "deal-states",
///                                            writes: ["deal/42": bytes],
///                                            checkpoint: ProjectionCheckpoint(version: 1, position: 1_000))])
/// let bytes = try storage.read("deal-states") { try $0.value(forKey: "deal/42") }
/// ```
public protocol ReadModelStorage: Sendable {
    /// The projection's checkpoint, or nil when it never committed.
    func checkpoint(of projection: String) throws(EventStoreError) -> ProjectionCheckpoint?
    /// Runs `body` with a reader of the projection's committed read model.
    /// Synchronous and short: no `await` inside. The reader is valid inside
    /// `body` only: it reads a transaction that ends when `body` returns, so
    /// keep the values it returns, never the reader itself.
    func read<R>(_ projection: String, _ body: (any ReadModelReader) throws(EventStoreError) -> R) throws(EventStoreError) -> R
    /// Commits the changes of several projections, with their checkpoints, in
    /// one transaction. When a change's ``ReadModelChanges/condition`` is not
    /// met by its projection's stored checkpoint (read in that transaction),
    /// nothing is written and the commit throws
    /// ``EventStoreError/checkpointMoved(projection:expected:actual:)``.
    func commit(_ changes: [ReadModelChanges]) async throws(EventStoreError)
    /// Gets ready for the synchronous reads: a storage on a server connects
    /// here, and may refuse ``checkpoint(of:)`` and ``read(_:_:)`` until it has
    /// (a synchronous read cannot wait for a connection without blocking a
    /// thread the connection needs). The projection runner calls it before
    /// every catch-up; await it once before querying read models. Embedded
    /// storages are always ready (the default does nothing).
    ///
    /// ```swift
    /// try await storage.prepareForReading()
    /// let state = try DealStates().state(of: deal, in: storage)
    /// ```
    func prepareForReading() async throws(EventStoreError)
}

extension ReadModelStorage {
    /// Does nothing: the storage reads without connecting.
    public func prepareForReading() async throws(EventStoreError) {}
}

/// Read models in memory, for tests and the in-memory store.
///
/// ```swift
/// let storage = InMemoryReadModelStorage()
/// ```
public final class InMemoryReadModelStorage: ReadModelStorage {
    private struct State {
        var models: [String: [ByteKey: [UInt8]]] = [:]
        /// Each model's keys in byte order, computed on the first ordered
        /// read after a commit (which drops them).
        var sortedKeys: [String: [String]] = [:]
        /// Raised by every commit to a model, so a reader never caches keys
        /// of a model that changed under it.
        var generations: [String: UInt64] = [:]
        var checkpoints: [String: ProjectionCheckpoint] = [:]
    }
    private let state = Mutex(State())

    /// Empty storage.
    public init() {}

    public func checkpoint(of projection: String) throws(EventStoreError) -> ProjectionCheckpoint? {
        state.withLock { $0.checkpoints[projection] }
    }

    public func read<R>(_ projection: String, _ body: (any ReadModelReader) throws(EventStoreError) -> R) throws(EventStoreError) -> R {
        let (model, checkpoint, generation, keys) = state.withLock {
            ($0.models[projection] ?? [:], $0.checkpoints[projection], $0.generations[projection] ?? 0, $0.sortedKeys[projection])
        }
        let reader = DictionaryReader(model: model, stored: checkpoint, keys: SortedKeys(keys) { sorted in
            self.state.withLock { if ($0.generations[projection] ?? 0) == generation { $0.sortedKeys[projection] = sorted } }
        })
        return try body(reader)
    }

    public func commit(_ changes: [ReadModelChanges]) async throws(EventStoreError) {
        try state.withLock { (state) throws(EventStoreError) in
            for change in changes where !change.condition.isMet(by: state.checkpoints[change.projection]) {
                throw .checkpointMoved(projection: change.projection, expected: change.condition, actual: state.checkpoints[change.projection])
            }
            for change in changes {
                if change.resetFirst { state.models[change.projection] = [:] }
                for (key, value) in change.writes { state.models[change.projection, default: [:]][ByteKey(key)] = value }
                state.checkpoints[change.projection] = change.checkpoint
                state.sortedKeys[change.projection] = nil
                state.generations[change.projection, default: 0] += 1
            }
        }
    }

    /// A model's keys in byte order, sorted once and shared with later readers.
    private final class SortedKeys {
        private var keys: [String]?
        private let share: ([String]) -> Void

        init(_ keys: [String]?, share: @escaping ([String]) -> Void) {
            self.keys = keys
            self.share = share
        }

        func get(_ model: [ByteKey: [UInt8]]) -> [String] {
            if let keys { return keys }
            let sorted = model.keys.map(\.text).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            keys = sorted
            share(sorted)
            return sorted
        }
    }

    private struct DictionaryReader: ReadModelReader {
        let model: [ByteKey: [UInt8]]
        let stored: ProjectionCheckpoint?
        let keys: SortedKeys

        func checkpoint() throws(EventStoreError) -> ProjectionCheckpoint? { stored }

        func value(forKey key: String) throws(EventStoreError) -> [UInt8]? { model[ByteKey(key)] }

        func forEach(keyPrefix prefix: String, _ body: (String, [UInt8]) -> Bool) throws(EventStoreError) {
            try forEach(keyPrefix: prefix, from: prefix, body)
        }

        /// A binary search for the first key, then a walk: O(log n + keys visited).
        func forEach(keyPrefix prefix: String, from start: String, _ body: (String, [UInt8]) -> Bool) throws(EventStoreError) {
            let sorted = keys.get(model)
            let first = start.utf8.lexicographicallyPrecedes(prefix.utf8) ? prefix : start
            var low = 0, high = sorted.count
            while low < high {
                let middle = (low + high) / 2
                if sorted[middle].utf8.lexicographicallyPrecedes(first.utf8) { low = middle + 1 } else { high = middle }
            }
            for key in sorted[low...] {
                guard key.utf8.starts(with: prefix.utf8) else { return }
                if !body(key, model[ByteKey(key)]!) { return }
            }
        }
    }
}

/// A read-model key compared by its UTF-8 bytes, as LMDB and PostgreSQL
/// compare keys. (Two `String`s are equal when they are canonically
/// equivalent: "é" precomposed and "e" with a combining accent would be one
/// key in memory and two on disk.)
struct ByteKey: Hashable {
    let text: String

    init(_ text: String) { self.text = text }

    static func == (a: ByteKey, b: ByteKey) -> Bool { a.text.utf8.elementsEqual(b.text.utf8) }

    func hash(into hasher: inout Hasher) {
        var text = text
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
