import CLMDB
import Foundation
import Logging
import RapportEventLog
import Synchronization

/// The named databases of a store. See `docs/storage-format.md`.
struct Tables: Sendable {
    /// position (8 bytes, big-endian) → record
    let events: MDB_dbi
    /// event id (16 bytes) → position (8 bytes, big-endian)
    let eventIDs: MDB_dbi
    /// stream id (UTF-8) → head (count and skip ladder)
    let streamHeads: MDB_dbi
    /// tag (UTF-8) → head (count and skip ladder)
    let tagHeads: MDB_dbi
    /// name (UTF-8) → value: format version, creation time
    let meta: MDB_dbi
    /// projection name, 0x00, key (UTF-8) → value
    let readModels: MDB_dbi
    /// projection name (UTF-8) → version (i64 LE), position (u64 LE)
    let checkpoints: MDB_dbi
    /// event type name (UTF-8) → sorted positions (8 bytes, big-endian), see ``SecondaryIndex``
    let typeIndex: MDB_dbi
    /// actor id (UTF-8) → sorted positions (8 bytes, big-endian)
    let actorIndex: MDB_dbi
}

/// One LMDB environment: its handle, its tables, a pool of read transactions,
/// and the gate that keeps the map from being resized under a reader.
///
/// Every read transaction runs inside ``read(_:)`` holding the gate shared;
/// resizing the map (by this process, or adopting another process's resize)
/// takes it exclusively, as LMDB requires that no transaction be active then.
///
/// The gate is glibc's read-write lock, which lets a reader in whenever other
/// readers hold it, even while a resize waits: reads that overlap without a
/// gap would hold a resize off for ever. So a read that begins while a
/// resize waits first steps aside for up to ``readerYield``, letting the
/// reads under way end; it never waits longer (a long read must not stall
/// every reader), and then enters as before. A read nested in another on
/// the same thread does not step aside (the resize waits for the outer one
/// anyway): each thread's holds are counted.
final class Environment: @unchecked Sendable {
    let env: OpaquePointer
    let tables: Tables
    let path: String
    private let logger: Logger
    private var gate = pthread_rwlock_t()
    /// Threads waiting to take the gate exclusively (a resize, an adoption, closing).
    private let exclusiveWaiters = Atomic<Int>(0)
    /// How long a read that begins while a resize waits steps aside at most.
    static let readerYield = Duration.milliseconds(10)
    /// The key of each thread's count of shared holds of the gate (a read
    /// is synchronous, so a hold never moves to another thread).
    private var holdsKey = pthread_key_t()
    /// How many reads stepped aside for a waiting resize (for tests).
    let readerYields = Atomic<Int>(0)
    /// Whether a resize (or closing) waits for the gate (for tests).
    var exclusiveWaiting: Bool { exclusiveWaiters.load(ordering: .acquiring) > 0 }
    /// Reset read transactions, ready to be renewed (MDB_NOTLS: not bound to a thread).
    private let idleReaders = Mutex<[ReaderHandle]>([])
    /// The most reset read transactions kept for reuse: 16, or a quarter of
    /// the reader table when that is fewer (at least 1). The table's size is
    /// `maximumReaders` of the process that created the lock file. Each holds one of
    /// the `maximumReaders` slots, which every process using the store
    /// shares: after a burst of concurrent reads the rest are ended, not
    /// kept, and a process that goes idle leaves the other processes most
    /// of the table.
    let maximumIdleReaders: Int
    /// The most reset read transactions any store keeps.
    static let idleReaderLimit = 16
    /// How many reset read transactions are kept for reuse (for tests).
    var idleReaderCount: Int { idleReaders.withLock { $0.count } }
    private let closed = Atomic<Bool>(false)
    let maximumMapSize: Int

    /// Paths open in this process: LMDB must not open one environment twice in a process.
    private static let openPaths = Mutex<Set<String>>([])

    init(path: String, configuration: LMDBEventStore.Configuration) throws(EventStoreError) {
        self.logger = configuration.logger
        self.maximumMapSize = configuration.maximumMapSize
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .storage("cannot create the store directory \(path): \(error.localizedDescription)")
        }
        let canonical = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        self.path = canonical
        let claimed = Self.openPaths.withLock { $0.insert(canonical).inserted }
        guard claimed else {
            throw .storage("the store at \(canonical) is already open in this process; share the one LMDBEventStore instance")
        }
        var handle: OpaquePointer?
        var tablesValue: Tables?
        func release() {
            if let handle { mdb_env_close(handle) }
            Self.openPaths.withLock { _ = $0.remove(canonical) }
        }
        do {
            try check(mdb_env_create(&handle), "creating the environment")
            try check(mdb_env_set_maxdbs(handle, 32), "setting the number of tables")
            try check(mdb_env_set_maxreaders(handle, UInt32(configuration.maximumReaders)), "setting the number of readers")
            try check(mdb_env_set_mapsize(handle, configuration.initialMapSize), "setting the map size")
            var flags = UInt32(MDB_NOTLS)
            if configuration.durability == .relaxed { flags |= UInt32(MDB_NOSYNC) }
            try check(mdb_env_open(handle, canonical, flags, 0o644), "opening \(canonical)")
            // Reader slots left by processes that died inside a read
            // transaction would pin old pages (and count against
            // maximumReaders) until cleared.
            Self.clearStaleReaders(handle!, path: canonical, logger: configuration.logger, when: "opening the store")
            tablesValue = try Self.openTables(handle!, maximumMapSize: configuration.maximumMapSize, upgrade: configuration.upgradesOlderFormats)
        } catch let error as LMDBError {
            release()
            throw error.storeError
        } catch let error as EventStoreError {
            release()
            throw error  // a damaged record met while upgrading the store
        } catch {
            release()
            throw .storage("opening \(canonical): \(error)")
        }
        self.env = handle!
        self.tables = tablesValue!
        // The reader table's size: set by the process that created the lock file, which may not be this one.
        var readers: UInt32 = 0
        mdb_env_get_maxreaders(handle, &readers)
        self.maximumIdleReaders = min(Self.idleReaderLimit, max(1, Int(readers) / 4))
        pthread_rwlock_init(&gate, nil)
        pthread_key_create(&holdsKey, nil)
    }

    /// Opens (creating them in a new store) the tables, and checks or
    /// upgrades the store's format, in one write transaction. Adopts a map
    /// another process grew meanwhile, and grows the map (up to
    /// `maximumMapSize`) when the setup needs more room, as an upgrade of a
    /// large store can; then runs the transaction again from the start.
    private static func openTables(_ env: OpaquePointer, maximumMapSize: Int, upgrade: Bool) throws -> Tables {
        var attempts = 0
        while true {
            attempts += 1
            do {
                return try openTablesOnce(env, upgrade: upgrade)
            } catch let error as LMDBError where error.isMapResized && attempts < 16 {
                try check(mdb_env_set_mapsize(env, 0), "adopting the map another process grew")
            } catch let error as LMDBError where error.isMapFull && attempts < 64 {
                var info = MDB_envinfo()
                mdb_env_info(env, &info)
                guard info.me_mapsize < maximumMapSize else { throw error }
                let doubled = info.me_mapsize > Int.max / 2 ? Int.max : info.me_mapsize * 2
                let grown = (Swift.min(doubled, maximumMapSize) + 4095) / 4096 * 4096
                try check(mdb_env_set_mapsize(env, grown), "growing the map to \(grown) bytes")
            }
        }
    }

    private static func openTablesOnce(_ env: OpaquePointer, upgrade: Bool) throws -> Tables {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(env, nil, 0, &txn), "beginning the setup transaction")
        let tables: Tables
        do {
            func open(_ name: String, _ flags: Int32 = 0) throws(LMDBError) -> MDB_dbi {
                var dbi: MDB_dbi = 0
                try check(mdb_dbi_open(txn, name, UInt32(MDB_CREATE | flags), &dbi), "opening table \(name)")
                return dbi
            }
            tables = Tables(
                events: try open("events"), eventIDs: try open("event-ids"), streamHeads: try open("stream-heads"),
                tagHeads: try open("tag-heads"), meta: try open("meta"),
                readModels: try open("read-models"), checkpoints: try open("checkpoints"),
                typeIndex: try open("type-index", MDB_DUPSORT | MDB_DUPFIXED),
                actorIndex: try open("actor-index", MDB_DUPSORT | MDB_DUPFIXED))
            try StoreMeta.checkOrInitialize(txn: txn!, tables: tables, upgrade: upgrade)
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
        // A commit ends the transaction even when it fails: nothing to abort after it.
        try check(mdb_txn_commit(txn), "committing the setup transaction")
        return tables
    }

    var isClosed: Bool { closed.load(ordering: .acquiring) }

    /// Runs `body` in a short read transaction. No `await` can happen inside:
    /// the closure is synchronous. Adopts a map resized by another process.
    func read<R>(_ body: (borrowing ReadTransaction) throws(EventStoreError) -> R) throws(EventStoreError) -> R {
        var checkedReaders = false
        while true {
            lockShared()
            if isClosed {
                unlockShared()
                throw .storeClosed
            }
            var txn = idleReaders.withLock { $0.popLast() }?.txn
            var code: Int32
            if let existing = txn {
                code = mdb_txn_renew(existing)
                if code != MDB_SUCCESS { mdb_txn_abort(existing); txn = nil }
            } else {
                code = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
            }
            if code == MDB_MAP_RESIZED {
                unlockShared()
                try adoptResizedMap()
                continue
            }
            if code == MDB_READERS_FULL && !checkedReaders {
                // Slots of dead processes may fill the table: free them and try once more.
                unlockShared()
                checkedReaders = true
                clearStaleReaders(when: "a read found the reader table full")
                continue
            }
            guard code == MDB_SUCCESS, let txn else {
                unlockShared()
                throw LMDBError(code: code, operation: "beginning a read transaction").storeError
            }
            defer {
                mdb_txn_reset(txn)
                let kept = idleReaders.withLock { pool in
                    guard pool.count < maximumIdleReaders else { return false }
                    pool.append(ReaderHandle(txn: txn))
                    return true
                }
                if !kept { mdb_txn_abort(txn) }
                unlockShared()
            }
            return try body(ReadTransaction(txn: txn, tables: tables))
        }
    }

    /// Frees the reader slots of processes that ended inside a read
    /// transaction (killed, crashed): LMDB keeps them otherwise, and each
    /// one pins the pages of its snapshot, so the file grows, and takes one
    /// of `maximumReaders`. Cheap: one scan of the reader table. Returns how
    /// many were freed.
    ///
    /// The caller must not hold the gate (it is taken shared, so that the
    /// environment is not closed meanwhile).
    @discardableResult
    func clearStaleReaders(when: String) -> Int {
        lockShared()
        defer { unlockShared() }
        guard !isClosed else { return 0 }
        return Self.clearStaleReaders(env, path: path, logger: logger, when: when)
    }

    @discardableResult
    private static func clearStaleReaders(_ env: OpaquePointer, path: String, logger: Logger, when: String) -> Int {
        var dead: Int32 = 0
        let code = mdb_reader_check(env, &dead)
        if code != MDB_SUCCESS {
            logger.warning("checking the LMDB reader table failed", metadata: ["path": "\(path)", "error": "\(LMDBError(code: code, operation: "checking readers"))"])
            return 0
        }
        if dead > 0 {
            logger.notice(
                "cleared reader slots of processes that ended inside a read transaction",
                metadata: ["path": "\(path)", "cleared": "\(dead)", "when": "\(when)"])
        }
        return Int(dead)
    }

    /// Adopts the map size another process set (LMDB's MDB_MAP_RESIZED).
    ///
    /// Must be called without holding the gate. Waits for this process's read
    /// transactions and its writer's transaction (the writer holds the gate
    /// shared around each, see ``holdingGateForWriting(_:)``): LMDB refuses
    /// to adopt (EINVAL) while a write transaction is active. Idempotent:
    /// when another thread adopted the new size first, it does nothing.
    func adoptResizedMap() throws(EventStoreError) {
        try withExclusiveAccess { () throws(EventStoreError) in
            // Adopted already (by another reader or the writer)? A read
            // transaction begins again only when the mapping covers the data.
            var probe: OpaquePointer?
            let code = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &probe)
            if code == MDB_SUCCESS {
                mdb_txn_abort(probe)
                return
            }
            do throws(LMDBError) { try check(mdb_env_set_mapsize(env, 0), "adopting the resized map") } catch { throw error.storeError }
        }
    }

    /// Runs one write transaction of the writer thread (`body` begins and
    /// ends it) holding the gate shared, so that a reader adopting another
    /// process's map resize waits for it to end. The writer must not grow
    /// or adopt the map inside `body` (both take the gate exclusively): it
    /// ends the transaction and returns first.
    func holdingGateForWriting<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lockShared()
        defer { unlockShared() }
        return try body()
    }

    /// This thread's shared holds of the gate.
    private var sharedHolds: Int {
        get { Int(bitPattern: pthread_getspecific(holdsKey)) }
        set { pthread_setspecific(holdsKey, UnsafeRawPointer(bitPattern: newValue)) }
    }

    /// Takes the gate shared; while a resize waits for it, a thread that
    /// holds it not yet first steps aside for up to ``readerYield`` (see the
    /// type's documentation).
    private func lockShared() {
        let holds = sharedHolds
        if holds == 0, exclusiveWaiters.load(ordering: .acquiring) > 0 {
            readerYields.add(1, ordering: .relaxed)
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: Self.readerYield)
            while exclusiveWaiters.load(ordering: .acquiring) > 0, clock.now < deadline {
                usleep(50)
            }
        }
        pthread_rwlock_rdlock(&gate)
        sharedHolds = holds + 1
    }

    private func unlockShared() {
        sharedHolds -= 1
        pthread_rwlock_unlock(&gate)
    }

    /// Takes the gate exclusively, telling new readers to step aside meanwhile.
    private func lockExclusive() {
        exclusiveWaiters.add(1, ordering: .acquiringAndReleasing)
        pthread_rwlock_wrlock(&gate)
        exclusiveWaiters.subtract(1, ordering: .acquiringAndReleasing)
    }

    /// The current map size in bytes.
    var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return info.me_mapsize
    }

    /// Grows the map so at least `needed` more bytes fit. Called by the writer
    /// between transactions.
    func growMap(needed: Int) throws(EventStoreError) {
        // A dead process's reader may be what keeps freed pages from reuse.
        clearStaleReaders(when: "growing the map")
        let current = mapSize
        guard current < maximumMapSize else {
            throw .storeFull("the store reached its maximum size of \(maximumMapSize) bytes")
        }
        let doubled = current > Int.max / 2 ? Int.max : current * 2
        let step = Swift.max(doubled, current + needed * 2)
        let pageAligned = (Swift.min(step, maximumMapSize) + 4095) / 4096 * 4096
        try withExclusiveAccess { () throws(EventStoreError) in
            do throws(LMDBError) { try check(mdb_env_set_mapsize(env, pageAligned), "growing the map to \(pageAligned) bytes") } catch {
                throw error.storeError
            }
        }
        logger.info("grew the LMDB map", metadata: ["path": "\(path)", "from": "\(current)", "to": "\(pageAligned)"])
    }

    /// Runs `body` while no read transaction of this process is active.
    private func withExclusiveAccess(_ body: () throws(EventStoreError) -> Void) throws(EventStoreError) {
        // Waiting for every shared hold while this thread has one would wait for ever.
        guard sharedHolds == 0 else {
            throw .storage("the LMDB map was resized by another process while this thread was inside a read; end that read and try again")
        }
        lockExclusive()
        defer { pthread_rwlock_unlock(&gate) }
        guard !isClosed else { throw .storeClosed }
        // Pooled transactions hold reader slots tied to the old map; drop them.
        idleReaders.withLock { pool in
            for handle in pool { mdb_txn_abort(handle.txn) }
            pool.removeAll()
        }
        try body()
    }

    /// Why a write of about `needed` bytes failed, when the cause is a full
    /// device or the process's file size limit; nil for other I/O errors.
    /// LMDB reports a short write as EIO, which is how a full disk shows.
    func diagnoseFullDevice(needed: Int) -> EventStoreError? {
        var stats = statvfs()
        if statvfs(path, &stats) == 0 {
            let free = UInt64(stats.f_bavail) * UInt64(stats.f_frsize)
            if free < UInt64(needed) * 2 + (1 << 20) {
                return .storeFull("no space left on the device (\(free) bytes free)")
            }
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max {
            let size = (try? FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.size] as? NSNumber)?.uint64Value ?? 0
            if size + UInt64(needed) >= UInt64(limit.rlim_cur) {
                return .storeFull("the process's file size limit of \(limit.rlim_cur) bytes was reached")
            }
        }
        return nil
    }

    /// Flushes buffers to disk (useful with relaxed durability).
    func sync() throws(EventStoreError) {
        do throws(LMDBError) { try check(mdb_env_sync(env, 1), "syncing") } catch { throw error.storeError }
    }

    /// Closes the environment once no read transaction is active.
    func close() {
        lockExclusive()
        defer { pthread_rwlock_unlock(&gate) }
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        idleReaders.withLock { pool in
            for handle in pool { mdb_txn_abort(handle.txn) }
            pool.removeAll()
        }
        mdb_env_close(env)
        Self.openPaths.withLock { _ = $0.remove(path) }
    }

    deinit {
        close()
        pthread_rwlock_destroy(&gate)
        pthread_key_delete(holdsKey)
    }
}

/// A reset read transaction waiting in the pool. LMDB allows a reset
/// transaction to be renewed on any thread when the environment has MDB_NOTLS.
struct ReaderHandle: @unchecked Sendable {
    let txn: OpaquePointer
}

/// The store's identity and format, kept in the `meta` table.
///
/// Format 2 added the type and actor indexes; format 3 stores the stream and
/// tag heads as varints (``StoredHead``) instead of fixed u64s; format 4 lets
/// the type and actor indexes trail the log up to a watermark
/// (``IndexWatermark``). An older store is upgraded when opened, in the setup
/// transaction: a format-1 store gets its indexes built from its log, the
/// heads of a format-1 or format-2 store are rewritten in the new form, and
/// the indexes of a format-2 or format-3 store, complete by construction, get
/// a watermark at the log's end; then the marker says 4, so a library that
/// knows only an older format (and would not read the unindexed tail)
/// refuses it.
enum StoreMeta {
    static let formatKey = "format"
    static let formatValue = "rapport-lmdb/4"
    /// How the refusal of an older store, not upgraded, begins (see
    /// ``LMDBEventStore/isOlderFormatNotUpgraded(_:)``).
    static let notUpgraded = "the store has the older format"
    /// Formats this library upgrades when it opens them.
    static let upgradable: Set<String> = ["rapport-lmdb/1", "rapport-lmdb/2", "rapport-lmdb/3"]

    static func checkOrInitialize(txn: OpaquePointer, tables: Tables, upgrade: Bool) throws {
        if let stored = try Bytes.get(txn: txn, dbi: tables.meta, key: Array(formatKey.utf8)) {
            let text = String(decoding: stored, as: UTF8.self)
            if text == formatValue { return }
            guard upgradable.contains(text) else {
                throw LMDBError(code: LMDBError.notThisFormat, operation: "the store has format \(text), this library reads \(formatValue)")
            }
            guard upgrade else {
                throw LMDBError(code: LMDBError.notThisFormat, operation: "\(notUpgraded) \(text); this library reads \(formatValue) "
                                + "and was asked not to upgrade it (upgradesOlderFormats is false)")
            }
            if text != "rapport-lmdb/3" {
                try rewriteFixedHeads(txn: txn, dbi: tables.streamHeads, kind: "stream")
                try rewriteFixedHeads(txn: txn, dbi: tables.tagHeads, kind: "tag")
            }
            if text == "rapport-lmdb/1" {
                try IndexBuilder.rebuild(txn: txn, tables: tables)
            } else {
                try IndexWatermark.write(try TxnReader(txn: txn, tables: tables).last().position, txn: txn, tables: tables)
            }
        } else {
            var stat = MDB_stat()
            try check(mdb_stat(txn, tables.events, &stat), "reading the events table")
            guard stat.ms_entries == 0 else {
                throw LMDBError(code: LMDBError.notThisFormat, operation: "the environment holds events but no Rapport format marker")
            }
            try IndexWatermark.write(0, txn: txn, tables: tables)
        }
        try Bytes.put(txn: txn, dbi: tables.meta, key: Array(formatKey.utf8), value: Array(formatValue.utf8))
    }

    /// Rewrites every head of `dbi` from formats 1 and 2's fixed u64s (the
    /// count, then the ladder) into format 3's varints.
    private static func rewriteFixedHeads(txn: OpaquePointer, dbi: MDB_dbi, kind: String) throws {
        var heads: [(key: [UInt8], value: [UInt8])] = []
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, dbi, &cursor), "opening a cursor on the \(kind) heads")
        defer { mdb_cursor_close(cursor) }
        var k = MDB_val(), v = MDB_val()
        var code = mdb_cursor_get(cursor, &k, &v, MDB_FIRST)
        while code == MDB_SUCCESS {
            let key = UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size)
            let value = UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
            let head = Head(decoding: value)
            guard value.count % 8 == 0, value.count == head.encodedCount, head.isWellFormed else {
                throw LMDBError(code: MDB_CORRUPTED, operation: "upgrading the head of \(kind) \(String(decoding: key, as: UTF8.self))")
            }
            heads.append((Array(key), StoredHead.encoded(head)))
            code = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)
        }
        if code != MDB_NOTFOUND { try check(code, "reading the \(kind) heads") }
        for (key, value) in heads { try Bytes.put(txn: txn, dbi: dbi, key: key, value: value) }
    }
}
