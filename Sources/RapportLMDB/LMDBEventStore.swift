import CLMDB
public import Foundation
public import Logging
public import RapportEventLog

/// The embedded event store, on LMDB: one directory holding `data.mdb` and `lock.mdb`.
///
/// - One writer: appends from any number of tasks are queued to one writer
///   thread that commits several callers' appends in one transaction (group
///   commit). Each caller gets its own result.
/// - Readers run in parallel, each in a short read transaction that never
///   spans an `await`.
/// - Durable by default: a returned append has been flushed to disk.
/// - Several processes may open the same directory; LMDB's lock file makes
///   that safe. Open one instance per directory per process and share it.
/// - The map grows by itself when full, up to ``Configuration/maximumMapSize``.
///
/// ```swift
/// let store = try LMDBEventStore(path: "/var/lib/myapp/rapport")
/// defer { Task { await store.close() } }
/// let stream = try StreamID("contact-42")
/// try await store.append([event], to: stream, expecting: .noStream)
/// let history = try await store.readStream(stream, from: 1, direction: .forward, limit: 100)
/// ```
///
/// - Complexity: an append is O(events + tags) B-tree operations, all near the
///   end of their tables; reading `k` events of a stream or a tag costs
///   O(k + log² n) record lookups; ``readLog(from:filter:limit:)`` without a
///   tag filter scans the log from `position`.
public final class LMDBEventStore: EventStore {
    /// How a store is opened.
    ///
    /// ```swift
    /// var configuration = LMDBEventStore.Configuration()
    /// configuration.durability = .relaxed
    /// configuration.logger = logger
    /// let store = try LMDBEventStore(path: path, configuration: configuration)
    /// ```
    public struct Configuration: Sendable {
        /// When a commit reaches the disk.
        public enum Durability: Sendable, Hashable {
            /// Every commit is flushed to disk (fsync) before the append returns.
            case durable
            /// Commits are written to the operating system but not flushed:
            /// a crash of the process loses nothing, a crash of the machine or a
            /// power loss may lose the latest commits and, on file systems that
            /// reorder writes, damage the store. Call ``LMDBEventStore/sync()``
            /// to flush. Use for bulk imports you can repeat.
            case relaxed
        }

        /// Durable by default.
        public var durability: Durability = .durable
        /// The map size to start with, in bytes (1 GiB). The map grows by itself.
        public var initialMapSize: Int = 1 << 30
        /// The largest the map may grow to, in bytes (1 TiB); past it appends fail with
        /// ``EventStoreError/storeFull(_:)``.
        public var maximumMapSize: Int = 1 << 40
        /// The most read transactions at once, across all processes using the store.
        public var maximumReaders: Int = 256
        /// The most events the writer puts in one transaction when grouping appends.
        public var maximumEventsPerCommit: Int = 100_000
        /// How many events the type and actor indexes may trail the log by
        /// (1,024). Appends then change fewer B-trees per commit, and the
        /// indexes are written in batches; reads filtered by type or actor
        /// read those last events' headers in order. 0 writes the indexes in
        /// every append transaction. Each process appending to a store uses
        /// its own setting; the indexes never point past the log.
        ///
        /// ```swift
        /// var configuration = LMDBEventStore.Configuration()
        /// configuration.maximumIndexLag = 0   // indexes always current
        /// ```
        public var maximumIndexLag: Int = 1_024
        /// The longest the writer waits for concurrent appends to join a
        /// commit (1 ms). When its last commit held several appends and
        /// fewer are queued, it waits until as many are, for a quarter of
        /// that commit's time at most and never longer than this; a lone
        /// caller never waits. `.zero` commits whatever is queued at once.
        ///
        /// ```swift
        /// var configuration = LMDBEventStore.Configuration()
        /// configuration.maximumGroupCommitWait = .zero   // latency before grouping
        /// ```
        public var maximumGroupCommitWait: Duration = .milliseconds(1)
        /// Size limits on appended events.
        public var limits = EventLimits()
        /// Where the store reports map growth and failed commits.
        public var logger = Logger(label: "rapport.lmdb")
        /// Where recorded-at times come from: the machine's clock unless a test,
        /// a demo or an import of dated history needs another (see ``StoreClock``).
        public var clock = StoreClock.system
        /// Whether opening a store of an older format upgrades it (true, the
        /// default). Upgrading rewrites the store, and libraries that know
        /// only the older format then refuse it; with false, such a store is
        /// refused with ``EventStoreError/incompatibleStore(_:)`` and left as
        /// it is, for tools that must only read (`rapport verify`).
        ///
        /// ```swift
        /// var configuration = LMDBEventStore.Configuration()
        /// configuration.upgradesOlderFormats = false   // never rewrite what is audited
        /// ```
        public var upgradesOlderFormats = true

        /// The defaults.
        public init() {}

        /// What makes this configuration unusable, or nil.
        var problem: String? {
            if initialMapSize < 1 { return "initialMapSize is \(initialMapSize); it must be at least 1 byte" }
            if maximumMapSize < initialMapSize {
                return "maximumMapSize (\(maximumMapSize)) is below initialMapSize (\(initialMapSize))"
            }
            if maximumReaders < 1 || maximumReaders > Int(UInt32.max) {
                return "maximumReaders is \(maximumReaders); it must be from 1 to \(UInt32.max)"
            }
            if maximumEventsPerCommit < 1 { return "maximumEventsPerCommit is \(maximumEventsPerCommit); it must be at least 1" }
            if maximumIndexLag < 0 { return "maximumIndexLag is \(maximumIndexLag); it must be 0 or more" }
            if maximumGroupCommitWait < .zero || maximumGroupCommitWait > .seconds(1) {
                return "maximumGroupCommitWait is \(maximumGroupCommitWait); it must be between 0 and 1 second"
            }
            return nil
        }
    }

    /// The directory of the store.
    public let path: String
    /// How the store was opened.
    public let configuration: Configuration
    let environment: Environment
    let writer: GroupCommitWriter

    /// Opens the store in directory `path`, creating it when missing.
    ///
    /// - Throws: ``EventStoreError/incompatibleStore(_:)`` when the directory
    ///   holds something else, ``EventStoreError/storage(_:)`` when it cannot be
    ///   created or opened (permissions, already open in this process) or the
    ///   configuration is not usable (a map size or count below 1, a maximum
    ///   map size below the initial one, a negative index lag); nothing is
    ///   created then.
    public init(path: String, configuration: Configuration = Configuration()) throws(EventStoreError) {
        if let problem = configuration.problem { throw .storage("invalid LMDB store configuration: \(problem)") }
        self.path = path
        self.configuration = configuration
        self.environment = try Environment(path: path, configuration: configuration)
        self.writer = GroupCommitWriter(
            environment: environment, maximumEventsPerCommit: configuration.maximumEventsPerCommit,
            maximumIndexLag: configuration.maximumIndexLag, maximumGroupCommitWait: configuration.maximumGroupCommitWait,
            logger: configuration.logger, clock: configuration.clock)
    }

    deinit {
        writer.stopWithoutWaiting()
    }

    /// Whether `error` refused a store of an older format because the
    /// configuration asked not to upgrade it (``Configuration/upgradesOlderFormats``).
    ///
    /// ```swift
    /// do { store = try LMDBEventStore(path: path, configuration: readOnly) }
    /// catch where LMDBEventStore.isOlderFormatNotUpgraded(error) { print("upgrade a copy first") }
    /// ```
    public static func isOlderFormatNotUpgraded(_ error: EventStoreError) -> Bool {
        guard case .incompatibleStore(let reason) = error else { return false }
        return reason.hasPrefix(StoreMeta.notUpgraded)
    }

    public func append(_ request: AppendRequest) async throws(EventStoreError) -> AppendResult {
        try request.validate(limits: configuration.limits)
        return try await writer.submit(request).get()
    }

    public func readStream(_ stream: StreamID, from version: UInt64, direction: ReadDirection, limit: Int)
        async throws(EventStoreError) -> [RecordedEvent]
    {
        try environment.read { (txn) throws(EventStoreError) in
            try txn.reader.readStream(stream, from: version, direction: direction, limit: limit)
        }
    }

    public func streamVersion(of stream: StreamID) async throws(EventStoreError) -> UInt64 {
        try environment.read { (txn) throws(EventStoreError) in try txn.reader.streamHead(stream)?.count ?? 0 }
    }

    public func readLog(from position: LogPosition, filter: LogFilter, limit: Int) async throws(EventStoreError) -> [RecordedEvent] {
        try environment.read { (txn) throws(EventStoreError) in
            try txn.reader.readLog(from: position.rawValue, filter: filter, limit: limit)
        }
    }

    public func headPosition() async throws(EventStoreError) -> LogPosition {
        try environment.read { (txn) throws(EventStoreError) in LogPosition(try txn.reader.last().position) }
    }

    /// A binary search over the records' headers, in one read transaction:
    /// O(log n) seeks, no event decoded.
    public func position(asOf date: Date) async throws(EventStoreError) -> LogPosition {
        try environment.read { (txn) throws(EventStoreError) in
            var low: UInt64 = 0  // recorded at or before `date` (0: before the log)
            var high = try txn.reader.last().position + 1  // after `date`
            while high - low > 1 {
                let middle = low + (high - low) / 2
                let view = try txn.reader.requireView(at: middle, reason: "the log is gapless up to its head")
                if RecordFormat.date(micros: view.recordedAtMicroseconds) <= date { low = middle } else { high = middle }
            }
            return LogPosition(low)
        }
    }

    public func event(id: EventID) async throws(EventStoreError) -> RecordedEvent? {
        try environment.read { (txn) throws(EventStoreError) -> RecordedEvent? in
            guard let position = try txn.reader.position(of: id) else { return nil }
            return try txn.reader.requireView(ofEvent: id, at: position).materialize()
        }
    }

    /// Lets queued appends commit, then closes the store. Later calls fail with
    /// ``EventStoreError/storeClosed``.
    public func close() async {
        await writer.stop()
        environment.close()
    }

    /// Flushes everything committed to disk. Only needed with ``Configuration/Durability/relaxed``.
    public func sync() throws(EventStoreError) {
        try environment.read { (_) throws(EventStoreError) in try environment.sync() }
    }

    /// What ``scan(from:through:_:)`` should do after a record.
    public enum ScanDecision: Sendable {
        case `continue`
        case stop
    }

    /// Calls `body` with every stored record from `position` through `end` (or
    /// the head), in log order, without copying them.
    ///
    /// The ``RecordView`` and every buffer it returns are valid **only during the
    /// call of `body`**: they point into the memory map. The scan runs in read
    /// transactions of at most `recordsPerTransaction` records, so a long scan
    /// does not pin old pages; it is synchronous and must not be called with
    /// anything awaited inside `body`.
    ///
    /// ```swift
    /// var bytes = 0
    /// let last = try store.scan(from: 1) { view in
    ///     bytes += view.payload.count
    ///     return .continue
    /// }
    /// ```
    ///
    /// - Returns: the position of the last record passed to `body`, or `position - 1` when none.
    /// - Throws: ``EventStoreError/corruptedRecord(position:reason:)`` for a damaged
    ///   record, or whatever `body` throws.
    @discardableResult
    public func scan(
        from position: LogPosition = 1, through end: LogPosition? = nil, recordsPerTransaction: Int = 65_536,
        _ body: (RecordView) throws -> ScanDecision
    ) throws -> LogPosition {
        var next = Swift.max(position.rawValue, 1)
        let last = end?.rawValue ?? UInt64.max
        var stopped = false
        var bodyError: (any Error)?
        while !stopped && next <= last {
            var seen = 0
            try environment.read { (txn) throws(EventStoreError) in
                try txn.reader.forEachRecord(from: next) { (view) throws(EventStoreError) -> Bool in
                    let at = view.position.rawValue
                    guard at <= last else { stopped = true; return false }
                    do {
                        if try body(view) == .stop { stopped = true }
                    } catch {
                        bodyError = error
                        stopped = true
                    }
                    next = at + 1
                    seen += 1
                    return !stopped && seen < recordsPerTransaction
                }
            }
            if let bodyError { throw bodyError }
            if seen < recordsPerTransaction { break }
        }
        return LogPosition(next - 1)
    }
}

extension GroupCommitWriter {
    /// Stops the writer without waiting (the store was released without ``LMDBEventStore/close()``).
    func stopWithoutWaiting() {
        Task { [self] in await stop() }
    }
}
