import CLMDB
public import RapportEventLog

/// The log as stored records: read in one snapshot per call, imported on the
/// writer thread one transaction per batch.
///
/// ```swift
/// let store = try LMDBEventStore(path: "copy-of-crm")
/// try await LogCopy.copy(from: postgresStore, to: store)
/// let report = try await store.verifyLog(progress: nil)
/// ```
extension LMDBEventStore: StoredRecordLog {
    public func storedRecords(from position: LogPosition, limit: Int) async throws(EventStoreError) -> [StoredRecord] {
        guard limit > 0 else { return [] }
        return try environment.read { (txn) throws(EventStoreError) -> [StoredRecord] in
            var records: [StoredRecord] = []
            records.reserveCapacity(Swift.min(limit, 4_096))
            try txn.reader.forEachRecord(from: Swift.max(position.rawValue, 1)) { (view) throws(EventStoreError) -> Bool in
                records.append(StoredRecord(position: view.position, bytes: Array(view.bytes)))
                return records.count < limit
            }
            return records
        }
    }

    /// Imports each batch in a write transaction of its own (committed, durable
    /// as configured, before the next batch is asked for), so memory does not
    /// grow with the log. A failure leaves the batches committed before it:
    /// `rapport copy` therefore writes a new LMDB store into a temporary
    /// directory and moves it into place only when the copy is complete.
    public func importStoredRecords(_ next: () async throws(EventStoreError) -> [StoredRecord]) async throws(EventStoreError) -> LogPosition {
        let state = ImportState()
        while true {
            let batch = try await next()
            if batch.isEmpty { break }
            try await writerSubmit { txn in
                // A job may run again (when the map grows): it starts from the committed chain each time.
                var chain = state.committed
                let tables = self.environment.tables
                let stored = try TxnReader(txn: txn, tables: tables).last().position
                guard stored == chain.lastPosition else {
                    throw stored > 0 && chain.lastPosition == 0
                        ? EventStoreError.invalidEvent("the log already holds events up to position \(stored); records are only imported into an empty log")
                        : EventStoreError.storage("the log changed during the import (it is at position \(stored), the import at \(chain.lastPosition))")
                }
                var streams = Set<String>(), tags = Set<String>()
                for record in batch {
                    try record.bytes.withUnsafeBytes { raw in
                        let view = try RecordView(validating: raw, at: record.position)
                        if let problem = chain.follow(view) {
                            throw EventStoreError.corruptedRecord(position: record.position, reason: problem)
                        }
                        try Self.put(view, txn: txn, tables: tables)
                        streams.insert(String(decoding: view.streamIDBytes, as: UTF8.self))
                        view.forEachTag { name, _ in tags.insert(String(decoding: name, as: UTF8.self)) }
                    }
                }
                for stream in streams { try Self.put(head: chain.streams[stream]!, key: stream, dbi: tables.streamHeads, txn: txn) }
                for tag in tags { try Self.put(head: chain.tags[tag]!, key: tag, dbi: tables.tagHeads, txn: txn) }
                try IndexWatermark.catchUp(txn: txn, tables: tables)
                state.pending = chain
            }
            state.committed = state.pending
        }
        return LogPosition(state.committed.lastPosition)
    }

    /// The chain of an import: the writer thread changes it, one job at a time,
    /// and the importing task reads it between jobs (each job is awaited).
    private final class ImportState: @unchecked Sendable {
        var committed = LogChain()
        var pending = LogChain()
    }

    /// Writes a checked record and its id index entry (the type and actor
    /// indexes catch up once per batch).
    private static func put(_ view: RecordView, txn: OpaquePointer, tables: Tables) throws {
        var key = view.position.rawValue.bigEndian
        try withUnsafeMutableBytes(of: &key) { keyBytes in
            var k = MDB_val(mv_size: 8, mv_data: keyBytes.baseAddress)
            var v = MDB_val(mv_size: view.bytes.count, mv_data: UnsafeMutableRawPointer(mutating: view.bytes.baseAddress))
            try check(mdb_put(txn, tables.events, &k, &v, UInt32(MDB_APPEND)), "importing record \(view.position)")
        }
        var uuid = view.eventID.uuid.uuid
        var stored = view.position.rawValue.bigEndian
        try withUnsafeMutableBytes(of: &uuid) { id in
            try withUnsafeMutableBytes(of: &stored) { value in
                var ik = MDB_val(mv_size: 16, mv_data: id.baseAddress)
                var iv = MDB_val(mv_size: 8, mv_data: value.baseAddress)
                let code = mdb_put(txn, tables.eventIDs, &ik, &iv, UInt32(MDB_NOOVERWRITE))
                if code == MDB_KEYEXIST {
                    throw EventStoreError.corruptedRecord(position: view.position, reason: "its event id \(view.eventID) is already at an earlier position")
                }
                try check(code, "indexing event id \(view.eventID)")
            }
        }
    }

    private static func put(head: Head, key: String, dbi: MDB_dbi, txn: OpaquePointer) throws {
        try Bytes.put(txn: txn, dbi: dbi, key: Array(key.utf8), value: StoredHead.encoded(head))
    }

    /// ``verify(progress:)`` as the ``StoredRecordLog`` walk.
    public func verifyLog(progress: (@Sendable (UInt64, UInt64) -> Void)?) async throws(EventStoreError) -> VerificationReport {
        try verify(progress: progress)
    }
}
