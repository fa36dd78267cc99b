import CLMDB
import RapportEventLog

/// The secondary indexes by event type and by actor.
///
/// Each is an LMDB table with sorted duplicates of fixed size (DUPSORT,
/// DUPFIXED): the key is the type name or the actor id, its values the
/// big-endian positions of the events, so byte order is log order and
/// 512 positions fit in a page.
///
/// They follow the log at a bounded distance rather than in every append
/// transaction (see ``IndexWatermark``): they hold exactly the positions up
/// to the watermark, never one past the log, and readers read the records
/// after the watermark (at most the largest
/// ``LMDBEventStore/Configuration/maximumIndexLag`` of the processes
/// appending) in order. A
/// one-event append therefore changes three B-trees (events, event ids,
/// stream heads) instead of five; the indexes are written in batches, where
/// a type or an actor has many events and only the ends of a few position
/// lists change. A lookup is one B-tree descent (O(log n)) to the first
/// position at or after the one asked for, then a walk along the sorted
/// positions.
enum SecondaryIndex: CaseIterable {
    case type
    case actor

    func table(_ tables: Tables) -> MDB_dbi {
        switch self {
        case .type: tables.typeIndex
        case .actor: tables.actorIndex
        }
    }

    /// The key of `view` in this index: its type name or its actor id.
    func key(of view: RecordView) -> UnsafeRawBufferPointer {
        switch self {
        case .type: view.typeBytes
        case .actor: view.actorIDBytes
        }
    }

    var name: String {
        switch self {
        case .type: "type"
        case .actor: "actor"
        }
    }
}

/// The positions one catch-up adds to an index, grouped by key in the
/// order keys first appear; each key's positions ascend.
struct IndexAdditions {
    private var keys: [[UInt8]] = []
    private var positions: [[UInt64]] = []
    private var slots: [[UInt8]: Int] = [:]
    private var last = -1

    mutating func add(_ key: UnsafeRawBufferPointer, _ position: UInt64) {
        // Consecutive events mostly share a type and an actor: try the last key first.
        if last < 0 || !keys[last].withUnsafeBytes({ $0.elementsEqual(key) }) {
            let bytes = Array(key)
            if let slot = slots[bytes] {
                last = slot
            } else {
                last = keys.count
                slots[bytes] = last
                keys.append(bytes)
                positions.append([])
            }
        }
        positions[last].append(position)
    }

    /// Appends every collected position to `dbi`. Positions are normally
    /// larger than any stored under the same key; one already stored (written
    /// by a process running a library of an older format, which indexes in
    /// its append transaction) is left as it is.
    func write(txn: OpaquePointer, dbi: MDB_dbi) throws(LMDBError) {
        guard !keys.isEmpty else { return }
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, dbi, &cursor), "opening an index cursor")
        defer { mdb_cursor_close(cursor) }
        for (index, key) in keys.enumerated() {
            try key.withTypedBytes { (bytes) throws(LMDBError) in
                for position in positions[index] {
                    var k = MDB_val(mv_size: bytes.count, mv_data: UnsafeMutableRawPointer(mutating: bytes.baseAddress))
                    var value = position.bigEndian
                    try Swift.withUnsafeMutableBytes(of: &value) { (bytes) throws(LMDBError) in
                        var v = MDB_val(mv_size: 8, mv_data: bytes.baseAddress)
                        var code = mdb_cursor_put(cursor, &k, &v, UInt32(MDB_APPENDDUP))
                        if code == MDB_KEYEXIST {
                            code = mdb_cursor_put(cursor, &k, &v, UInt32(MDB_NODUPDATA))
                            if code == MDB_KEYEXIST { code = MDB_SUCCESS }
                        }
                        try check(code, "indexing position \(position)")
                    }
                }
            }
        }
    }
}

/// How far the type and actor indexes reach: the `indexed-through` entry of
/// the `meta` table, the last position they hold (8 bytes, big-endian).
/// Every position up to it is in both indexes, none after it; it is never
/// past the log. It moves only in a write transaction that writes the
/// indexes of the records between it and the log's end (``catchUp(txn:tables:)``),
/// so a crash leaves it and the indexes agreeing.
enum IndexWatermark {
    static let key = Array("indexed-through".utf8)

    /// The last indexed position. A format-4 store always has one; its absence is damage.
    static func read(_ reader: TxnReader) throws(EventStoreError) -> UInt64 {
        guard let indexed = try stored(reader) else {
            throw .storage("the store's index watermark is missing or damaged (meta entry indexed-through); rebuildIndexes() restores it")
        }
        return indexed
    }

    /// The stored watermark, or nil when the entry is missing or not 8 bytes;
    /// a failure to read it is thrown.
    static func stored(_ reader: TxnReader) throws(EventStoreError) -> UInt64? {
        let stored: UnsafeRawBufferPointer?
        do throws(LMDBError) {
            stored = try key.withTypedBytes { (k) throws(LMDBError) in try reader.get(reader.tables.meta, key: k) }
        } catch { throw error.storeError }
        guard let stored, stored.count == 8 else { return nil }
        return UInt64(bigEndian: stored.loadUnaligned(as: UInt64.self))
    }

    static func write(_ position: UInt64, txn: OpaquePointer, tables: Tables) throws(LMDBError) {
        var value = position.bigEndian
        try key.withTypedBytes { (k) throws(LMDBError) in
            try withTypedBytes(of: &value) { (v) throws(LMDBError) in try Bytes.put(txn: txn, dbi: tables.meta, key: k, value: v) }
        }
    }

    /// How many records are read before the collected positions are written out.
    static let recordsPerRound = 262_144

    /// Indexes every record after the watermark, in the write transaction
    /// `txn` (which sees its own appends), and moves the watermark to the
    /// log's end. Reads each record's header in place, in rounds of
    /// ``recordsPerRound`` so memory does not grow with the log; a damaged
    /// record fails the transaction. `indexedThrough`: the watermark, when
    /// the caller has just read it.
    static func catchUp(txn: OpaquePointer, tables: Tables, indexedThrough: UInt64? = nil) throws {
        let reader = TxnReader(txn: txn, tables: tables)
        var indexed = try indexedThrough ?? read(reader)
        while true {
            var types = IndexAdditions(), actors = IndexAdditions()
            var seen = 0
            try reader.forEachRecord(from: indexed + 1) { (view) throws(EventStoreError) -> Bool in
                guard view.position.rawValue == indexed + 1 else {
                    throw .corruptedRecord(position: view.position, reason: "the log has a gap before it (indexed through \(indexed))")
                }
                types.add(view.typeBytes, view.position.rawValue)
                actors.add(view.actorIDBytes, view.position.rawValue)
                indexed += 1
                seen += 1
                return seen < recordsPerRound
            }
            guard seen > 0 else { return }
            try types.write(txn: txn, dbi: tables.typeIndex)
            try actors.write(txn: txn, dbi: tables.actorIndex)
            try write(indexed, txn: txn, tables: tables)
            if seen < recordsPerRound { return }
        }
    }
}

extension TxnReader {
    /// Up to `limit` positions from `from` through `through` under `key` in `index`, ascending.
    func positions(in index: SecondaryIndex, key: String, from: UInt64, through: UInt64, limit: Int) throws(EventStoreError) -> [UInt64] {
        guard limit > 0 else { return [] }
        do throws(LMDBError) {
            var cursor: OpaquePointer?
            try check(mdb_cursor_open(txn, index.table(tables), &cursor), "opening an index cursor")
            defer { mdb_cursor_close(cursor) }
            var key = key
            return try key.withUTF8Bytes { (utf8) throws(LMDBError) -> [UInt64] in
                guard utf8.count > 0 else { return [] }
                var k = MDB_val(mv_size: utf8.count, mv_data: UnsafeMutableRawPointer(mutating: utf8.baseAddress))
                var start = Swift.max(from, 1).bigEndian
                return try Swift.withUnsafeMutableBytes(of: &start) { (bytes) throws(LMDBError) -> [UInt64] in
                    var v = MDB_val(mv_size: 8, mv_data: bytes.baseAddress)
                    var code = mdb_cursor_get(cursor, &k, &v, MDB_GET_BOTH_RANGE)
                    var result: [UInt64] = []
                    while code == MDB_SUCCESS && result.count < limit {
                        guard v.mv_size == 8 else { throw LMDBError(code: MDB_CORRUPTED, operation: "reading the \(index.name) index") }
                        let position = UInt64(bigEndian: v.mv_data.loadUnaligned(as: UInt64.self))
                        guard position <= through else { return result }
                        result.append(position)
                        code = mdb_cursor_get(cursor, &k, &v, MDB_NEXT_DUP)
                    }
                    if code != MDB_NOTFOUND && code != MDB_SUCCESS { try check(code, "reading the \(index.name) index") }
                    return result
                }
            }
        } catch {
            throw error.storeError
        }
    }

    /// How many events `index` holds under `key`: O(log n), no walk.
    func count(in index: SecondaryIndex, key: String) throws(EventStoreError) -> UInt64 {
        do throws(LMDBError) {
            var cursor: OpaquePointer?
            try check(mdb_cursor_open(txn, index.table(tables), &cursor), "opening an index cursor")
            defer { mdb_cursor_close(cursor) }
            var key = key
            return try key.withUTF8Bytes { (utf8) throws(LMDBError) -> UInt64 in
                guard utf8.count > 0 else { return 0 }
                var k = MDB_val(mv_size: utf8.count, mv_data: UnsafeMutableRawPointer(mutating: utf8.baseAddress))
                var v = MDB_val()
                let code = mdb_cursor_get(cursor, &k, &v, MDB_SET)
                if code == MDB_NOTFOUND { return 0 }
                try check(code, "reading the \(index.name) index")
                var count = 0
                try check(mdb_cursor_count(cursor, &count), "counting in the \(index.name) index")
                return UInt64(count)
            }
        } catch {
            throw error.storeError
        }
    }

    /// Whether `index` holds `position` under the key of `view`.
    func indexHolds(_ index: SecondaryIndex, _ view: RecordView) throws(LMDBError) -> Bool {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, index.table(tables), &cursor), "opening an index cursor")
        defer { mdb_cursor_close(cursor) }
        let key = index.key(of: view)
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var position = view.position.rawValue.bigEndian
        return try Swift.withUnsafeMutableBytes(of: &position) { (bytes) throws(LMDBError) -> Bool in
            var v = MDB_val(mv_size: 8, mv_data: bytes.baseAddress)
            let code = mdb_cursor_get(cursor, &k, &v, MDB_GET_BOTH)
            if code == MDB_NOTFOUND { return false }
            try check(code, "reading the \(index.name) index")
            return true
        }
    }
}

/// Building the secondary indexes from the log: when a store written by an
/// older version of the library is opened, and on request
/// (``LMDBEventStore/rebuildIndexes()``).
enum IndexBuilder {
    /// Empties both indexes and fills them from every record of the log, in
    /// the write transaction `txn`, and sets the watermark to the log's end.
    static func rebuild(txn: OpaquePointer, tables: Tables) throws {
        for index in SecondaryIndex.allCases {
            try check(mdb_drop(txn, index.table(tables), 0), "emptying the \(index.name) index")
        }
        try IndexWatermark.write(0, txn: txn, tables: tables)
        try IndexWatermark.catchUp(txn: txn, tables: tables)
    }
}
