import CLMDB
public import RapportEventLog

/// How much a store holds, read from its tables' own counts (no scan).
///
/// ```swift
/// let statistics = try store.statistics()
/// print(statistics.events, "events in", statistics.streams, "streams")
/// ```
public struct StoreStatistics: Sendable, Hashable {
    /// Events in the log.
    public var events: UInt64
    /// The position of the last event (equal to ``events``: positions are gapless from 1).
    public var head: LogPosition
    /// Streams with at least one event.
    public var streams: UInt64
    /// Distinct tags carried by at least one event.
    public var tags: UInt64
    /// Projections with a stored checkpoint.
    public var projections: UInt64
    /// The current size of the memory map, in bytes (the file may be smaller: it is sparse).
    public var mapSize: Int

    /// Creates statistics.
    public init(events: UInt64, head: LogPosition, streams: UInt64, tags: UInt64, projections: UInt64, mapSize: Int) {
        self.events = events
        self.head = head
        self.streams = streams
        self.tags = tags
        self.projections = projections
        self.mapSize = mapSize
    }
}

extension LMDBEventStore {
    /// Counts events, streams, tags and projection checkpoints from the
    /// tables' own statistics, in one read snapshot.
    ///
    /// ```swift
    /// let statistics = try store.statistics()
    /// ```
    ///
    /// - Complexity: O(1): LMDB keeps each table's entry count.
    /// - Throws: ``EventStoreError/storeClosed`` or a storage error.
    public func statistics() throws(EventStoreError) -> StoreStatistics {
        try environment.read { (txn) throws(EventStoreError) -> StoreStatistics in
            let reader = txn.reader
            func entries(_ dbi: MDB_dbi) throws(EventStoreError) -> UInt64 {
                var stat = MDB_stat()
                do throws(LMDBError) { try check(mdb_stat(reader.txn, dbi, &stat), "reading table statistics") } catch {
                    throw error.storeError
                }
                return UInt64(stat.ms_entries)
            }
            return StoreStatistics(
                events: try entries(reader.tables.events), head: LogPosition(try reader.last().position),
                streams: try entries(reader.tables.streamHeads), tags: try entries(reader.tables.tagHeads),
                projections: try entries(reader.tables.checkpoints), mapSize: environment.mapSize)
        }
    }

    /// Every stored projection checkpoint, by projection name.
    ///
    /// ```swift
    /// for (name, checkpoint) in try store.checkpoints() { print(name, checkpoint.position) }
    /// ```
    ///
    /// - Complexity: O(projections).
    /// - Throws: ``EventStoreError/storage(_:)`` when a checkpoint is malformed or the table cannot be read.
    public func checkpoints() throws(EventStoreError) -> [String: ProjectionCheckpoint] {
        try environment.read { (txn) throws(EventStoreError) -> [String: ProjectionCheckpoint] in
            let reader = txn.reader
            var result: [String: ProjectionCheckpoint] = [:]
            do throws(LMDBError) {
                var cursor: OpaquePointer?
                try check(mdb_cursor_open(reader.txn, reader.tables.checkpoints, &cursor), "opening a cursor")
                defer { mdb_cursor_close(cursor) }
                var k = MDB_val(), v = MDB_val()
                var code = mdb_cursor_get(cursor, &k, &v, MDB_FIRST)
                while code == MDB_SUCCESS {
                    let name = String(decoding: UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size), as: UTF8.self)
                    let bytes = UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
                    guard bytes.count == 16 else {
                        throw LMDBError(code: MDB_CORRUPTED, operation: "the checkpoint of \(name) is \(bytes.count) bytes")
                    }
                    result[name] = ProjectionCheckpoint(
                        version: Int(Int64(littleEndian: bytes.loadUnaligned(as: Int64.self))),
                        position: LogPosition(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))))
                    code = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)
                }
                if code != MDB_NOTFOUND { try check(code, "reading the checkpoints") }
            } catch {
                throw error.storeError
            }
            return result
        }
    }
}
