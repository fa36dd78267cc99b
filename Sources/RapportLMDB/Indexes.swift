import CLMDB
import RapportEventLog

/// The secondary indexes by event type and by actor.
///
/// Each is an LMDB table with sorted duplicates of fixed size (DUPSORT,
/// DUPFIXED): the key is the type name or the actor id, its values the
/// big-endian positions of the events, so byte order is log order and
/// 512 positions fit in a page. They are written in the append transaction,
/// never ahead of or behind the log. A type or an actor has many events and
/// there are few of them, so a commit only appends to the end of a few
/// position lists: a handful of pages, however many events it holds. A
/// lookup is one B-tree descent (O(log n)) to the first position at or after
/// the one asked for, then a walk along the sorted positions.
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

/// The positions one transaction adds to an index, grouped by key in the
/// order keys first appear; each key's positions ascend.
struct IndexAdditions {
    private var keys: [String] = []
    private var positions: [[UInt64]] = []
    private var slots: [String: Int] = [:]
    private var last = -1

    var isEmpty: Bool { keys.isEmpty }

    mutating func add(_ key: String, _ position: UInt64) {
        // Consecutive events mostly share a type and an actor: try the last key first.
        if last < 0 || keys[last] != key {
            if let slot = slots[key] {
                last = slot
            } else {
                last = keys.count
                slots[key] = last
                keys.append(key)
                positions.append([])
            }
        }
        positions[last].append(position)
    }

    /// Appends every collected position to `dbi`. Positions must be larger
    /// than any stored under the same key, which holds for new events.
    func write(txn: OpaquePointer, dbi: MDB_dbi) throws(LMDBError) {
        guard !keys.isEmpty else { return }
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, dbi, &cursor), "opening an index cursor")
        defer { mdb_cursor_close(cursor) }
        for (index, key) in keys.enumerated() {
            var key = key
            try key.withUTF8Bytes { (utf8) throws(LMDBError) in
                for position in positions[index] {
                    var k = MDB_val(mv_size: utf8.count, mv_data: UnsafeMutableRawPointer(mutating: utf8.baseAddress))
                    var value = position.bigEndian
                    try Swift.withUnsafeMutableBytes(of: &value) { (bytes) throws(LMDBError) in
                        var v = MDB_val(mv_size: 8, mv_data: bytes.baseAddress)
                        try check(mdb_cursor_put(cursor, &k, &v, UInt32(MDB_APPENDDUP)), "indexing position \(position)")
                    }
                }
            }
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
    /// How many records are read before the collected positions are written out.
    static let recordsPerRound = 262_144

    /// Empties both indexes and fills them from every record of the log, in
    /// the write transaction `txn`.
    static func rebuild(txn: OpaquePointer, tables: Tables) throws {
        for index in SecondaryIndex.allCases {
            try check(mdb_drop(txn, index.table(tables), 0), "emptying the \(index.name) index")
        }
        let reader = TxnReader(txn: txn, tables: tables)
        var next: UInt64 = 1
        while true {
            var additions = SecondaryIndex.allCases.map { _ in IndexAdditions() }
            var seen = 0
            try reader.forEachRecord(from: next) { (view) throws(EventStoreError) -> Bool in
                for (slot, index) in SecondaryIndex.allCases.enumerated() {
                    additions[slot].add(String(decoding: index.key(of: view), as: UTF8.self), view.position.rawValue)
                }
                next = view.position.rawValue + 1
                seen += 1
                return seen < recordsPerRound
            }
            for (slot, index) in SecondaryIndex.allCases.enumerated() {
                try additions[slot].write(txn: txn, dbi: index.table(tables))
            }
            if seen < recordsPerRound { return }
        }
    }
}
