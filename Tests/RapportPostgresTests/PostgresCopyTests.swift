import Foundation
import RapportEventLog
import RapportLMDB
@testable import RapportPostgres
import RapportScenario
import Testing

/// Moving whole logs between LMDB and PostgreSQL, verbatim, and the PostgreSQL verification walk.
@Suite("Copying logs between LMDB and PostgreSQL", .enabled(if: PostgresTestEnvironment.shouldRun, PostgresTestEnvironment.skipMessage))
struct PostgresCopyTests {
    static func temporaryPath(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("rapport-copy-\(label)-\(UUID().uuidString)").path
    }

    /// Every stored record of `store`, in order.
    static func records(_ store: some StoredRecordLog) async throws -> [StoredRecord] {
        var all: [StoredRecord] = []
        while true {
            let page = try await store.storedRecords(from: LogPosition(UInt64(all.count + 1)), limit: 700)
            all += page
            if page.count < 700 { return all }
        }
    }

    @Test("LMDB to PostgreSQL and back keeps every record byte for byte, and both verify")
    func roundTrip() async throws {
        let database = try TestDatabase.get()
        let sourcePath = Self.temporaryPath("source"), backPath = Self.temporaryPath("back")
        defer {
            try? FileManager.default.removeItem(atPath: sourcePath)
            try? FileManager.default.removeItem(atPath: backPath)
        }
        let source = try LMDBEventStore(path: sourcePath)
        _ = try await ScenarioGenerator.generate(into: source, configuration: ScenarioConfiguration(events: 2_500))
        let head = try await source.headPosition()
        let (target, schema) = try await database.freshStore("copy")

        let seen = ProgressLog()
        let copied = try await LogCopy.copy(from: source, to: target, batchSize: 300) { done, total in seen.add(done, total) }
        #expect(copied == head)
        #expect(try await target.headPosition() == head)
        #expect(seen.last == [head.rawValue, head.rawValue], "the progress ends at the head")
        let original = try await Self.records(source)
        #expect(original.count == Int(head.rawValue))
        #expect(try await Self.records(target) == original, "every record, chain hash and recorded-at included, is the same")
        let report = try await target.verifyLog(progress: nil)
        #expect(report.isSound && report.eventsChecked == head.rawValue, "\(report)")
        // The stores answer alike, and PostgreSQL keeps appending after the copied log.
        let someStream = original[original.count / 2]
        let streamID = try StreamID(someStream.bytes.withUnsafeBytes { String(decoding: try RecordView(validating: $0, at: someStream.position).streamIDBytes, as: UTF8.self) })
        #expect(try await target.readStream(streamID, from: 1, direction: .forward, limit: 1_000)
            == (try await source.readStream(streamID, from: 1, direction: .forward, limit: 1_000)))
        let appended = try await target.append([testEvent()], to: streamID)
        #expect(appended.lastPosition == head.next)
        try await target.verify()

        let back = try LMDBEventStore(path: backPath)
        #expect(try await LogCopy.copy(from: target, to: back, batchSize: 1_000) == head.next)
        #expect(try await Self.records(back) == (try await Self.records(target)))
        #expect(try back.verify().isSound)
        await back.close()
        await source.close()
        await target.close()
        await database.drop(schema)
    }

    @Test("a copy into a log that has events is refused, and changes nothing")
    func refusesNonEmptyTarget() async throws {
        let database = try TestDatabase.get()
        let (source, sourceSchema) = try await database.freshStore("copysrc")
        let (target, targetSchema) = try await database.freshStore("copydst")
        try await source.append([testEvent(), testEvent()], to: try StreamID("a-1"))
        try await target.append([testEvent()], to: try StreamID("b-1"))
        await #expect(throws: LogCopyError.targetNotEmpty(head: 1)) { try await LogCopy.copy(from: source, to: target) }
        #expect(try await target.headPosition() == 1)
        // The import itself refuses too, whoever calls it.
        await #expect {
            _ = try await target.importStoredRecords { () throws(EventStoreError) in [] }
        } throws: { error in
            if case .invalidEvent(let message) = error as? EventStoreError { message.contains("empty log") } else { false }
        }
        await source.close()
        await target.close()
        await database.drop(sourceSchema)
        await database.drop(targetSchema)
    }

    @Test("an import that fails part-way leaves the PostgreSQL log empty")
    func failedImportLeavesNothing() async throws {
        let database = try TestDatabase.get()
        let (source, sourceSchema) = try await database.freshStore("impsrc")
        for round in 0..<6 { try await source.append([testEvent(tags: [try Tag("deal:\(round % 2)")]), testEvent()], to: try StreamID("s-\(round % 3)")) }
        var records = try await source.storedRecords(from: 1, limit: 100)
        #expect(records.count == 12)
        records[8].bytes[records[8].bytes.count - 1] ^= 0xFF  // a payload byte: the checksum fails
        let (target, targetSchema) = try await database.freshStore("impdst")
        let batches = Batches([Array(records[0..<5]), Array(records[5...])])
        await #expect {
            _ = try await target.importStoredRecords { () throws(EventStoreError) in batches.next() }
        } throws: { error in
            if case .corruptedRecord(position: 9, _) = error as? EventStoreError { true } else { false }
        }
        #expect(try await target.headPosition() == 0)
        #expect(try await database.scalar("SELECT count(*) FROM \"\(targetSchema)\".rapport_events") == 0)
        #expect(try await database.scalar("SELECT count(*) FROM \"\(targetSchema)\".rapport_stream_heads") == 0)
        // Records out of order are refused the same way.
        let shuffled = Batches([[records[1], records[0]]])
        await #expect {
            _ = try await target.importStoredRecords { () throws(EventStoreError) in shuffled.next() }
        } throws: { error in
            if case .corruptedRecord(position: 2, _) = error as? EventStoreError { true } else { false }
        }
        #expect(try await target.headPosition() == 0)
        await source.close()
        await target.close()
        await database.drop(sourceSchema)
        await database.drop(targetSchema)
    }

    @Test("an import whose COMMIT is sent and never answered says its outcome is unknown, and the head tells it")
    func importCommitLost() async throws {
        let database = try TestDatabase.get()
        let (source, sourceSchema) = try await database.freshStore("lostsrc")
        for round in 0..<4 { try await source.append([testEvent(), testEvent()], to: try StreamID("s-\(round % 2)")) }
        let records = try await source.storedRecords(from: 1, limit: 100)
        let (plain, targetSchema) = try await database.freshStore("lostdst")
        // The connection ends where the COMMIT would be answered (here: before it commits).
        let target = try database.store(schema: targetSchema) { $0.importCommit = "SELECT pg_terminate_backend(pg_backend_pid())" }
        let once = Batches([records])
        await #expect {
            _ = try await target.importStoredRecords { () throws(EventStoreError) in once.next() }
        } throws: { error in
            guard case .storage(let message) = error as? EventStoreError else { return false }
            return message.contains("the import may or may not have been committed")
        }
        #expect(try await plain.headPosition() == 0, "the terminated session's transaction was not committed")
        // As the message says: nothing was imported, so importing again is safe.
        let again = Batches([records])
        #expect(try await plain.importStoredRecords { () throws(EventStoreError) in again.next() } == 8)
        #expect(try await plain.verifyLog(progress: nil).isSound)
        for store in [source, target, plain] { await store.close() }
        await database.drop(sourceSchema)
        await database.drop(targetSchema)
    }

    @Test("verifyLog finds rows and heads that disagree with the records")
    func verificationFindsIndexProblems() async throws {
        let database = try TestDatabase.get()
        let (store, schema) = try await database.freshStore("verify")
        for round in 0..<8 {
            try await store.append([testEvent(tags: [try Tag("deal:\(round % 3)"), try Tag("owner:x")])], to: try StreamID("s-\(round % 2)"))
        }
        #expect(try await store.verifyLog(progress: nil).isSound)
        let damage: [(String, String, String, Bool)] = [
            ("UPDATE \"\(schema)\".rapport_events SET type = 'Other' WHERE position = 4", "UPDATE \"\(schema)\".rapport_events SET type = 'TestEvent' WHERE position = 4", "type", true),
            ("DELETE FROM \"\(schema)\".rapport_event_tags WHERE position = 5 AND tag = 'owner:x'", "INSERT INTO \"\(schema)\".rapport_event_tags VALUES ('owner:x', 5)", "tag index rows of tag owner:x", false),
            ("UPDATE \"\(schema)\".rapport_event_tags SET position = 100 WHERE position = 3 AND tag = 'owner:x'", "UPDATE \"\(schema)\".rapport_event_tags SET position = 3 WHERE position = 100", "tag index rows of tag owner:x", false),
            ("UPDATE \"\(schema)\".rapport_stream_heads SET version = 3 WHERE stream_id = 's-1'", "UPDATE \"\(schema)\".rapport_stream_heads SET version = 4 WHERE stream_id = 's-1'", "head of stream s-1", false),
            ("INSERT INTO \"\(schema)\".rapport_event_tags VALUES ('owner:x', -5)", "DELETE FROM \"\(schema)\".rapport_event_tags WHERE position = -5", "tag index rows of tag owner:x hold position -5", false),
            // Two positions whose bigint sum would overflow: reported, not a failed statement.
            ("INSERT INTO \"\(schema)\".rapport_event_tags VALUES ('owner:x', 9223372036854775000), ('owner:x', 9223372036854775001)",
             "DELETE FROM \"\(schema)\".rapport_event_tags WHERE position > 1000", "tag index rows of tag owner:x do not match", false),
            ("DELETE FROM \"\(schema)\".rapport_tag_heads WHERE tag = 'deal:0'", "", "tag heads are stored", false),
        ]
        for (breakIt, repair, expected, inRecord) in damage {
            try await database.execute(breakIt)
            let report = try await store.verifyLog(progress: nil)
            #expect(report.problem?.message.contains(expected) == true, "\(breakIt): \(report)")
            #expect((report.problem?.position != nil) == inRecord, "\(breakIt): \(report)")
            if !repair.isEmpty { try await database.execute(repair) }
        }
        await store.close()
        await database.drop(schema)
    }
}

/// Batches handed out one by one, then an empty one.
final class Batches: @unchecked Sendable {
    private var remaining: [[StoredRecord]]
    init(_ batches: [[StoredRecord]]) { remaining = batches }
    func next() -> [StoredRecord] { remaining.isEmpty ? [] : remaining.removeFirst() }
}

/// The progress reports a copy made.
final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [[UInt64]] = []
    func add(_ done: UInt64, _ total: UInt64) { lock.withLock { reports.append([done, total]) } }
    var last: [UInt64]? { lock.withLock { reports.last } }
}
