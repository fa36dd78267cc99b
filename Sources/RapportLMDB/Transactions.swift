import CLMDB
import RapportEventLog

/// A read transaction lent to a closure by ``Environment/read(_:)``. It cannot
/// be copied, so it cannot outlive the closure; pointers it returns are valid
/// only until the closure returns.
struct ReadTransaction: ~Copyable {
    let reader: TxnReader
    init(txn: OpaquePointer, tables: Tables) { reader = TxnReader(txn: txn, tables: tables) }
}

/// Raw LMDB access within one transaction (read or write). Returned buffers
/// point into the memory map and are valid only while the transaction lives.
struct TxnReader {
    let txn: OpaquePointer
    let tables: Tables

    /// Whether LMDB has failed the transaction (after damage it met, say):
    /// every call in it then answers `MDB_BAD_TXN`, and only an abort is left.
    var transactionFailed: Bool {
        var key = MDB_val(), value = MDB_val()
        return mdb_get(txn, tables.meta, &key, &value) == MDB_BAD_TXN
    }

    /// The value stored under `key`, in place, or nil.
    func get(_ dbi: MDB_dbi, key: UnsafeRawBufferPointer) throws(LMDBError) -> UnsafeRawBufferPointer? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let code = mdb_get(txn, dbi, &k, &v)
        if code == MDB_NOTFOUND { return nil }
        try check(code, "reading a value")
        return UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
    }

    func get(_ dbi: MDB_dbi, text: String) throws(LMDBError) -> UnsafeRawBufferPointer? {
        var text = text
        return try text.withUTF8Bytes { (utf8) throws(LMDBError) in try get(dbi, key: UnsafeRawBufferPointer(utf8)) }
    }

    /// The stored record at `position`, validated, or nil when there is none.
    func view(at position: UInt64) throws(EventStoreError) -> RecordView? {
        var key = position.bigEndian
        let bytes: UnsafeRawBufferPointer?
        do throws(LMDBError) {
            bytes = try withTypedBytes(of: &key) { (k) throws(LMDBError) in try get(tables.events, key: k) }
        } catch { throw error.storeError }
        guard let bytes else { return nil }
        return try RecordView(validating: bytes, at: LogPosition(position))
    }

    /// The record at `position`, which an index says exists: a missing record is corruption.
    func requireView(at position: UInt64, reason: @autoclosure () -> String) throws(EventStoreError) -> RecordView {
        guard let view = try view(at: position) else {
            throw .corruptedRecord(position: LogPosition(position), reason: "missing, but \(reason())")
        }
        return view
    }

    /// The record the event-id index gives for `id`, checked to carry that id:
    /// a damaged index entry must not hand back another event.
    func requireView(ofEvent id: EventID, at position: UInt64) throws(EventStoreError) -> RecordView {
        let view = try requireView(at: position, reason: "the event-id index points at it for event \(id)")
        guard view.eventID == id else {
            throw .corruptedRecord(
                position: view.position,
                reason: "the event-id index points at it for event \(id), but it holds event \(view.eventID)")
        }
        return view
    }

    /// The last stored position and its chain hash bytes (in place), or (0, nil) when empty.
    func last() throws(EventStoreError) -> (position: UInt64, record: UnsafeRawBufferPointer?) {
        let found: (position: UInt64, record: UnsafeRawBufferPointer?)
        do throws(LMDBError) {
            var cursor: OpaquePointer?
            try check(mdb_cursor_open(txn, tables.events, &cursor), "opening a cursor")
            defer { mdb_cursor_close(cursor) }
            var k = MDB_val(), v = MDB_val()
            let code = mdb_cursor_get(cursor, &k, &v, MDB_LAST)
            if code == MDB_NOTFOUND { return (0, nil) }
            try check(code, "reading the last event")
            guard k.mv_size == 8 else {
                throw LMDBError(code: MDB_CORRUPTED, operation: "an events key of \(k.mv_size) bytes")
            }
            let position = UInt64(bigEndian: k.mv_data.loadUnaligned(as: UInt64.self))
            found = (position, UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
        } catch {
            throw error.storeError
        }
        // No log reaches the last position a key can name (the next one would not exist):
        // such a key is damage, refused here rather than a trap where a caller adds 1.
        guard found.position < .max else {
            throw .corruptedRecord(position: LogPosition(found.position), reason: "an events key at the largest position a key can name; the log is damaged")
        }
        return found
    }

    func streamHead(_ stream: StreamID) throws(EventStoreError) -> Head? {
        try head(in: tables.streamHeads, key: stream.rawValue, kind: "stream")
    }

    func tagHead(_ tag: Tag) throws(EventStoreError) -> Head? {
        try head(in: tables.tagHeads, key: tag.rawValue, kind: "tag")
    }

    /// The stored head under `key`, nil when there is none. A value that is not a well-formed head is a storage error.
    private func head(in dbi: MDB_dbi, key: String, kind: String) throws(EventStoreError) -> Head? {
        let stored: UnsafeRawBufferPointer?
        do throws(LMDBError) { stored = try get(dbi, text: key) } catch { throw error.storeError }
        guard let stored else { return nil }
        guard let head = StoredHead.decode(stored) else {
            throw .storage("the stored head of \(kind) \(key) is damaged (\(stored.count) bytes that are not a head)")
        }
        return head
    }

    func position(of id: EventID) throws(EventStoreError) -> UInt64? {
        var uuid = id.uuid.uuid
        do throws(LMDBError) {
            let value = try withTypedBytes(of: &uuid) { (k) throws(LMDBError) in try get(tables.eventIDs, key: k) }
            guard let value else { return nil }
            guard value.count == 8 else {
                throw LMDBError(code: MDB_CORRUPTED, operation: "an event-id entry of \(value.count) bytes")
            }
            return UInt64(bigEndian: value.loadUnaligned(as: UInt64.self))
        } catch { throw error.storeError }
    }

    /// Calls `body` with each record from `position` on, in order, until it returns false.
    func forEachRecord(from position: UInt64, _ body: (RecordView) throws(EventStoreError) -> Bool) throws(EventStoreError) {
        var cursor: OpaquePointer?
        do throws(LMDBError) { try check(mdb_cursor_open(txn, tables.events, &cursor), "opening a cursor") } catch { throw error.storeError }
        defer { mdb_cursor_close(cursor) }
        let key = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
        defer { key.deallocate() }
        key.pointee = position.bigEndian
        var k = MDB_val(mv_size: 8, mv_data: key)
        var v = MDB_val()
        var op = MDB_SET_RANGE
        while true {
            let code = mdb_cursor_get(cursor, &k, &v, op)
            op = MDB_NEXT
            if code == MDB_NOTFOUND { return }
            do throws(LMDBError) { try check(code, "reading the log") } catch { throw error.storeError }
            guard k.mv_size == 8 else { throw .storage("an events key of \(k.mv_size) bytes (the LMDB file is damaged)") }
            let at = UInt64(bigEndian: k.mv_data.loadUnaligned(as: UInt64.self))
            let view = try RecordView(validating: UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size), at: LogPosition(at))
            if try !body(view) { return }
        }
    }
}

/// Puts and gets on a transaction, by copying (setup and maintenance paths).
enum Bytes {
    static func get(txn: OpaquePointer, dbi: MDB_dbi, key: [UInt8]) throws(LMDBError) -> [UInt8]? {
        var key = key
        return try key.withTypedMutableBytes { (k) throws(LMDBError) -> [UInt8]? in
            var kv = MDB_val(mv_size: k.count, mv_data: k.baseAddress)
            var v = MDB_val()
            let code = mdb_get(txn, dbi, &kv, &v)
            if code == MDB_NOTFOUND { return nil }
            try check(code, "reading a value")
            return Array(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
        }
    }

    static func put(txn: OpaquePointer, dbi: MDB_dbi, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, flags: Int32 = 0) throws(LMDBError) {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_put(txn, dbi, &k, &v, UInt32(flags)), "writing a value")
    }

    static func put(txn: OpaquePointer, dbi: MDB_dbi, key: [UInt8], value: [UInt8]) throws(LMDBError) {
        try key.withTypedBytes { (k) throws(LMDBError) in
            try value.withTypedBytes { (v) throws(LMDBError) in try put(txn: txn, dbi: dbi, key: k, value: v) }
        }
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` keeping a typed error.
    @inline(__always)
    func withTypedBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let result: Result<R, E> = self.withUnsafeBufferPointer { buffer in
            Result { () throws(E) -> R in try body(UnsafeRawBufferPointer(buffer)) }
        }
        return try result.get()
    }

    @inline(__always)
    mutating func withTypedMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let result: Result<R, E> = self.withUnsafeMutableBufferPointer { buffer in
            Result { () throws(E) -> R in try body(UnsafeMutableRawBufferPointer(buffer)) }
        }
        return try result.get()
    }
}

/// `withUnsafeBytes(of:)` keeping a typed error.
@inline(__always)
func withTypedBytes<T, R, E: Error>(of value: inout T, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    let result: Result<R, E> = Swift.withUnsafeBytes(of: &value) { bytes in Result { () throws(E) -> R in try body(bytes) } }
    return try result.get()
}

extension String {
    /// `withUTF8` keeping a typed error.
    @inline(__always)
    mutating func withUTF8Bytes<R, E: Error>(_ body: (UnsafeBufferPointer<UInt8>) throws(E) -> R) throws(E) -> R {
        let result: Result<R, E> = self.withUTF8 { utf8 in Result { () throws(E) -> R in try body(utf8) } }
        return try result.get()
    }
}
