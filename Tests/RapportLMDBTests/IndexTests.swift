import CLMDB
import Foundation
import RapportEventLog
@testable import RapportLMDB
import RapportScenario
import Testing

@Suite("LMDB type and actor indexes")
struct IndexTests {
    /// Runs `body` in a raw write transaction, to damage or age a store on purpose.
    func rawWrite(_ store: LMDBEventStore, _ body: (OpaquePointer, Tables) throws -> Void) throws {
        var txn: OpaquePointer?
        #expect(mdb_txn_begin(store.environment.env, nil, 0, &txn) == MDB_SUCCESS)
        try body(txn!, store.environment.tables)
        #expect(mdb_txn_commit(txn) == MDB_SUCCESS)
    }

    /// Puts `position` under `key` in the index table `dbi`, as a damage or an older library would.
    func putIndexEntry(_ txn: OpaquePointer, _ dbi: MDB_dbi, _ key: String, _ position: UInt64) throws {
        var key = Array(key.utf8)
        var value = position.bigEndian
        try key.withUnsafeMutableBytes { k in
            try withUnsafeMutableBytes(of: &value) { v in
                var kv = MDB_val(mv_size: k.count, mv_data: k.baseAddress), vv = MDB_val(mv_size: 8, mv_data: v.baseAddress)
                try check(mdb_put(txn, dbi, &kv, &vv, 0), "writing an index entry")
            }
        }
    }

    /// A new empty store whose indexes may trail the log by `lag` events.
    func laggingStore(_ label: String, lag: Int) throws -> (LMDBEventStore, String, LMDBEventStore.Configuration) {
        let path = temporaryStorePath(label)
        var configuration = LMDBEventStore.Configuration()
        configuration.maximumIndexLag = lag
        return (try LMDBEventStore(path: path, configuration: configuration), path, configuration)
    }

    /// A generated CRM history in a new store, appended in commits of 250
    /// events; the indexes trail the log by at most `indexLag` events.
    func generatedStore(_ label: String, events: Int = 4_000, indexLag: Int = 0) async throws -> (LMDBEventStore, String, [RecordedEvent]) {
        let path = temporaryStorePath(label)
        var storeConfiguration = LMDBEventStore.Configuration()
        storeConfiguration.maximumIndexLag = indexLag
        let store = try LMDBEventStore(path: path, configuration: storeConfiguration)
        var configuration = ScenarioConfiguration(events: events)
        configuration.eventsPerCommit = 250
        _ = try await ScenarioGenerator.generate(into: store, configuration: configuration)
        let all = try await store.readLog(from: 1, filter: .all, limit: 1_000_000)
        return (store, path, all)
    }

    /// The last position the type and actor indexes hold.
    func watermark(_ store: LMDBEventStore) throws -> UInt64 {
        try store.environment.read { (txn) throws(EventStoreError) in try IndexWatermark.read(txn.reader) }
    }

    @Test(arguments: [0, 1_000, 100_000])
    func queriesByTypeAndActorAgreeWithAFullScan(indexLag: Int) async throws {
        let (store, path, all) = try await generatedStore("index-queries-\(indexLag)", indexLag: indexLag)
        defer { removeStore(path) }
        // Commits of 250: a lag of 1,000 leaves the last 250 to 1,000 events unindexed, 100,000 all of them.
        let indexed = try watermark(store)
        switch indexLag {
        case 0: #expect(indexed == UInt64(all.count))
        case 1_000: #expect(indexed < UInt64(all.count) && indexed + 1_000 >= UInt64(all.count) && indexed > 0)
        default: #expect(indexed == 0)
        }
        let types = Array(Set(all.map(\.type))).sorted()
        let actors = Array(Set(all.map(\.metadata.actor.id))).sorted()
        var random = SplitMix64(seed: 7)
        func some(_ items: [String]) -> Set<String> {
            Set((0..<(1 + Int(random.next() % 3))).map { _ in items[Int(random.next() % UInt64(items.count))] })
        }
        for round in 0..<60 {
            var filter = LogFilter()
            switch round % 3 {
            case 0: filter.types = some(types)
            case 1: filter.actors = some(actors)
            default: (filter.types, filter.actors) = (some(types), some(actors))
            }
            let from = LogPosition(1 + random.next() % UInt64(all.count))
            if round % 4 == 3 { filter.through = LogPosition(from.rawValue + random.next() % UInt64(all.count)) }
            let limit = [1, 10, 100_000][(round / 3) % 3]
            let expected = all.filter { $0.position >= from && filter.matches($0) }.prefix(limit).map(\.position)
            let read = try await store.readLog(from: from, filter: filter, limit: limit).map(\.position)
            #expect(read == Array(expected), "filter \(filter) from \(from) limit \(limit)")
        }
        #expect(try store.verify().isSound)
        await store.close()
    }

    @Test func aDamagedIndexIsFoundByVerifyAndRebuilt() async throws {
        let (store, path, all) = try await generatedStore("index-damage", events: 1_000)
        defer { removeStore(path) }
        let victim = all[all.count / 2]
        let byActor = LogFilter(actors: [victim.metadata.actor.id])
        let expected = try await store.readLog(from: 1, filter: byActor, limit: 100_000).map(\.position)
        #expect(expected.contains(victim.position))

        // Remove one entry of the actor index: verify names the event.
        try rawWrite(store) { txn, tables in
            var key = Array(victim.metadata.actor.id.utf8)
            var value = victim.position.rawValue.bigEndian
            try key.withUnsafeMutableBytes { k in
                try withUnsafeMutableBytes(of: &value) { v in
                    var kv = MDB_val(mv_size: k.count, mv_data: k.baseAddress), vv = MDB_val(mv_size: 8, mv_data: v.baseAddress)
                    try check(mdb_del(txn, tables.actorIndex, &kv, &vv), "damaging the index")
                }
            }
        }
        let damaged = try store.verify()
        #expect(damaged.problem?.position == victim.position)
        #expect(damaged.problem?.message.contains("actor index lacks this event") == true, "\(String(describing: damaged.problem))")
        #expect(try await store.readLog(from: 1, filter: byActor, limit: 100_000).map(\.position) != expected)

        // An entry pointing at nothing is found too.
        try rawWrite(store) { txn, tables in try putIndexEntry(txn, tables.typeIndex, "Ghost", UInt64(all.count + 50)) }
        try await store.rebuildIndexes()
        #expect(try store.verify().isSound)
        #expect(try await store.readLog(from: 1, filter: byActor, limit: 100_000).map(\.position) == expected)
        #expect(try await store.readLog(from: 1, filter: LogFilter(types: ["Ghost"]), limit: 10).isEmpty)
        await store.close()
    }

    /// Rewrites every head of `dbi` in the fixed form of formats 1 and 2 (u64 count, then u64 ladder entries).
    func writeFixedHeads(txn: OpaquePointer, dbi: MDB_dbi) throws {
        var heads: [([UInt8], [UInt8])] = []
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, dbi, &cursor), "opening a cursor")
        var k = MDB_val(), v = MDB_val()
        var code = mdb_cursor_get(cursor, &k, &v, MDB_FIRST)
        while code == MDB_SUCCESS {
            let head = try #require(StoredHead.decode(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)))
            var fixed = [UInt8](repeating: 0, count: head.encodedCount)
            fixed.withUnsafeMutableBytes { head.encode(into: $0) }
            heads.append((Array(UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size)), fixed))
            code = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)
        }
        mdb_cursor_close(cursor)
        #expect(code == MDB_NOTFOUND)
        for (key, value) in heads { try Bytes.put(txn: txn, dbi: dbi, key: key, value: value) }
    }

    @Test func aStoreOfTheFirstFormatGetsItsIndexesWhenOpened() async throws {
        var (store, path, all) = try await generatedStore("index-upgrade", events: 1_000)
        defer { removeStore(path) }
        // Make it look like a format-1 store: no indexes, fixed-size heads, the old marker.
        try rawWrite(store) { txn, tables in
            try check(mdb_drop(txn, tables.typeIndex, 0), "emptying")
            try check(mdb_drop(txn, tables.actorIndex, 0), "emptying")
            try writeFixedHeads(txn: txn, dbi: tables.streamHeads)
            try writeFixedHeads(txn: txn, dbi: tables.tagHeads)
            try Bytes.put(txn: txn, dbi: tables.meta, key: Array("format".utf8), value: Array("rapport-lmdb/1".utf8))
        }
        #expect(try store.verify().problem?.message.contains("index lacks") == true)
        await store.close()

        // Opened with a map no larger than the data (LMDB's least): the
        // upgrade needs more room, and the map grows for it.
        var small = LMDBEventStore.Configuration()
        small.initialMapSize = 64 * 1024
        store = try LMDBEventStore(path: path, configuration: small)
        #expect(try store.verify().isSound)
        let type = all[10].type
        #expect(try await store.readLog(from: 1, filter: LogFilter(types: [type]), limit: 100_000).map(\.position)
                == all.filter { $0.type == type }.map(\.position))
        await store.close()

        // A format this library does not know is refused, not rewritten.
        store = try LMDBEventStore(path: path)
        try rawWrite(store) { txn, tables in
            try Bytes.put(txn: txn, dbi: tables.meta, key: Array("format".utf8), value: Array("rapport-lmdb/9".utf8))
        }
        await store.close()
        #expect {
            _ = try LMDBEventStore(path: path)
        } throws: { error in
            // The file is a sound LMDB file: LMDB's "File is not an LMDB file" would be wrong.
            guard let error = error as? EventStoreError, case .incompatibleStore(let reason) = error else { return false }
            return reason == "the store has format rapport-lmdb/9, this library reads \(StoreMeta.formatValue)"
        }
    }
    @Test func aStoreOfTheSecondFormatGetsCompactHeadsWhenOpened() async throws {
        var (store, path, all) = try await generatedStore("head-upgrade", events: 1_000)
        defer { removeStore(path) }
        let stream = all[500].streamID
        let version = try await store.streamVersion(of: stream)
        let streamEvents = try await store.readStream(stream, from: 1, direction: .forward, limit: 10_000)
        // Make it look like a format-2 store: fixed-size heads, the old marker.
        try rawWrite(store) { txn, tables in
            try writeFixedHeads(txn: txn, dbi: tables.streamHeads)
            try writeFixedHeads(txn: txn, dbi: tables.tagHeads)
            try Bytes.put(txn: txn, dbi: tables.meta, key: Array("format".utf8), value: Array("rapport-lmdb/2".utf8))
        }
        await store.close()

        store = try LMDBEventStore(path: path)
        #expect(try store.verify().isSound)
        #expect(try await store.streamVersion(of: stream) == version)
        #expect(try await store.readStream(stream, from: 1, direction: .forward, limit: 10_000) == streamEvents)
        let appended = try await store.append([testEvent()], to: stream, expecting: .exactly(version))
        #expect(appended.streamVersions[stream] == version + 1)
        #expect(try store.verify().isSound)
        await store.close()
    }

    @Test func aStoreOfTheThirdFormatGetsAnIndexWatermarkWhenOpened() async throws {
        var (store, path, all) = try await generatedStore("watermark-upgrade", events: 1_000)
        defer { removeStore(path) }
        // Format 3: complete indexes, no watermark.
        try rawWrite(store) { txn, tables in
            var key = IndexWatermark.key
            try key.withUnsafeMutableBytes { k in
                var kv = MDB_val(mv_size: k.count, mv_data: k.baseAddress)
                try check(mdb_del(txn, tables.meta, &kv, nil), "removing the watermark")
            }
            try Bytes.put(txn: txn, dbi: tables.meta, key: Array("format".utf8), value: Array("rapport-lmdb/3".utf8))
        }
        #expect(try store.verify().problem?.message.contains("watermark") == true)
        await store.close()

        // Asked not to upgrade, opening refuses the store (the CLI tests check that it stays byte for byte).
        var reading = LMDBEventStore.Configuration()
        reading.upgradesOlderFormats = false
        #expect {
            try LMDBEventStore(path: path, configuration: reading)
        } throws: { error in
            guard let error = error as? EventStoreError, case .incompatibleStore(let reason) = error else { return false }
            return reason.contains("older format rapport-lmdb/3") && LMDBEventStore.isOlderFormatNotUpgraded(error)
        }
        store = try LMDBEventStore(path: path)
        #expect(try watermark(store) == UInt64(all.count))
        #expect(try store.verify().isSound)
        let actor = all[10].metadata.actor.id
        #expect(try await store.readLog(from: 1, filter: LogFilter(actors: [actor]), limit: 100_000).map(\.position)
                == all.filter { $0.metadata.actor.id == actor }.map(\.position))
        await store.close()
    }

    @Test func theIndexesCatchUpWhenTheirLagPassesTheLimit() async throws {
        var (store, path, configuration) = try laggingStore("watermark-lag", lag: 10)
        defer { removeStore(path) }
        var heads: [UInt64] = []
        for round in 0..<30 {
            let events = (0..<(round % 4)).map { _ in testEvent(round % 2 == 0 ? "Even" : "Odd") }
            _ = try await store.append(events + [testEvent()], to: StreamID("s-\(round % 3)"), expecting: .any)
            let head = try await store.headPosition().rawValue
            let indexed = try watermark(store)
            #expect(indexed <= head && head - indexed <= 10, "head \(head), indexed through \(indexed)")
            heads.append(indexed)
            #expect(try store.verify().isSound)
        }
        #expect(Set(heads).count > 2, "the watermark moved several times: \(heads)")
        let odd = try await store.readLog(from: 1, filter: LogFilter(types: ["Odd"]), limit: 1_000)
        #expect(odd.count == (0..<30).filter { $0 % 2 == 1 }.reduce(0) { $0 + $1 % 4 })
        await store.close()

        // Opened with no lag allowed, the next append brings the indexes to the log's end.
        configuration.maximumIndexLag = 0
        store = try LMDBEventStore(path: path, configuration: configuration)
        _ = try await store.append([testEvent("Odd")], to: StreamID("s-0"), expecting: .any)
        #expect(try watermark(store) == (try await store.headPosition().rawValue))
        #expect(try await store.readLog(from: 1, filter: LogFilter(types: ["Odd"]), limit: 1_000).count == odd.count + 1)
        #expect(try store.verify().isSound)
        await store.close()
    }

    @Test func aWatermarkThatDisagreesWithTheIndexesIsFoundByVerifyAndRepaired() async throws {
        let (store, path, all) = try await generatedStore("watermark-damage", events: 1_000, indexLag: 100_000)
        defer { removeStore(path) }
        #expect(try watermark(store) == 0)
        #expect(try store.verify().isSound)

        // An index entry past the watermark.
        let victim = all[300]
        try rawWrite(store) { txn, tables in try putIndexEntry(txn, tables.typeIndex, victim.type, victim.position.rawValue) }
        let report = try store.verify()
        #expect(report.problem?.position == victim.position)
        #expect(report.problem?.message.contains("past its watermark") == true, "\(String(describing: report.problem))")
        try await store.rebuildIndexes()
        #expect(try watermark(store) == UInt64(all.count))
        #expect(try store.verify().isSound)

        // A watermark past the log: found by verify, appends refused (nothing written) until repaired.
        try rawWrite(store) { txn, tables in try IndexWatermark.write(UInt64(all.count + 5), txn: txn, tables: tables) }
        #expect(try store.verify().problem?.message.contains("watermark is damaged or past the log") == true)
        await #expect {
            _ = try await store.append([testEvent()], to: StreamID("s-late"), expecting: .any)
        } throws: { error in
            "\(error)".contains("watermark") && "\(error)".contains("rebuildIndexes")
        }
        #expect(try await store.headPosition().rawValue == UInt64(all.count))
        try await store.rebuildIndexes()
        _ = try await store.append([testEvent()], to: StreamID("s-late"), expecting: .noStream)
        #expect(try store.verify().isSound)
        #expect(try store.verify().isSound)
        #expect(try await store.readLog(from: 1, filter: LogFilter(types: [victim.type]), limit: 100_000).map(\.position)
                == all.filter { $0.type == victim.type }.map(\.position))
        await store.close()
    }

    /// A process still running a library of format 3 indexes in its append
    /// transaction, past the watermark; the catch-up must accept those entries.
    @Test func theCatchUpAcceptsEntriesAnOlderLibraryAlreadyWrote() async throws {
        let (store, path, _) = try laggingStore("watermark-old-writer", lag: 10)
        defer { removeStore(path) }
        _ = try await store.append((0..<5).map { _ in testEvent("Early") }, to: StreamID("s-1"), expecting: .any)
        #expect(try watermark(store) == 0)
        // What the older library would have written for positions 1 to 5.
        try rawWrite(store) { txn, tables in
            for position in UInt64(1)...5 {
                try putIndexEntry(txn, tables.typeIndex, "Early", position)
                try putIndexEntry(txn, tables.actorIndex, testActor.id, position)
            }
        }
        _ = try await store.append((0..<10).map { _ in testEvent("Late") }, to: StreamID("s-2"), expecting: .any)
        #expect(try watermark(store) == 15)
        #expect(try store.verify().isSound)
        #expect(try await store.readLog(from: 1, filter: LogFilter(types: ["Early"]), limit: 100).map(\.position.rawValue) == [1, 2, 3, 4, 5])
        await store.close()
    }

    @Test func aDamagedHeadIsReportedNotMisread() async throws {
        let (store, path, all) = try await generatedStore("head-damage", events: 200)
        defer { removeStore(path) }
        let stream = all[100].streamID
        try rawWrite(store) { txn, tables in
            // A varint that never ends.
            try Bytes.put(txn: txn, dbi: tables.streamHeads, key: Array(stream.rawValue.utf8), value: [0x85, 0x80])
        }
        #expect(try store.verify().problem?.message.contains("head of stream \(stream)") == true)
        await #expect {
            _ = try await store.streamVersion(of: stream)
        } throws: { error in
            "\(error)".contains("damaged")
        }
        await store.close()
    }
}
