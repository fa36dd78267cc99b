import CLMDB
public import RapportEventLog

extension LMDBEventStore {
    /// Rebuilds the type and actor indexes from the log, in one write
    /// transaction: appends wait meanwhile, and readers see the old indexes
    /// until it commits. For a store whose ``verify(progress:)`` reports a
    /// problem in one of those indexes.
    ///
    /// ```swift
    /// if let problem = try store.verify().problem, problem.message.contains("index") {
    ///     try await store.rebuildIndexes()
    /// }
    /// ```
    ///
    /// - Throws: ``EventStoreError/corruptedRecord(position:reason:)`` when a
    ///   record cannot be read (nothing is changed then), or a storage error.
    public func rebuildIndexes() async throws(EventStoreError) {
        let tables = environment.tables
        try await writer.submit { txn in try IndexBuilder.rebuild(txn: txn, tables: tables) }.get()
    }

    /// Walks the whole log in one read snapshot and checks everything the store
    /// promises: each record's checksum and structure, gapless positions from 1,
    /// the chain of hashes, every stream and tag link and head, the event-id
    /// index and the type and actor indexes. Reports the first problem with
    /// its position. A problem in the type or actor index (and only there)
    /// is repaired by ``rebuildIndexes()``.
    ///
    /// ```swift
    /// let report = try store.verify { done, total in print("\(done)/\(total)") }
    /// if let problem = report.problem { print(problem) }
    /// ```
    ///
    /// One snapshot, so that the heads and indexes are compared with the log
    /// they belong to: appends go on meanwhile, but a growth of the map waits
    /// for the walk to end (and the appends that need the room with it). On a
    /// busy store whose map is nearly full, verify a copy (`rapport copy`).
    ///
    /// - Parameter progress: called every 65,536 records with (checked, total).
    /// - Throws: only when the store cannot be read at all (closed, I/O).
    public func verify(progress: ((UInt64, UInt64) -> Void)? = nil) throws(EventStoreError) -> VerificationReport {
        try environment.read { (txn) throws(EventStoreError) -> VerificationReport in
            var verifier: LogVerifier
            do throws(EventStoreError) {
                verifier = try LogVerifier(reader: txn.reader)
            } catch .corruptedRecord(let position, let reason) {
                // A last key no log can reach: a problem to report, like any damaged record.
                return VerificationReport(eventsChecked: 0, head: position,
                                          problem: VerificationProblem(position: position, message: "corrupted record: \(reason)"))
            }
            return try verifier.run(progress: progress)
        }
    }
}

/// Recomputes, from the log alone, what every index should hold (through the
/// kernel's ``LogChain``, the walk every backend shares), and compares it
/// with what is stored.
struct LogVerifier {
    let reader: TxnReader
    let head: UInt64
    /// The last position the type and actor indexes hold; nil when its entry is missing or damaged.
    let watermark: UInt64?
    var chain = LogChain()
    var checked: UInt64 = 0

    init(reader: TxnReader) throws(EventStoreError) {
        self.reader = reader
        head = try reader.last().position
        watermark = try IndexWatermark.stored(reader)
    }

    mutating func run(progress: ((UInt64, UInt64) -> Void)?) throws(EventStoreError) -> VerificationReport {
        var problem: VerificationProblem?
        do {
            try reader.forEachRecord(from: 1) { (view) throws(EventStoreError) -> Bool in
                problem = inspect(view)
                checked += 1
                if checked % 65_536 == 0 { progress?(checked, head) }
                return problem == nil
            }
        } catch .corruptedRecord(let position, let reason) {
            problem = VerificationProblem(position: position, message: "corrupted record: \(reason)")
        }
        if problem == nil && checked != head {
            problem = VerificationProblem(position: LogPosition(checked + 1), message: "positions are not gapless: \(checked) records up to head \(head)")
        }
        if problem == nil { problem = try checkHeads() }
        progress?(checked, head)
        return VerificationReport(eventsChecked: checked, head: LogPosition(head), problem: problem)
    }

    private mutating func inspect(_ view: RecordView) -> VerificationProblem? {
        func problem(_ message: String) -> VerificationProblem { VerificationProblem(position: view.position, message: message) }
        if let message = chain.follow(view) { return problem(message) }
        let id = view.eventID
        do {
            guard let indexed = try reader.position(of: id) else { return problem("event id \(id) is missing from the id index") }
            guard indexed == view.position.rawValue else { return problem("the id index puts event \(id) at position \(indexed)") }
        } catch {
            return problem("the id index cannot be read: \(error)")
        }
        guard let watermark else { return nil }  // reported once, after the walk
        let indexed = view.position.rawValue <= watermark
        for index in SecondaryIndex.allCases {
            do {
                let holds = try reader.indexHolds(index, view)
                if indexed && !holds {
                    return problem("the \(index.name) index lacks this event (\(index.name) \(String(decoding: index.key(of: view), as: UTF8.self)))")
                }
                if !indexed && holds {
                    return problem("the \(index.name) index holds this event, past its watermark \(watermark)")
                }
            } catch {
                return problem("the \(index.name) index cannot be read: \(error)")
            }
        }
        return nil
    }

    /// Compares the stored heads and the id index's size with the recomputed ones.
    private func checkHeads() throws(EventStoreError) -> VerificationProblem? {
        for (table, expected, kind) in [(reader.tables.streamHeads, chain.streams, "stream"), (reader.tables.tagHeads, chain.tags, "tag")] {
            var stored = 0
            var problem: VerificationProblem?
            try forEachEntry(in: table) { key, value in
                stored += 1
                let name = String(decoding: key, as: UTF8.self)
                let matches = expected[name].map { StoredHead.encoded($0).elementsEqual(value) } ?? false
                if !matches {
                    problem = VerificationProblem(position: nil, message: "the head of \(kind) \(name) does not match the log")
                }
                return problem == nil
            }
            if let problem { return problem }
            if stored != expected.count {
                return VerificationProblem(position: nil, message: "\(stored) \(kind) heads are stored, the log has \(expected.count) \(kind)s")
            }
        }
        let ids = try entryCount(in: reader.tables.eventIDs)
        if ids != head { return VerificationProblem(position: nil, message: "the id index holds \(ids) entries for \(head) events") }
        guard let watermark, watermark <= head else {
            return VerificationProblem(
                position: nil, message: "the index watermark is damaged or past the log (\(watermark.map(String.init) ?? "missing"), head \(head))")
        }
        // Every record up to the watermark is in each index, none after it
        // (checked above); as many entries as indexed records means nothing else is.
        for index in SecondaryIndex.allCases {
            let entries = try entryCount(in: index.table(reader.tables))
            if entries != watermark {
                return VerificationProblem(
                    position: nil, message: "the \(index.name) index holds \(entries) entries for \(watermark) indexed events")
            }
        }
        return nil
    }

    private func forEachEntry(in dbi: MDB_dbi, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) throws(EventStoreError) {
        var cursor: OpaquePointer?
        do throws(LMDBError) { try check(mdb_cursor_open(reader.txn, dbi, &cursor), "opening a cursor") } catch { throw error.storeError }
        defer { mdb_cursor_close(cursor) }
        var k = MDB_val(), v = MDB_val()
        var op = MDB_FIRST
        while true {
            let code = mdb_cursor_get(cursor, &k, &v, op)
            op = MDB_NEXT
            if code == MDB_NOTFOUND { return }
            do throws(LMDBError) { try check(code, "reading an index") } catch { throw error.storeError }
            if !body(UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size), UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)) { return }
        }
    }

    private func entryCount(in dbi: MDB_dbi) throws(EventStoreError) -> UInt64 {
        var stat = MDB_stat()
        do throws(LMDBError) { try check(mdb_stat(reader.txn, dbi, &stat), "reading index statistics") } catch { throw error.storeError }
        return UInt64(stat.ms_entries)
    }
}
