// A child process for the LMDB store's crash-safety, multi-process and
// disk-full tests. It prints one line per acknowledged event so the parent
// can check, after killing it, that everything acknowledged is stored.
//
//   RapportStoreProbe append-loop PATH WRITER [MAP] append until killed (MAP: initial map size in bytes)
//   RapportStoreProbe append-count PATH WRITER N    append N events, one per call, then exit
//   RapportStoreProbe fill-disk PATH BYTES          cap the file size at BYTES, append until refused
//   RapportStoreProbe create-capped PATH BYTES      cap the file size at BYTES, then create a store at PATH
//   RapportStoreProbe replay PATH                   run the chained projection to the head (killed mid-way by tests)
//   RapportStoreProbe hold-readers PATH N           open the environment, begin N read transactions,
//                                                   print "ready", wait to be killed (leaves stale reader slots)
//   RapportStoreProbe grow PATH MAPSIZE BYTES KEY   set the map to MAPSIZE bytes and write BYTES under KEY
//                                                   (table "filler") past the others' mappings, print "grown"
//   RapportStoreProbe mark-format PATH FORMAT       mark the store as of an older FORMAT (rapport-lmdb/3:
//                                                   complete indexes, the format key, no index watermark), print "marked"
//
// Output: "ack POSITION EVENT-ID STREAM SEQUENCE" per stored event;
// "refused ERROR" when an append fails; "done" at a normal end.
import CLMDB
import Foundation
import RapportEventLog
import RapportLMDB
import RapportReplay

/// The payload of the `sequence`-th event of `writer`: the parent recomputes it.
func payload(writer: String, sequence: Int) -> Data {
    Data("{\"writer\":\"\(writer)\",\"sequence\":\(sequence),\"pad\":\"\(String(repeating: "p", count: sequence % 200))\"}".utf8)
}

func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: RapportStoreProbe append-loop|append-count|fill-disk PATH ARG [N]\n".utf8))
    exit(2)
}
let command = arguments[1], path = arguments[2]
let actor = Principal(id: "probe", role: .system)

func appendBatch(_ store: LMDBEventStore, writer: String, sequence: inout Int, size: Int) async throws {
    let stream = try StreamID("probe-\(writer)-\(sequence % 7)")
    var events: [NewEvent] = []
    var sequences: [Int] = []
    for _ in 0..<size {
        events.append(NewEvent(
            type: "ProbeEvent", metadata: EventMetadata(actor: actor, channel: .automation),
            tags: [try Tag("writer:\(writer)"), try Tag("bucket:\(sequence % 3)")],
            payload: payload(writer: writer, sequence: sequence)))
        sequences.append(sequence)
        sequence += 1
    }
    let result = try await store.append(events, to: stream)
    for (offset, event) in events.enumerated() {
        emit("ack \(result.positions.lowerBound.rawValue + UInt64(offset)) \(event.id) \(stream) \(sequences[offset])")
    }
}

do {
    switch command {
    case "append-loop":
        var configuration = LMDBEventStore.Configuration()
        if arguments.count > 4, let mapSize = Int(arguments[4]) { configuration.initialMapSize = mapSize }
        let store = try LMDBEventStore(path: path, configuration: configuration)
        var sequence = 0
        while true { try await appendBatch(store, writer: arguments.count > 3 ? arguments[3] : "w", sequence: &sequence, size: sequence % 5 + 1) }
    case "append-count":
        let store = try LMDBEventStore(path: path)
        var sequence = 0
        let total = arguments.count > 4 ? Int(arguments[4]) ?? 100 : 100
        while sequence < total { try await appendBatch(store, writer: arguments.count > 3 ? arguments[3] : "w", sequence: &sequence, size: 1) }
        await store.close()
        emit("done")
    case "fill-disk":
        // Exceeding RLIMIT_FSIZE makes write(2) fail with EFBIG, as a full disk
        // fails it with ENOSPC; ignore the signal that would kill us instead.
        signal(SIGXFSZ, SIG_IGN)
        var configuration = LMDBEventStore.Configuration()
        configuration.initialMapSize = 64 << 20
        let store = try LMDBEventStore(path: path, configuration: configuration)
        var limit = rlimit(rlim_cur: rlim_t(arguments.count > 3 ? arguments[3] : "3145728")!, rlim_max: rlim_t.max)
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
        var sequence = 0
        do {
            while true { try await appendBatch(store, writer: "disk", sequence: &sequence, size: 50) }
        } catch {
            emit("refused \(error)")
        }
        // Reading still works after the refusal.
        emit("head \(try await store.headPosition())")
        await store.close()
        emit("done")
    case "create-capped":
        // The setup transaction of a new store is the first write past LMDB's meta pages.
        signal(SIGXFSZ, SIG_IGN)
        var limit = rlimit(rlim_cur: rlim_t(arguments.count > 3 ? arguments[3] : "8192")!, rlim_max: rlim_t.max)
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
        do {
            // One reader slot keeps the lock file (192 bytes) under the cap.
            var configuration = LMDBEventStore.Configuration()
            configuration.maximumReaders = 1
            let store = try LMDBEventStore(path: path, configuration: configuration)
            await store.close()
            emit("opened")
        } catch {
            emit("refused \(error)")
        }
        emit("done")
    case "replay":
        let store = try LMDBEventStore(path: path)
        let runner = try ProjectionRunner(log: store, storage: store, projections: [ChainedProjection()], batchSize: Int(arguments[3]) ?? 50)
        try await runner.catchUp { progress in emit("batch \(progress.done)") }
        await store.close()
        emit("done")
    case "hold-readers":
        // Plain LMDB, as another program on the same store would be.
        var env: OpaquePointer?
        var code = mdb_env_create(&env)
        if code == MDB_SUCCESS { _ = mdb_env_set_maxdbs(env, 32); code = mdb_env_open(env, path, UInt32(MDB_NOTLS), 0o644) }
        guard code == MDB_SUCCESS else { emit("refused \(String(cString: mdb_strerror(code)))"); exit(1) }
        for _ in 0..<(arguments.count > 3 ? Int(arguments[3]) ?? 1 : 1) {
            var txn: OpaquePointer?
            code = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
            guard code == MDB_SUCCESS else { emit("refused \(String(cString: mdb_strerror(code)))"); exit(1) }
        }
        emit("ready")
        while true { pause() }
    case "grow":
        guard arguments.count > 5, let mapSize = Int(arguments[3]), let bytes = Int(arguments[4]) else { exit(2) }
        var env: OpaquePointer?, txn: OpaquePointer?
        var dbi: MDB_dbi = 0
        var code = mdb_env_create(&env)
        if code == MDB_SUCCESS { _ = mdb_env_set_maxdbs(env, 32); code = mdb_env_set_mapsize(env, mapSize) }
        if code == MDB_SUCCESS { code = mdb_env_open(env, path, UInt32(MDB_NOTLS), 0o644) }
        if code == MDB_SUCCESS { code = mdb_txn_begin(env, nil, 0, &txn) }
        if code == MDB_SUCCESS { code = mdb_dbi_open(txn, "filler", UInt32(MDB_CREATE), &dbi) }
        if code == MDB_SUCCESS {
            var key = Array(arguments[5].utf8)
            code = key.withUnsafeMutableBytes { keyBytes in
                var k = MDB_val(mv_size: keyBytes.count, mv_data: keyBytes.baseAddress)
                var v = MDB_val(mv_size: bytes, mv_data: nil)
                let put = mdb_put(txn, dbi, &k, &v, UInt32(MDB_RESERVE))
                if put == MDB_SUCCESS { memset(v.mv_data, 1, bytes) }
                return put
            }
        }
        if code == MDB_SUCCESS { code = mdb_txn_commit(txn) }
        guard code == MDB_SUCCESS else { emit("refused \(String(cString: mdb_strerror(code)))"); exit(1) }
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        emit("grown \(info.me_mapsize)")
        mdb_env_close(env)
    case "mark-format":
        guard arguments.count > 3 else { exit(2) }
        // A store of formats 2 and 3 had complete type and actor indexes.
        let current = try LMDBEventStore(path: path)
        try await current.rebuildIndexes()
        await current.close()
        var env: OpaquePointer?, txn: OpaquePointer?
        var dbi: MDB_dbi = 0
        var code = mdb_env_create(&env)
        if code == MDB_SUCCESS { _ = mdb_env_set_maxdbs(env, 32); code = mdb_env_open(env, path, UInt32(MDB_NOTLS), 0o644) }
        if code == MDB_SUCCESS { code = mdb_txn_begin(env, nil, 0, &txn) }
        if code == MDB_SUCCESS { code = mdb_dbi_open(txn, "meta", 0, &dbi) }
        func withValue(_ text: String, _ body: (inout MDB_val) -> Int32) -> Int32 {
            var bytes = Array(text.utf8)
            return bytes.withUnsafeMutableBytes { raw in
                var value = MDB_val(mv_size: raw.count, mv_data: raw.baseAddress)
                return body(&value)
            }
        }
        if code == MDB_SUCCESS {
            code = withValue("format") { key in withValue(arguments[3]) { value in mdb_put(txn, dbi, &key, &value, 0) } }
        }
        if code == MDB_SUCCESS {
            code = withValue("indexed-through") { key in mdb_del(txn, dbi, &key, nil) }
            if code == MDB_NOTFOUND { code = MDB_SUCCESS }
        }
        if code == MDB_SUCCESS { code = mdb_txn_commit(txn) }
        guard code == MDB_SUCCESS else { emit("refused \(String(cString: mdb_strerror(code)))"); exit(1) }
        mdb_env_close(env)
        emit("marked")
    default:
        FileHandle.standardError.write(Data("unknown command \(command)\n".utf8))
        exit(2)
    }
} catch {
    emit("refused \(error)")
    exit(1)
}
