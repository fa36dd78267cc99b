import CLMDB
import Foundation
public import RapportEventLog

/// Read models live in the same environment as the log: table `read-models`
/// (key: projection name, a 0 byte, the key) and table `checkpoints`. Commits
/// run on the writer thread, in a transaction of their own, so a read model
/// and its checkpoint change together or not at all.
extension LMDBEventStore: ReadModelStorage {
    /// The stored checkpoint of `projection` (its version and the last
    /// position applied), or nil when it has never committed.
    ///
    /// ```swift
    /// let reached = try store.checkpoint(of: "audit-trail")?.position
    /// ```
    public func checkpoint(of projection: String) throws(EventStoreError) -> ProjectionCheckpoint? {
        try environment.read { (txn) throws(EventStoreError) -> ProjectionCheckpoint? in
            do throws(LMDBError) {
                return try Self.checkpoint(of: projection, in: txn.reader)
            } catch {
                throw error.storeError
            }
        }
    }

    /// The stored checkpoint of `projection`, read in `reader`'s transaction.
    static func checkpoint(of projection: String, in reader: TxnReader) throws(LMDBError) -> ProjectionCheckpoint? {
        guard let bytes = try reader.get(reader.tables.checkpoints, text: projection) else { return nil }
        guard bytes.count == 16 else {
            throw LMDBError(code: MDB_CORRUPTED, operation: "the checkpoint of \(projection) is \(bytes.count) bytes")
        }
        return ProjectionCheckpoint(
            version: Int(Int64(littleEndian: bytes.loadUnaligned(as: Int64.self))),
            position: LogPosition(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))))
    }

    /// Runs `body` with a reader of `projection`'s read model, in one short
    /// read transaction (no `await` inside; values lent in place are valid
    /// only during the call).
    ///
    /// ```swift
    /// let bytes = try store.read("audit-trail") { (reader) throws(EventStoreError) in try reader.value(forKey: "entry/…") }
    /// ```
    public func read<R>(_ projection: String, _ body: (any ReadModelReader) throws(EventStoreError) -> R) throws(EventStoreError) -> R {
        try environment.read { (txn) throws(EventStoreError) -> R in
            let reader = LMDBReadModelReader(reader: txn.reader, projection: projection)
            defer { reader.close() }
            return try body(reader)
        }
    }

    /// The longest key LMDB stores, in bytes: a read-model key is stored
    /// after its projection's name and a zero byte, and the three together
    /// must not be longer (``commit(_:)`` refuses such a change).
    public static let maximumReadModelKeySize = 511

    /// Commits each projection's writes with its checkpoint, all in one write
    /// transaction on the store's writer: all of them land or none.
    ///
    /// ```swift
    /// try await store.commit([ReadModelChanges(projection: "calls", writes: ["count": Array("3".utf8)],
    ///                                          checkpoint: ProjectionCheckpoint(version: 1, position: head))])
    /// ```
    ///
    /// - Throws: ``EventStoreError/storage(_:)`` naming the key, its length and
    ///   the limit, before anything is written, when a key with its
    ///   projection's prefix is longer than ``maximumReadModelKeySize`` bytes.
    public func commit(_ changes: [ReadModelChanges]) async throws(EventStoreError) {
        for change in changes {
            let prefixSize = change.projection.utf8.count + 1
            if prefixSize - 1 > Self.maximumReadModelKeySize {
                throw .storage(
                    "the projection name \(change.projection.prefix(40))… is \(prefixSize - 1) bytes; LMDB's limit on a key is \(Self.maximumReadModelKeySize) bytes")
            }
            for key in change.writes.keys where prefixSize + key.utf8.count > Self.maximumReadModelKeySize {
                throw .storage(
                    "the read-model key \(key.prefix(60))… of projection \(change.projection) is \(key.utf8.count) bytes (\(prefixSize + key.utf8.count) with the projection's name and a separator); LMDB's limit on a key is \(Self.maximumReadModelKeySize) bytes")
            }
        }
        // Sorted here, on the caller's task, not on the writer's thread,
        // which meanwhile commits what others submitted.
        let sorted = changes.map { SortedWrites($0) }
        try await writerSubmit { txn in
            let tables = self.environment.tables
            // Every condition is checked before anything is written.
            let reader = TxnReader(txn: txn, tables: tables)
            for change in changes where change.condition != .any {
                let stored = try Self.checkpoint(of: change.projection, in: reader)
                guard change.condition.isMet(by: stored) else {
                    throw EventStoreError.checkpointMoved(projection: change.projection, expected: change.condition, actual: stored)
                }
            }
            for (change, writes) in zip(changes, sorted) {
                let prefix = Array(change.projection.utf8) + [0]
                if change.resetFirst { try Self.deleteAll(prefix: prefix, txn: txn, dbi: tables.readModels) }
                // In key order: neighbouring keys share pages, so each dirty page
                // is found while it is still in the CPU's caches. The keys of
                // one change share its prefix, so their own bytes decide the
                // order; each full key is built in one reused buffer.
                var fullKey = prefix
                try writes.forEach { (key, value) throws(LMDBError) in
                    fullKey.removeSubrange(prefix.count...)
                    fullKey.append(contentsOf: key)
                    if let value {
                        try Bytes.put(txn: txn, dbi: tables.readModels, key: fullKey, value: value)
                    } else {
                        try Self.delete(fullKey, txn: txn, dbi: tables.readModels)
                    }
                }
                var checkpoint = [UInt8](repeating: 0, count: 16)
                checkpoint.withUnsafeMutableBytes {
                    $0.storeBytes(of: Int64(change.checkpoint.version).littleEndian, as: Int64.self)
                    $0.storeBytes(of: change.checkpoint.position.rawValue.littleEndian, toByteOffset: 8, as: UInt64.self)
                }
                try Bytes.put(txn: txn, dbi: tables.checkpoints, key: Array(change.projection.utf8), value: checkpoint)
            }
        }
    }

    /// One change's writes in LMDB's key order. The keys are copied into
    /// one buffer and an array of plain (offset, length, index) entries is
    /// sorted by `memcmp` over it: sorting the `(String, [UInt8]?)` pairs
    /// themselves retained and released both on every move (7.5 % of a
    /// rebuild's samples at size S, on the writer thread).
    struct SortedWrites {
        private struct Entry {
            var start: Int
            var count: Int
            var index: Int
        }

        private let keys: [UInt8]
        private let values: [[UInt8]?]
        private let order: [Entry]

        init(_ change: ReadModelChanges) {
            var keys: [UInt8] = []
            var values: [[UInt8]?] = []
            var order: [Entry] = []
            values.reserveCapacity(change.writes.count)
            order.reserveCapacity(change.writes.count)
            for (key, value) in change.writes {
                let start = keys.count
                keys.append(contentsOf: key.utf8)
                order.append(Entry(start: start, count: keys.count - start, index: values.count))
                values.append(value)
            }
            keys.withUnsafeBytes { bytes in
                order.sort { a, b in
                    LMDBEventStore.precedes(
                        UnsafeRawBufferPointer(rebasing: bytes[a.start..<a.start + a.count]),
                        UnsafeRawBufferPointer(rebasing: bytes[b.start..<b.start + b.count]))
                }
            }
            self.keys = keys
            self.values = values
            self.order = order
        }

        /// Calls `body` with each key's bytes (valid during the call) and its value, in key order.
        func forEach<E: Error>(_ body: (UnsafeRawBufferPointer, [UInt8]?) throws(E) -> Void) throws(E) {
            try keys.withTypedBytes { (bytes) throws(E) in
                for entry in order {
                    try body(UnsafeRawBufferPointer(rebasing: bytes[entry.start..<entry.start + entry.count]), values[entry.index])
                }
            }
        }
    }

    /// Byte order, as LMDB compares keys (`memcmp`, then the shorter first).
    static func precedes(_ x: UnsafeRawBufferPointer, _ y: UnsafeRawBufferPointer) -> Bool {
        guard let xs = x.baseAddress, let ys = y.baseAddress, !x.isEmpty, !y.isEmpty else { return x.count < y.count }
        let order = memcmp(xs, ys, min(x.count, y.count))
        return order != 0 ? order < 0 : x.count < y.count
    }

    /// ``precedes(_:_:)`` of two byte arrays.
    static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBytes { x in b.withUnsafeBytes { y in precedes(x, y) } }
    }

    private static func delete(_ key: [UInt8], txn: OpaquePointer, dbi: MDB_dbi) throws(LMDBError) {
        var key = key
        try key.withTypedMutableBytes { (k) throws(LMDBError) in
            var kv = MDB_val(mv_size: k.count, mv_data: k.baseAddress)
            let code = mdb_del(txn, dbi, &kv, nil)
            if code != MDB_NOTFOUND { try check(code, "deleting a read-model key") }
        }
    }

    private static func deleteAll(prefix: [UInt8], txn: OpaquePointer, dbi: MDB_dbi) throws(LMDBError) {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, dbi, &cursor), "opening a cursor")
        defer { mdb_cursor_close(cursor) }
        var start = prefix
        try start.withTypedMutableBytes { (p) throws(LMDBError) in
            var k = MDB_val(mv_size: p.count, mv_data: p.baseAddress)
            var v = MDB_val()
            var code = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE)
            while code == MDB_SUCCESS {
                let key = UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size)
                guard key.starts(with: prefix) else { break }
                try check(mdb_cursor_del(cursor, 0), "deleting a read-model key")
                code = mdb_cursor_get(cursor, &k, &v, MDB_GET_CURRENT)
                if code == MDB_NOTFOUND || code == EINVAL { code = mdb_cursor_get(cursor, &k, &v, MDB_NEXT) }
            }
            if code != MDB_NOTFOUND && code != MDB_SUCCESS { try check(code, "walking a read model") }
        }
    }
}

/// A projection's slice of the `read-models` table, inside a read transaction.
/// Its walks share one cursor and one key buffer (a query makes many seeks:
/// a pipeline summary one per stale deal); ``close()`` closes the cursor
/// before the transaction ends.
struct LMDBReadModelReader: ReadModelReader {
    let reader: TxnReader
    /// The projection's name.
    let projection: String
    /// The projection's name and a 0 byte: the start of each of its keys.
    let prefix: [UInt8]
    private let scratch = Scratch()

    /// What the walks reuse.
    private final class Scratch {
        var cursor: OpaquePointer?
        /// Whether a walk is using ``cursor``: a walk started inside it gets a cursor of its own.
        var walking = false
        /// The wanted prefix, then the start key, both with the projection's prefix.
        var keys: [UInt8] = []
    }

    init(reader: TxnReader, projection: String) {
        self.reader = reader
        self.projection = projection
        prefix = Array(projection.utf8) + [0]
    }

    /// The checkpoint, read in this reader's transaction.
    func checkpoint() throws(EventStoreError) -> ProjectionCheckpoint? {
        do throws(LMDBError) {
            return try LMDBEventStore.checkpoint(of: projection, in: reader)
        } catch {
            throw error.storeError
        }
    }

    /// Closes the shared cursor (a read-only transaction's cursors must be closed explicitly).
    func close() {
        if let cursor = scratch.cursor { mdb_cursor_close(cursor) }
        scratch.cursor = nil
    }

    /// Runs `body` with the shared cursor, or with a cursor of its own when
    /// a walk already holds the shared one.
    private func withCursor<R>(_ body: (OpaquePointer?) throws(LMDBError) -> R) throws(LMDBError) -> R {
        if scratch.walking {
            var cursor: OpaquePointer?
            try check(mdb_cursor_open(reader.txn, reader.tables.readModels, &cursor), "opening a cursor")
            defer { mdb_cursor_close(cursor) }
            return try body(cursor)
        }
        if scratch.cursor == nil {
            try check(mdb_cursor_open(reader.txn, reader.tables.readModels, &scratch.cursor), "opening a cursor")
        }
        scratch.walking = true
        defer { scratch.walking = false }
        return try body(scratch.cursor)
    }

    func value(forKey key: String) throws(EventStoreError) -> [UInt8]? {
        var full = prefix + Array(key.utf8)
        do throws(LMDBError) {
            return try full.withTypedMutableBytes { (k) throws(LMDBError) in
                try reader.get(reader.tables.readModels, key: UnsafeRawBufferPointer(k)).map { Array($0) }
            }
        } catch {
            throw error.storeError
        }
    }

    func forEach(keyPrefix: String, _ body: (String, [UInt8]) -> Bool) throws(EventStoreError) {
        try forEach(keyPrefix: keyPrefix, from: keyPrefix, body)
    }

    func forEach(keyPrefix: String, from first: String, _ body: (String, [UInt8]) -> Bool) throws(EventStoreError) {
        try forEachInPlace(keyPrefix: keyPrefix, from: first) { key, value in
            body(String(decoding: key, as: UTF8.self), Array(value))
        }
    }

    /// One seek, then a walk of the cursor that lends `body` the map's bytes
    /// (the key without the projection's prefix); a key is in the walk when
    /// its bytes start with the wanted prefix (`memcmp`).
    func forEachInPlace(
        keyPrefix: String, from first: String, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool
    ) throws(EventStoreError) {
        // One buffer: [prefix + keyPrefix][prefix + first]. The walk may run
        // another walk inside `body`, so it takes the buffer while it runs.
        var keys = scratch.keys
        scratch.keys = []
        defer { keys.removeAll(keepingCapacity: true); scratch.keys = keys }
        keys.removeAll(keepingCapacity: true)
        keys.append(contentsOf: prefix)
        var wantedText = keyPrefix, firstText = first
        wantedText.withUTF8 { keys.append(contentsOf: $0) }
        let wantedCount = keys.count
        keys.append(contentsOf: prefix)
        firstText.withUTF8 { keys.append(contentsOf: $0) }
        do throws(LMDBError) {
            try withCursor { (cursor) throws(LMDBError) in try keys.withTypedMutableBytes { (all) throws(LMDBError) in
                let wanted = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(all)[..<wantedCount])
                let from = UnsafeMutableRawBufferPointer(rebasing: all[wantedCount...])
                let start = LMDBEventStore.precedes(UnsafeRawBufferPointer(from), wanted)
                    ? UnsafeMutableRawBufferPointer(rebasing: all[..<wantedCount]) : from
                var k = MDB_val(mv_size: start.count, mv_data: start.baseAddress)
                var v = MDB_val()
                var code = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE)
                while code == MDB_SUCCESS {
                    guard k.mv_size >= wanted.count, memcmp(k.mv_data, wanted.baseAddress!, wanted.count) == 0 else { return }
                    let key = UnsafeRawBufferPointer(start: k.mv_data.advanced(by: prefix.count), count: k.mv_size - prefix.count)
                    if !body(key, UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)) { return }
                    code = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)
                }
                if code != MDB_NOTFOUND { try check(code, "reading a read model") }
            } }
        } catch {
            throw error.storeError
        }
    }
}

extension LMDBEventStore {
    /// Runs `job` in its own write transaction on the writer thread.
    func writerSubmit(_ job: @escaping @Sendable (OpaquePointer) throws -> Void) async throws(EventStoreError) {
        try await writer.submit(job: job).get()
    }
}
