public import Logging
public import RapportEventLog
import Synchronization

/// When snapshots are taken, and how many are kept.
///
/// ```swift
/// SnapshotPolicy()                       // every 100 events, the newest 10 kept per aggregate
/// SnapshotPolicy(every: 500, keep: 3)
/// ```
public struct SnapshotPolicy: Hashable, Sendable {
    /// A snapshot is written once an aggregate has at least this many events
    /// beyond its newest snapshot (or, without one, in all). At least 1.
    public var interval: UInt64
    /// How many snapshots are kept per aggregate, newest first. Older ones
    /// serve loads "as of" a past position; at least 1.
    public var retained: Int

    /// A policy: a snapshot every `interval` events, the newest `retained` kept.
    public init(every interval: UInt64 = 100, keep retained: Int = 10) {
        self.interval = Swift.max(interval, 1)
        self.retained = Swift.max(retained, 1)
    }

    /// Whether `version` lies at least an interval past `base` (without
    /// overflowing: `interval` may be as large as `UInt64.max`, "never").
    func isDue(_ version: UInt64, after base: UInt64) -> Bool {
        version >= base && version - base >= interval
    }
}

/// Where a ``Repository`` keeps snapshots of aggregates, and when it takes them.
///
/// Snapshots are stored through ``ReadModelStorage`` under the read-model name
/// ``readModelName``, so every store that keeps read models keeps snapshots:
/// the LMDB store in the same environment as the log, the in-memory storage
/// for tests, PostgreSQL. Only aggregates that are ``SnapshottableAggregate``
/// get snapshots (every CRM aggregate is).
///
/// ```swift
/// let store = try LMDBEventStore(path: "crm-data")
/// let repository = Repository(store: store, snapshots: AggregateSnapshots(storage: store))
/// let deal = try await repository.load(dealID)              // newest snapshot + the events after it
/// let then = try await repository.load(dealID, asOf: endOfQuarter)
/// ```
///
/// A snapshot is a cache, never the truth: one that is damaged, of another
/// schema version, or that does not match the log is ignored, the aggregate
/// is replayed from its stream, and a new snapshot replaces it. Writing a
/// snapshot never fails a command: a failure is logged and the command's
/// result stands. See `docs/snapshots.md`.
public struct AggregateSnapshots: Sendable {
    /// The read-model name snapshots are stored under. Do not give a projection this name.
    public static let readModelName = "aggregate-snapshots"

    /// Where snapshots are read and written.
    public let storage: any ReadModelStorage
    /// When snapshots are written and how many are kept.
    public let policy: SnapshotPolicy
    /// Where ignored snapshots and failed writes are reported (notice and warning levels).
    public let logger: Logger
    /// Streams whose last snapshot write failed (shared by copies of this value).
    let failedWrites = FailedSnapshotWrites()

    /// Snapshots kept in `storage` (usually the event store itself) by `policy`.
    public init(storage: any ReadModelStorage, policy: SnapshotPolicy = SnapshotPolicy(), logger: Logger = Logger(label: "rapport.snapshots")) {
        self.storage = storage
        self.policy = policy
        self.logger = logger
    }
}

// MARK: - Keys and storage

/// One stored snapshot, found by the key suffix it is stored under.
struct SnapshotSlot: Hashable, Sendable {
    /// The key suffix: 20 digits of `UInt64.max - version`, so that key order is newest first.
    let suffix: String

    init(version: UInt64) {
        let digits = String(UInt64.max - version)
        suffix = String(repeating: "0", count: 20 - digits.count) + digits
    }

    init(suffix: String) { self.suffix = suffix }

    /// The version the key names, or nil when the key is not one this library writes.
    var version: UInt64? {
        guard suffix.utf8.count == 20, let inverted = UInt64(suffix) else { return nil }
        return UInt64.max - inverted
    }
}

extension AggregateSnapshots {
    /// Keys of `stream`'s snapshots: `<stream>␟h<slot>` (header) and `<stream>␟s<slot>` (state).
    /// U+001F never occurs in a stream id, so one stream's keys are never a prefix of another's.
    static func headerPrefix(_ stream: StreamID) -> String { stream.rawValue + "\u{1F}h" }
    static func statePrefix(_ stream: StreamID) -> String { stream.rawValue + "\u{1F}s" }

    /// Every header stored for `stream`, newest first (by the version in its key).
    func storedHeaders(of stream: StreamID) throws(EventStoreError) -> [(slot: SnapshotSlot, bytes: [UInt8])] {
        let prefix = Self.headerPrefix(stream)
        return try storage.read(Self.readModelName) { (reader) throws(EventStoreError) in
            var found: [(slot: SnapshotSlot, bytes: [UInt8])] = []
            try reader.forEach(keyPrefix: prefix) { key, value in
                found.append((SnapshotSlot(suffix: String(decoding: key.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)), value))
                return true
            }
            return found
        }
    }

    /// The state bytes stored in `slot`, or nil.
    func storedState(of stream: StreamID, in slot: SnapshotSlot) throws(EventStoreError) -> [UInt8]? {
        try storage.read(Self.readModelName) { (reader) throws(EventStoreError) in
            try reader.value(forKey: Self.statePrefix(stream) + slot.suffix)
        }
    }

    /// Stores a snapshot (when `new` is given), removes `dropping`, and removes
    /// the oldest snapshots beyond ``SnapshotPolicy/retained``: one commit.
    func store(_ new: (header: SnapshotHeader, state: [UInt8])?, of stream: StreamID, dropping: Set<SnapshotSlot>) async throws(EventStoreError) {
        var writes: [String: [UInt8]?] = [:]
        var remove = dropping
        if let new {
            let slot = SnapshotSlot(version: new.header.streamVersion)
            var kept = try storedHeaders(of: stream).map(\.slot).filter { !dropping.contains($0) && $0 != slot }
            kept.append(slot)
            kept.sort { $0.suffix < $1.suffix }  // newest first
            remove.formUnion(kept.dropFirst(policy.retained))
            if !remove.contains(slot) {
                writes[Self.headerPrefix(stream) + slot.suffix] = SnapshotFormat.encode(new.header)
                writes[Self.statePrefix(stream) + slot.suffix] = new.state
            }
        }
        for slot in remove {
            writes[Self.headerPrefix(stream) + slot.suffix] = .some(nil)
            writes[Self.statePrefix(stream) + slot.suffix] = .some(nil)
        }
        guard !writes.isEmpty else { return }
        // The read-model storage keeps a checkpoint with every commit; for
        // snapshots it is informative only: the position of the last one written.
        let version = Int(SnapshotFormat.formatVersion)
        var checkpoint = ProjectionCheckpoint(version: version, position: new?.header.position ?? .start)
        if new == nil, let current = try storage.checkpoint(of: Self.readModelName) { checkpoint = current }
        try await storage.commit([ReadModelChanges(projection: Self.readModelName, writes: writes, checkpoint: checkpoint)])
    }
}

/// Where snapshot writes failed, so that failing storage costs one attempt
/// per interval of events of an aggregate, not one per command.
final class FailedSnapshotWrites: Sendable {
    /// Beyond this many streams the memory is cleared (each is then tried once more).
    static let capacity = 10_000
    private let versions = Mutex<[StreamID: UInt64]>([:])

    /// Whether a snapshot of `stream` at `version` may be attempted.
    func mayWrite(_ stream: StreamID, at version: UInt64, policy: SnapshotPolicy) -> Bool {
        versions.withLock { failed in failed[stream].map { policy.isDue(version, after: $0) } ?? true }
    }

    func recordFailure(_ stream: StreamID, at version: UInt64) {
        versions.withLock { failed in
            if failed.count >= Self.capacity { failed.removeAll() }
            failed[stream] = version
        }
    }

    func recordSuccess(_ stream: StreamID) {
        versions.withLock { failed in _ = failed.removeValue(forKey: stream) }
    }
}
