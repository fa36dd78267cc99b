import CLMDB
import Foundation
import RapportEventLog
@testable import RapportLMDB
import Synchronization
import Testing

@Suite("LMDB store")
struct LMDBStoreTests {
    @Test func aFlippedByteIsReportedAsACorruptedRecordAtItsPosition() async throws {
        let path = temporaryStorePath("corrupt")
        defer { removeStore(path) }
        var store = try LMDBEventStore(path: path)
        for index in 1...50 {
            try await store.append([testEvent(payload: "{\"marker\":\"MARKER-\(String(format: "%04d", index))\"}")], to: try StreamID("c-\(index % 3)"))
        }
        await store.close()

        let file = URL(fileURLWithPath: path).appendingPathComponent("data.mdb")
        var bytes = try Data(contentsOf: file)
        let marker = Data("MARKER-0026".utf8)
        // LMDB copies pages on write, so stale copies of the record may lie in
        // free pages too: damage every copy, the live one among them.
        var searchFrom = bytes.startIndex
        var copies = 0
        while let range = bytes.range(of: marker, in: searchFrom..<bytes.endIndex) {
            bytes[range.lowerBound + 7] ^= 0x04  // '0' becomes '4': still valid UTF-8, only the checksum tells
            searchFrom = range.upperBound
            copies += 1
        }
        #expect(copies >= 1)
        try bytes.write(to: file)

        store = try LMDBEventStore(path: path)
        await #expect(throws: EventStoreError.corruptedRecord(position: 26, reason: "checksum mismatch")) {
            _ = try await store.readLog(from: 20, filter: .all, limit: 10)
        }
        await #expect(throws: EventStoreError.corruptedRecord(position: 26, reason: "checksum mismatch")) {
            _ = try await store.readStream(try StreamID("c-2"), from: 1, direction: .forward, limit: 100)
        }
        // Records before the damage are still served.
        #expect(try await store.readLog(from: 1, filter: .all, limit: 25).count == 25)
        let report = try store.verify()
        #expect(report.problem?.position == 26)
        #expect(!report.isSound)
        await store.close()
    }

    @Test func aSoundStoreVerifiesAndADamagedHeadIsFound() async throws {
        let path = temporaryStorePath("verify")
        defer { removeStore(path) }
        let store = try LMDBEventStore(path: path)
        for round in 0..<40 {
            try await store.append((0..<5).map { _ in testEvent(tags: [try! Tag("t:\(round % 4)")]) }, to: try StreamID("v-\(round % 6)"))
        }
        let report = try store.verify()
        #expect(report.isSound, "\(report)")
        #expect(report.eventsChecked == 200)

        // Damage the head of one stream behind the store's back.
        let environment = store.environment
        var txn: OpaquePointer?
        #expect(mdb_txn_begin(environment.env, nil, 0, &txn) == MDB_SUCCESS)
        var head = Head()
        _ = head.append(position: 1)
        var encoded = [UInt8](repeating: 0, count: head.encodedCount)
        encoded.withUnsafeMutableBytes { head.encode(into: $0) }
        try Bytes.put(txn: txn!, dbi: environment.tables.streamHeads, key: Array("v-3".utf8), value: encoded)
        #expect(mdb_txn_commit(txn) == MDB_SUCCESS)

        let damaged = try store.verify()
        #expect(damaged.problem?.message == "the head of stream v-3 does not match the log")
        await store.close()
    }

    @Test func theMapGrowsWhenFullAndKeepsEveryEvent() async throws {
        let path = temporaryStorePath("grow")
        defer { removeStore(path) }
        var configuration = LMDBEventStore.Configuration()
        configuration.initialMapSize = 128 * 1024
        let store = try LMDBEventStore(path: path, configuration: configuration)
        let payload = String(repeating: "x", count: 1_000)
        for round in 0..<40 {
            try await store.append((0..<100).map { _ in testEvent(payload: payload) }, to: try StreamID("g-\(round % 5)"))
        }
        #expect(try await store.headPosition() == 4_000)
        #expect(store.environment.mapSize > 4_000_000)
        let report = try store.verify()
        #expect(report.isSound, "\(report)")
        await store.close()
    }

    /// glibc's read-write lock lets readers in while a writer waits: reads
    /// that overlap without a gap used to hold a map resize off until they
    /// stopped. New reads now step aside (briefly) while a resize waits.
    @Test func overlappingReadsDoNotHoldOffAMapResize() async throws {
        let path = temporaryStorePath("starve")
        defer { removeStore(path) }
        let store = try LMDBEventStore(path: path)
        let environment = store.environment
        let before = environment.mapSize
        // Flags in a class: an `Atomic` has an address of its own, which closures must share, not copy.
        final class Flags: Sendable {
            let stop = Atomic<Bool>(false)
            let grewWhileReading = Atomic<Bool>(false)
        }
        let flags = Flags()
        let grewWhileReading = await onOwnThread {
            let readersDone = DispatchSemaphore(value: 0)
            // Three threads, each holding a read for 2 ms and starting the next at once, a third of a hold
            // apart: at every moment some read is under way.
            for offset in 0..<3 {
                Thread.detachNewThread {
                    usleep(useconds_t(700 * offset))
                    while !flags.stop.load(ordering: .acquiring) {
                        _ = try? environment.read { _ in usleep(2_000) }
                    }
                    readersDone.signal()
                }
            }
            usleep(20_000)
            let finished = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                let result = Result { () throws(EventStoreError) in try environment.growMap(needed: 1 << 20) }
                if case .success = result {
                    flags.grewWhileReading.store(!flags.stop.load(ordering: .acquiring), ordering: .releasing)
                }
                finished.signal()
            }
            // Without the readers stepping aside, the resize waits until they stop (here, after 10 seconds).
            let timedOut = finished.wait(timeout: .now() + .seconds(10)) == .timedOut
            flags.stop.store(true, ordering: .releasing)
            if timedOut { finished.wait() }
            for _ in 0..<3 { readersDone.wait() }
            return flags.grewWhileReading.load(ordering: .acquiring)
        }
        #expect(grewWhileReading, "the map grew only after the reads stopped")
        #expect(environment.readerYields.load(ordering: .acquiring) > 0, "reads stepped aside")
        #expect(environment.mapSize > before)
        try environment.read { _ in }
        await store.close()
    }

    /// A read nested in another on the same thread does not step aside for a
    /// waiting resize: the resize waits for the outer read anyway, and a
    /// nested read per record would otherwise pay the pause each time.
    @Test func aNestedReadDoesNotStepAsideForAWaitingResize() async throws {
        let path = temporaryStorePath("nested")
        defer { removeStore(path) }
        let store = try LMDBEventStore(path: path)
        let environment = store.environment
        let yields = await onOwnThread {
            let resized = DispatchSemaphore(value: 0)
            var counted = -1
            try? environment.read { _ in
                // The resize waits for this outer read.
                Thread.detachNewThread {
                    _ = try? environment.growMap(needed: 1 << 20)
                    resized.signal()
                }
                while !environment.exclusiveWaiting { usleep(100) }
                let before = environment.readerYields.load(ordering: .acquiring)
                for _ in 0..<20 { _ = try? environment.read { _ in } }
                counted = environment.readerYields.load(ordering: .acquiring) - before
            }
            resized.wait()
            return counted
        }
        #expect(yields == 0)
        await store.close()
    }

    /// `count` reads of `environment`, each on its own thread, all under way at once, then all ended.
    func concurrentReads(_ count: Int, in environment: Environment) async {
        await onOwnThread {
            let inside = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), ended = DispatchSemaphore(value: 0)
            for _ in 0..<count {
                Thread.detachNewThread {
                    _ = try? environment.read { _ in
                        inside.signal()
                        release.wait()
                    }
                    ended.signal()
                }
            }
            for _ in 0..<count { inside.wait() }
            for _ in 0..<count { release.signal() }
            for _ in 0..<count { ended.wait() }
        }
    }

    /// Reset read transactions kept for reuse hold reader slots every process
    /// shares: after a burst of concurrent reads, at most a few are kept.
    @Test func aBurstOfConcurrentReadsLeavesFewReaderSlotsHeld() async throws {
        let path = temporaryStorePath("burst")
        defer { removeStore(path) }
        let store = try LMDBEventStore(path: path)
        let environment = store.environment
        let threads = environment.maximumIdleReaders * 3
        await concurrentReads(threads, in: environment)
        #expect(environment.maximumIdleReaders == Environment.idleReaderLimit)
        #expect(environment.idleReaderCount == environment.maximumIdleReaders)
        // The slots still taken (mdb_reader_list prints a header, then one line per slot held).
        var lines: [String] = []
        _ = withUnsafeMutablePointer(to: &lines) { pointer in
            mdb_reader_list(environment.env, { message, context in
                context!.assumingMemoryBound(to: [String].self).pointee.append(String(cString: message!))
                return 0
            }, pointer)
        }
        let held = lines.filter { !$0.contains("pid") && !$0.contains("no active readers") }.count
        #expect(held == environment.maximumIdleReaders, "reader slots still taken: \(lines)")
        #expect(try environment.read { _ in 1 } == 1)
        await store.close()
    }

    /// A small reader table: a process keeps a quarter of it at most, so one
    /// that goes idle after a burst leaves the other processes the rest.
    @Test func aSmallReaderTableIsMostlyLeftToOtherProcesses() async throws {
        let path = temporaryStorePath("small-table")
        defer { removeStore(path) }
        var configuration = LMDBEventStore.Configuration()
        configuration.maximumReaders = 8
        let store = try LMDBEventStore(path: path, configuration: configuration)
        let environment = store.environment
        #expect(environment.maximumIdleReaders == 2)
        await concurrentReads(6, in: environment)
        #expect(environment.idleReaderCount == 2)
        await store.close()
    }

    /// The table's size is set by the process that created the lock file:
    /// the cap follows the table, not this process's `maximumReaders`.
    @Test func theIdleReaderCapFollowsTheTableAnotherProcessMade() async throws {
        let path = temporaryStorePath("table-elsewhere")
        defer { removeStore(path) }
        await (try LMDBEventStore(path: path)).close()
        // Plain LMDB opens it first, with LMDB's default table (126 slots).
        let other = try ProbeProcess(["hold-readers", path, "1"])
        defer { other.kill() }
        try #require(await other.waitForLine(startingWith: "ready", timeout: .seconds(30)))
        var configuration = LMDBEventStore.Configuration()
        configuration.maximumReaders = 8
        let store = try LMDBEventStore(path: path, configuration: configuration)
        #expect(store.environment.maximumIdleReaders == Environment.idleReaderLimit)
        await store.close()
    }

    /// LMDB's fatal state (an earlier failed write of its meta page) and a full
    /// reader table are reported with what to do, not only LMDB's words.
    @Test func lmdbFailuresThatNeedTheUserSayWhatToDo() {
        guard case .storage(let panic) = LMDBError(code: MDB_PANIC, operation: "beginning a read transaction").storeError else {
            Issue.record("MDB_PANIC is not a storage error")
            return
        }
        #expect(panic.hasPrefix("beginning a read transaction: ") && panic.hasSuffix("close the store and open it again"))
        guard case .storage(let full) = LMDBError(code: MDB_READERS_FULL, operation: "beginning a read transaction").storeError else {
            Issue.record("MDB_READERS_FULL is not a storage error")
            return
        }
        #expect(full.contains("raise Configuration.maximumReaders") && full.contains("close every process using the store"))
    }

    @Test func anUnusableConfigurationIsRefusedAndCreatesNothing() throws {
        let cases: [(String, (inout LMDBEventStore.Configuration) -> Void)] = [
            ("initialMapSize is 0; it must be at least 1 byte", { $0.initialMapSize = 0; $0.maximumMapSize = -1 }),
            ("maximumMapSize (1024) is below initialMapSize (1073741824)", { $0.maximumMapSize = 1_024 }),
            ("maximumReaders is 0; it must be from 1 to 4294967295", { $0.maximumReaders = 0 }),
            ("maximumReaders is 9223372036854775807; it must be from 1 to 4294967295", { $0.maximumReaders = .max }),
            ("maximumEventsPerCommit is -5; it must be at least 1", { $0.maximumEventsPerCommit = -5 }),
            ("maximumIndexLag is -1; it must be 0 or more", { $0.maximumIndexLag = -1 }),
            ("maximumGroupCommitWait is -0.001 seconds; it must be between 0 and 1 second", { $0.maximumGroupCommitWait = .milliseconds(-1) }),
            ("maximumGroupCommitWait is 2.0 seconds; it must be between 0 and 1 second", { $0.maximumGroupCommitWait = .seconds(2) }),
        ]
        for (message, change) in cases {
            let path = temporaryStorePath("config")
            defer { removeStore(path) }
            var configuration = LMDBEventStore.Configuration()
            change(&configuration)
            #expect(throws: EventStoreError.storage("invalid LMDB store configuration: \(message)")) {
                _ = try LMDBEventStore(path: path, configuration: configuration)
            }
            #expect(!FileManager.default.fileExists(atPath: path), "nothing created")
        }
    }

    @Test func aStoreAtItsMaximumSizeRefusesAppendsAndStaysReadable() async throws {
        let path = temporaryStorePath("full")
        defer { removeStore(path) }
        var configuration = LMDBEventStore.Configuration()
        configuration.initialMapSize = 256 * 1024
        configuration.maximumMapSize = 512 * 1024
        let store = try LMDBEventStore(path: path, configuration: configuration)
        let payload = String(repeating: "y", count: 2_000)
        var stored: UInt64 = 0
        var refusal: EventStoreError?
        for _ in 0..<100 {
            do {
                let result = try await store.append((0..<20).map { _ in testEvent(payload: payload) }, to: try StreamID("f-1"))
                stored = result.lastPosition.rawValue
            } catch {
                refusal = error
                break
            }
        }
        guard case .storeFull = try #require(refusal) else {
            Issue.record("expected storeFull, got \(String(describing: refusal))")
            return
        }
        #expect(stored > 0)
        #expect(try await store.headPosition().rawValue == stored, "the refused append wrote nothing")
        #expect(try await store.streamVersion(of: try StreamID("f-1")) == stored)
        #expect(try store.verify().isSound)
        await store.close()
    }

    @Test func aFullDiskRefusesTheAppendAndLosesNothing() async throws {
        let path = temporaryStorePath("disk")
        defer { removeStore(path) }
        // The probe caps its own file size (RLIMIT_FSIZE): writes past it fail as on a full disk.
        let probe = try ProbeProcess(["fill-disk", path, "\(3 << 20)"])
        let lines = probe.waitForOutput()
        let acknowledged = lines.compactMap(Acknowledgement.init(line:))
        let refusal = try #require(lines.first { $0.hasPrefix("refused ") })
        #expect(refusal.contains("The store is full"), "\(refusal)")
        #expect(lines.contains("done"))
        #expect(acknowledged.count > 100)
        let store = try LMDBEventStore(path: path)
        #expect(try await store.headPosition().rawValue == UInt64(acknowledged.count))
        #expect(try store.verify().isSound)
        // With room again, appends continue.
        try await store.append([testEvent()], to: try StreamID("after-1"))
        await store.close()
    }

    @Test func aFullDiskWhileCreatingAStoreIsRefusedAsFull() async throws {
        let path = temporaryStorePath("create-full")
        defer { removeStore(path) }
        // The probe caps its file size at LMDB's two meta pages, so the commit
        // of the transaction that creates the tables is the write that fails.
        let probe = try ProbeProcess(["create-capped", path, "8192"])
        let lines = probe.waitForOutput()
        #expect(probe.process.terminationReason == .exit && probe.process.terminationStatus == 0, "the probe ended by itself: \(lines)")
        let refusal = try #require(lines.first { $0.hasPrefix("refused ") })
        #expect(refusal.contains("The store is full"), "\(refusal)")
        #expect(lines.last == "done")
        // With room, the directory opens as a new, empty store.
        let store = try LMDBEventStore(path: path)
        #expect(try await store.headPosition() == 0)
        try await store.append([testEvent()], to: try StreamID("after-1"))
        #expect(try store.verify().isSound)
        await store.close()
    }

    @Test func aStoreOpensWhileAnotherProcessGrowsItsMap() async throws {
        let path = temporaryStorePath("open-while-growing")
        defer { removeStore(path) }
        // From a 64 KiB map, the other process grows the map again and again;
        // each open here starts from a map smaller than what that process
        // writes next, so its setup transaction meets LMDB's MDB_MAP_RESIZED.
        let writer = try ProbeProcess(["append-loop", path, "g", "65536"])
        // A bound against a hang, not a timing: once, during a full suite run, the probe
        // acknowledged nothing within 60 s (not reproduced alone or under synthetic load).
        #expect(await writer.waitForLine(startingWith: "ack ", timeout: .seconds(300)))
        var configuration = LMDBEventStore.Configuration()
        configuration.initialMapSize = 64 * 1024
        for _ in 0..<30 {
            let store = try LMDBEventStore(path: path, configuration: configuration)
            #expect(try await store.headPosition() > 0)
            await store.close()
        }
        writer.kill()
        let store = try LMDBEventStore(path: path)
        #expect(try store.verify().isSound)
        await store.close()
    }

    @Test func twoProcessesAppendToOneStore() async throws {
        let path = temporaryStorePath("two-processes")
        defer { removeStore(path) }
        let first = try ProbeProcess(["append-count", path, "a", "300"])
        let second = try ProbeProcess(["append-count", path, "b", "300"])
        let acknowledged = (first.waitForOutput() + second.waitForOutput()).compactMap(Acknowledgement.init(line:))
        #expect(acknowledged.count == 600)
        #expect(Set(acknowledged.map(\.position)).count == 600, "every position acknowledged once")
        let store = try LMDBEventStore(path: path)
        let all = try await store.readLog(from: 1, filter: .all, limit: 1_000)
        #expect(all.map(\.position.rawValue) == Array(1...600))
        let byPosition = Dictionary(uniqueKeysWithValues: all.map { ($0.position.rawValue, $0) })
        for ack in acknowledged {
            #expect(byPosition[ack.position]?.id.description == ack.id)
        }
        #expect(try store.verify().isSound)
        await store.close()
    }

    @Test func killedWritersLoseNothingTheyAcknowledged() async throws {
        let path = temporaryStorePath("crash")
        defer { removeStore(path) }
        var random = SystemRandomNumberGenerator()
        var acknowledged: [Acknowledgement] = []
        let started = Date()
        var rounds = 0
        // Always 20 rounds (each bounded: the probe is killed within 250 ms),
        // then more while the test has run less than 20 seconds, up to 40.
        while rounds < 20 || (rounds < 40 && Date().timeIntervalSince(started) < 20) {
            rounds += 1
            let probe = try ProbeProcess(["append-loop", path, "r\(rounds)"])
            try await Task.sleep(for: .milliseconds(Int.random(in: 30...250, using: &random)))
            probe.kill()
            acknowledged += probe.waitForOutput().compactMap(Acknowledgement.init(line:))

            let store = try LMDBEventStore(path: path)
            let report = try store.verify()
            #expect(report.isSound, "round \(rounds): \(report)")
            let head = try await store.headPosition().rawValue
            #expect(head >= UInt64(acknowledged.count), "round \(rounds): acknowledged events beyond the head")
            for ack in acknowledged.suffix(200) {
                let event = try await store.readLog(from: LogPosition(ack.position), filter: .all, limit: 1).first
                #expect(event?.id.description == ack.id, "round \(rounds): event at \(ack.position)")
                #expect(event?.streamID.rawValue == ack.stream)
                let writer = String(ack.stream.split(separator: "-")[1])
                #expect(event?.payload == probePayload(writer: writer, sequence: ack.sequence))
            }
            await store.close()
        }
        #expect(rounds >= 20)
        #expect(acknowledged.count > 0)
        #expect(Set(acknowledged.map(\.position)).count == acknowledged.count)
    }

    /// Two processes append to a fresh store whose map starts at 64 KiB, so
    /// both grow it (and adopt each other's growth) while they write; each is
    /// killed at its own random moment. Every acknowledged event of both must
    /// be stored once, with its content. 10 rounds; `RAPPORT_SOAK_ROUNDS`
    /// asks for more (a soak run outside CI).
    @Test func twoWritersKilledWhileGrowingTheMapLoseNothingTheyAcknowledged() async throws {
        let rounds = ProcessInfo.processInfo.environment["RAPPORT_SOAK_ROUNDS"].flatMap(Int.init) ?? 10
        var random = SystemRandomNumberGenerator()
        var total = 0
        for round in 1...rounds {
            let path = temporaryStorePath("crash-two")
            defer { removeStore(path) }
            let writers = try ["a", "b"].map { try ProbeProcess(["append-loop", path, "\($0)\(round)", "65536"]) }
            var acknowledged: [Acknowledgement] = []
            for writer in writers {
                try await Task.sleep(for: .milliseconds(Int.random(in: 20...200, using: &random)))
                writer.kill()
                acknowledged += writer.waitForOutput().compactMap(Acknowledgement.init(line:))
            }
            #expect(Set(acknowledged.map(\.position)).count == acknowledged.count, "round \(round): a position acknowledged twice")

            let store = try LMDBEventStore(path: path)
            let report = try store.verify()
            #expect(report.isSound, "round \(round): \(report)")
            let head = try await store.headPosition().rawValue
            #expect(head >= acknowledged.map(\.position).max() ?? 0, "round \(round): acknowledged events beyond the head")
            var stored: [RecordedEvent] = []
            for try await event in store.events(from: 1, filter: .all) { stored.append(event) }
            #expect(stored.map(\.position.rawValue) == (0..<head).map { $0 + 1 }, "round \(round): positions not gapless")
            let byPosition = Dictionary(uniqueKeysWithValues: stored.map { ($0.position.rawValue, $0) })
            for ack in acknowledged {
                let event = byPosition[ack.position]
                #expect(event?.id.description == ack.id, "round \(round): event at \(ack.position)")
                #expect(event?.streamID.rawValue == ack.stream)
                let writer = String(ack.stream.split(separator: "-")[1])
                #expect(event?.payload == probePayload(writer: writer, sequence: ack.sequence))
            }
            if round == 1 { #expect(store.environment.mapSize > 65_536, "the map grew") }
            total += acknowledged.count
            await store.close()
        }
        #expect(total > 0, "no append was acknowledged in \(rounds) rounds")
    }

    @Test func groupCommitAnswersEachCallerAlone() async throws {
        let path = temporaryStorePath("group")
        defer { removeStore(path) }
        let store = try LMDBEventStore(path: path)
        let shared = try StreamID("shared-1")
        try await store.append([testEvent()], to: shared)
        let outcomes = await withTaskGroup(of: (Int, Result<AppendResult, EventStoreError>).self) { group in
            for index in 0..<64 {
                group.addTask {
                    do throws(EventStoreError) {
                        // Every odd caller expects a version the shared stream never has.
                        let target = index % 2 == 0 ? try StreamID("own-\(index)") : shared
                        let expected: ExpectedVersion = index % 2 == 0 ? .noStream : .exactly(1_000)
                        return (index, .success(try await store.append([testEvent()], to: target, expecting: expected)))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var all: [(Int, Result<AppendResult, EventStoreError>)] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        for (index, outcome) in outcomes {
            switch (index % 2, outcome) {
            case (0, .success(let result)): #expect(result.streamVersions.values.first == 1)
            case (1, .failure(.wrongExpectedVersion(shared, .exactly(1_000), 1))): break
            default: Issue.record("caller \(index): unexpected \(outcome)")
            }
        }
        #expect(try await store.headPosition() == 33)
        #expect(try store.verify().isSound)
        await store.close()
    }

    /// Appends racing `close()`, some alone and some queued behind a commit:
    /// each is stored and acknowledged, or refused as closed and absent;
    /// `close()` returns; the reopened log is gapless and holds exactly the
    /// acknowledged events.
    @Test func appendsRacingCloseAreStoredOrRefusedNeverLost() async throws {
        for round in 0..<5 {
            let path = temporaryStorePath("close-race")
            defer { removeStore(path) }
            let store = try LMDBEventStore(path: path)
            let outcomes = await withTaskGroup(of: [(EventID, Result<AppendResult, EventStoreError>)].self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        var mine: [(EventID, Result<AppendResult, EventStoreError>)] = []
                        for index in 0..<200 {
                            let event = testEvent()
                            do throws(EventStoreError) {
                                mine.append((event.id, .success(try await store.append([event], to: try StreamID("w\(writer)-\(index % 7)")))))
                            } catch {
                                mine.append((event.id, .failure(error)))
                                if case .storeClosed = error { break }
                            }
                        }
                        return mine
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(5 + 10 * round))
                    await store.close()
                    return []
                }
                var all: [(EventID, Result<AppendResult, EventStoreError>)] = []
                for await part in group { all += part }
                return all
            }
            var acknowledged: [EventID: LogPosition] = [:]
            for (id, outcome) in outcomes {
                switch outcome {
                case .success(let result): acknowledged[id] = result.positions.lowerBound
                case .failure(.storeClosed): break
                case .failure(let error): Issue.record("round \(round): unexpected \(error)")
                }
            }
            let reopened = try LMDBEventStore(path: path)
            let head = try await reopened.headPosition()
            #expect(head.rawValue == UInt64(acknowledged.count), "round \(round)")
            let stored = try await reopened.readLog(from: LogPosition(1), filter: .all, limit: acknowledged.count + 10)
            #expect(stored.map(\.position.rawValue) == Array(0..<UInt64(stored.count)).map { $0 + 1 }, "round \(round): gapless")
            #expect(stored.count == acknowledged.count, "round \(round)")
            for event in stored { #expect(acknowledged[event.id] == event.position, "round \(round): \(event.id)") }
            #expect(try reopened.verify().isSound)
            await reopened.close()
        }
    }

    @Test func relaxedDurabilityKeepsEverythingAfterSync() async throws {
        let path = temporaryStorePath("relaxed")
        defer { removeStore(path) }
        var configuration = LMDBEventStore.Configuration()
        configuration.durability = .relaxed
        var store = try LMDBEventStore(path: path, configuration: configuration)
        try await store.append((0..<10).map { _ in testEvent() }, to: try StreamID("r-1"))
        try store.sync()
        await store.close()
        store = try LMDBEventStore(path: path)
        #expect(try await store.headPosition() == 10)
        await store.close()
    }

    @Test func zeroCopyScanSeesEveryRecordInOrder() async throws {
        let path = temporaryStorePath("scan")
        defer { removeStore(path) }
        let store = try LMDBEventStore(path: path)
        for round in 0..<30 {
            try await store.append((0..<10).map { _ in testEvent(round % 2 == 0 ? "Even" : "Odd", payload: "{\"r\":\(round)}") }, to: try StreamID("s-\(round % 4)"))
        }
        var positions: [UInt64] = []
        var evenBytes = 0
        let last = try store.scan(from: 5, recordsPerTransaction: 7) { view in
            positions.append(view.position.rawValue)
            if view.hasType("Even") { evenBytes += view.payload.count }
            return .continue
        }
        #expect(positions == Array(5...300))
        #expect(last == 300)
        // Positions 1-4 (round 0, "Even", 7-byte payloads) are before the scan's start.
        #expect(evenBytes == (0..<30).filter { $0 % 2 == 0 }.reduce(0) { $0 + 10 * "{\"r\":\($1)}".utf8.count } - 4 * 7)
        var seen = 0
        let stoppedAt = try store.scan { _ in
            seen += 1
            return seen == 42 ? .stop : .continue
        }
        #expect(stoppedAt == 42)
        await store.close()
    }

    @Test func openingTwiceInOneProcessOrAForeignDirectoryIsRefused() async throws {
        let path = temporaryStorePath("twice")
        defer { removeStore(path) }
        let store = try LMDBEventStore(path: path)
        #expect {
            _ = try LMDBEventStore(path: path)
        } throws: { error in
            guard case .storage(let message) = error as? EventStoreError else { return false }
            return message.contains("already open in this process")
        }
        await store.close()

        let foreign = temporaryStorePath("foreign")
        defer { removeStore(foreign) }
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        try Data(repeating: 0xAB, count: 64 * 1024).write(to: URL(fileURLWithPath: foreign).appendingPathComponent("data.mdb"))
        #expect {
            _ = try LMDBEventStore(path: foreign)
        } throws: { error in
            if case .incompatibleStore = error as? EventStoreError { return true }
            return false
        }
    }
}

extension LMDBStoreTests {
    // Not timed (the suite shares two threads, and other tests block them at
    // times): a close() that never returned would hit the time limit.
    @Test(.timeLimit(.minutes(1)))
    func closeCalledTwiceWhileTheWriterIsBusyReturnsForBoth() async throws {
        let path = temporaryStorePath("double-close")
        defer { removeStore(path) }
        let store = try LMDBEventStore(path: path)
        // Keep the writer thread busy (as a long commit would) so that both
        // close() calls find it running.
        let busy = Task { try await store.writerSubmit { _ in usleep(400_000) } }
        try await Task.sleep(for: .milliseconds(100))
        let returned = SharedCounter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<2 { group.addTask { await store.close(); returned.add() } }
        }
        try await busy.value
        #expect(returned.current == 2)
        // A close after the writer ended returns at once.
        await store.close()
    }
}

extension LMDBStoreTests {
    @Test func aDamagedEventIDIndexEntryIsReportedNotAnsweredWithAnotherEvent() async throws {
        let path = temporaryStorePath("id-index")
        defer { removeStore(path) }
        let store = try LMDBEventStore(path: path)
        let a = testEvent(payload: "{\"n\":1}"), b = testEvent(payload: "{\"n\":2}")
        try await store.append([a, b], to: try StreamID("s-1"))
        // Damage the id index: a's entry points at b's position (2).
        try await store.writerSubmit { txn in
            try Bytes.put(txn: txn, dbi: store.environment.tables.eventIDs, key: withUnsafeBytes(of: a.id.uuid.uuid) { Array($0) },
                          value: withUnsafeBytes(of: UInt64(2).bigEndian) { Array($0) })
        }
        func isCorruptedAtTwo(_ error: any Error) -> Bool {
            if case .corruptedRecord(let position, _) = error as? EventStoreError { return position == 2 }
            return false
        }
        await #expect(performing: { _ = try await store.event(id: a.id) }, throws: isCorruptedAtTwo)
        // An append of the same event (the idempotency check looks it up) meets the damage too.
        await #expect(performing: { _ = try await store.append([a], to: try StreamID("s-1")) }, throws: isCorruptedAtTwo)
        #expect(try await store.event(id: b.id)?.position == 2)
        await store.close()
    }
}

extension LMDBStoreTests {
    /// Starts a probe that opens the store at `path`, begins `count` read
    /// transactions, and is killed with them open (its reader slots stay taken).
    func leaveStaleReaders(at path: String, count: Int) async throws {
        let probe = try ProbeProcess(["hold-readers", path, "\(count)"])
        let ready = await probe.waitForLine(startingWith: "ready", timeout: .seconds(30))
        probe.kill()
        try #require(ready, "the probe did not open its readers: \(probe.waitForOutput())")
    }

    /// How many reader slots of dead processes LMDB still holds.
    func staleReaders(_ store: LMDBEventStore) -> Int32 {
        var dead: Int32 = 0
        mdb_reader_check(store.environment.env, &dead)
        return dead
    }

    @Test func theWriterFreesTheReaderSlotsOfAKilledProcess() async throws {
        let path = temporaryStorePath("stale")
        defer { removeStore(path) }
        let store = try LMDBEventStore(path: path)
        try await store.append([testEvent()], to: try StreamID("r-0"))
        try await leaveStaleReaders(at: path, count: 1)
        // A dead process's slot pins its snapshot's pages: every commit after it would grow the file.
        for round in 0..<GroupCommitWriter.readerCheckInterval {
            try await store.append([testEvent()], to: try StreamID("r-\(round)"))
        }
        #expect(staleReaders(store) == 0, "the writer left a dead process's reader slot in the table")
        await store.close()
    }

    @Test func openingAStoreFreesTheReaderSlotsOfAKilledProcess() async throws {
        let path = temporaryStorePath("stale-open")
        defer { removeStore(path) }
        let first = try LMDBEventStore(path: path)
        try await first.append([testEvent()], to: try StreamID("o-1"))
        await first.close()
        // A live process keeps the environment open (else LMDB resets the
        // reader table when the next one opens it); another one dies reading.
        let live = try ProbeProcess(["hold-readers", path, "1"])
        defer { live.kill() }
        try #require(await live.waitForLine(startingWith: "ready", timeout: .seconds(30)))
        try await leaveStaleReaders(at: path, count: 2)
        let store = try LMDBEventStore(path: path)
        #expect(staleReaders(store) == 0)
        await store.close()
    }

    @Test func aReaderTableFilledByAKilledProcessIsFreedForTheNextRead() async throws {
        let path = temporaryStorePath("readers-full")
        defer { removeStore(path) }
        var configuration = LMDBEventStore.Configuration()
        configuration.maximumReaders = 8
        let store = try LMDBEventStore(path: path, configuration: configuration)
        try await store.append([testEvent()], to: try StreamID("r-1"))
        // Another process (a CLI run killed, say) held every reader slot.
        try await leaveStaleReaders(at: path, count: 8)
        #expect(try await store.headPosition() == 1)
        await store.close()
    }
}

extension LMDBStoreTests {
    @Test func readsSurviveAnotherProcessGrowingTheMapWhileThisOneWrites() async throws {
        let path = temporaryStorePath("adopt-race")
        defer { removeStore(path) }
        var configuration = LMDBEventStore.Configuration()
        configuration.initialMapSize = 1 << 20
        configuration.maximumMapSize = 1 << 30
        let store = try LMDBEventStore(path: path, configuration: configuration)
        try await store.append([testEvent()], to: try StreamID("g-1"))
        let errors = Mutex<[String]>([])
        let stop = Mutex(false)
        // Readers on threads of their own, reading as fast as they can.
        let readersDone = SharedCounter()
        for _ in 0..<3 {
            Thread.detachNewThread {
                while !stop.withLock({ $0 }) {
                    do throws(EventStoreError) {
                        _ = try store.environment.read { (txn) throws(EventStoreError) in try txn.reader.last().position }
                    } catch {
                        errors.withLock { $0.append("\(error)") }
                    }
                }
                readersDone.add()
            }
        }
        // This process's writer busy with read-model commits (each a write transaction).
        let writer = Task {
            var round: UInt64 = 0
            while !stop.withLock({ $0 }) {
                round += 1
                do throws(EventStoreError) {
                    try await store.commit([ReadModelChanges(
                        projection: "w", writes: ["k": [UInt8](repeating: 1, count: 100)],
                        checkpoint: ProjectionCheckpoint(version: 1, position: LogPosition(round)))])
                } catch {
                    errors.withLock { $0.append("commit: \(error)") }
                }
            }
        }
        // Another process grows the map and writes past this process's mapping, again and again.
        var outputs: [[Substring]] = []
        for step in 1...5 {
            let size = (1 << 20) << step
            let grow = try ProbeProcess(["grow", path, "\(size * 2)", "\(size)", "filler-\(step)"])
            outputs.append(grow.waitForOutput())
            try await Task.sleep(for: .milliseconds(50))
        }
        stop.withLock { $0 = true }
        await writer.value
        _ = await readersDone.wait(toReach: 3, seconds: 10)
        #expect(outputs.allSatisfy { $0.last?.hasPrefix("grown") == true }, "\(outputs)")
        let seen = errors.withLock { $0 }
        #expect(seen.isEmpty, "\(seen.count) failures, such as \(Array(Set(seen)).prefix(3))")
        // The writer and the readers see the grown map.
        try await store.append([testEvent()], to: try StreamID("g-2"))
        #expect(try await store.headPosition() == 2)
        await store.close()
    }
}

extension LMDBStoreTests {
    @Test func aSmallAppendIsNotRefusedBecauseABigOneTooLargeForTheMapSharedItsCommit() async throws {
        let path = temporaryStorePath("full-group")
        defer { removeStore(path) }
        var configuration = LMDBEventStore.Configuration()
        configuration.initialMapSize = 1 << 20
        configuration.maximumMapSize = 1 << 20
        let store = try LMDBEventStore(path: path, configuration: configuration)
        try await store.append([testEvent()], to: try StreamID("small-0"))
        // Hold the writer so the next two appends are queued and taken as one group.
        let busy = Task { try await store.writerSubmit { _ in usleep(300_000) } }
        try await Task.sleep(for: .milliseconds(100))
        let big = Task { () -> Result<AppendResult, EventStoreError> in
            do throws(EventStoreError) {
                return .success(try await store.append([testEvent(payload: String(repeating: "x", count: 2 << 20))], to: try StreamID("big-1")))
            } catch { return .failure(error) }
        }
        try await Task.sleep(for: .milliseconds(20))
        let small = Task { () -> Result<AppendResult, EventStoreError> in
            do throws(EventStoreError) {
                return .success(try await store.append([testEvent()], to: try StreamID("small-1")))
            } catch { return .failure(error) }
        }
        try await busy.value
        let bigResult = await big.value, smallResult = await small.value
        guard case .failure(.storeFull) = bigResult else {
            Issue.record("the 2 MiB append should not fit a 1 MiB map: \(bigResult)")
            return
        }
        // The same small append, alone, fits.
        let again: Result<AppendResult, EventStoreError>
        do throws(EventStoreError) { again = .success(try await store.append([testEvent()], to: try StreamID("small-2"))) } catch { again = .failure(error) }
        #expect((try? again.get()) != nil, "a small append alone fits: \(again)")
        #expect((try? smallResult.get()) != nil, "the small append grouped with the big one was refused: \(smallResult)")
        await store.close()
    }

    @Test func aDamagedTagHeadFailsOnlyTheAppendThatWouldChangeIt() async throws {
        let path = temporaryStorePath("damaged-tag-group")
        defer { removeStore(path) }
        let store = try LMDBEventStore(path: path)
        let damaged = try Tag("damaged")
        try await store.append([testEvent(tags: [damaged])], to: try StreamID("t-0"))
        try await store.writerSubmit { txn in
            try Bytes.put(txn: txn, dbi: store.environment.tables.tagHeads, key: Array("damaged".utf8), value: [0xFF])
        }
        // Hold the writer so that both appends are queued and taken as one group.
        let busy = Task { try await store.writerSubmit { _ in usleep(300_000) } }
        try await Task.sleep(for: .milliseconds(100))
        let tagged = Task { () -> Result<AppendResult, EventStoreError> in
            do throws(EventStoreError) { return .success(try await store.append([testEvent(tags: [damaged])], to: try StreamID("t-1"))) } catch { return .failure(error) }
        }
        let plain = Task { () -> Result<AppendResult, EventStoreError> in
            do throws(EventStoreError) { return .success(try await store.append([testEvent()], to: try StreamID("t-2"))) } catch { return .failure(error) }
        }
        try await busy.value
        let taggedResult = await tagged.value, plainResult = await plain.value
        guard case .failure(.storage(let reason)) = taggedResult else {
            Issue.record("an append over a damaged tag head: \(taggedResult)")
            return
        }
        #expect(reason.contains("damaged"))
        #expect((try? plainResult.get()) != nil, "the append grouped with it: \(plainResult)")
        await store.close()
    }
}

@Suite("Projection crash safety")
struct ProjectionCrashTests {
    @Test func aReplayKilledMidBatchResumesToACleanRebuild() async throws {
        let path = temporaryStorePath("replay-crash")
        let clean = temporaryStorePath("replay-clean")
        defer { removeStore(path); removeStore(clean) }
        // A log of 40,000 events over 40 streams, in two stores: long enough
        // to replay (in batches of 25) that kills land between batches.
        for target in [path, clean] {
            let store = try LMDBEventStore(path: target)
            for round in 0..<800 {
                try await store.append((0..<50).map { _ in testEvent(payload: "{\"r\":\(round)}") }, to: try StreamID("p-\(round % 40)"))
            }
            await store.close()
        }
        // Kill the replaying process at random moments; each restart resumes from the last committed batch.
        var random = SystemRandomNumberGenerator()
        var killed = 0
        var interrupted = 0
        var rounds = 0
        while rounds < 40 && (rounds < 12 || interrupted < 5) {
            rounds += 1
            let probe = try ProbeProcess(["replay", path, "25"])
            // From its first committed batch on (a loaded machine can take long to start a process).
            _ = await probe.waitForLine(startingWith: "batch", timeout: .seconds(20))
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...60, using: &random)))
            probe.kill()
            let lines = probe.waitForOutput()
            if !lines.contains("done") { killed += 1 }
            if !lines.contains("done") && lines.contains(where: { $0.hasPrefix("batch") }) { interrupted += 1 }
            if lines.contains("done") { break }
        }
        print("replay crash test: \(interrupted) of \(rounds) kills landed between committed batches")
        #expect(interrupted >= 3, "kills that landed between committed batches: \(interrupted) of \(rounds)")
        let finish = try ProbeProcess(["replay", path, "25"])
        #expect(finish.waitForOutput().contains("done"))
        let finishClean = try ProbeProcess(["replay", clean, "40000"])
        #expect(finishClean.waitForOutput().contains("done"))

        let crashed = try LMDBEventStore(path: path)
        let reference = try LMDBEventStore(path: clean)
        func model(_ store: LMDBEventStore) throws -> [String: [UInt8]] {
            try store.read("chained") { (reader) throws(EventStoreError) in
                var all: [String: [UInt8]] = [:]
                try reader.forEach(keyPrefix: "") { key, value in
                    all[key] = value
                    return true
                }
                return all
            }
        }
        let crashedModel = try model(crashed)
        #expect(crashedModel.count == 41)
        #expect(crashedModel == (try model(reference)), "after \(killed) kills the read model equals a clean rebuild")
        #expect(crashedModel["count"].map { String(decoding: $0, as: UTF8.self) } == "40000")
        #expect(try crashed.checkpoint(of: "chained")?.position == 40_000)
        await crashed.close()
        await reference.close()
    }
}

/// Damage met while appending or reading: a typed error naming it, never a trap.
@Suite("LMDB damage met by appends")
struct DamageMetByAppendsTests {
    /// Damage no append can make: a head counting more events than its last
    /// position, or an events key at the largest position (whose next does
    /// not exist). Each is a typed error, never a trap where 1 is added.
    @Test func headsAndKeysAtTheLimitsAreDamageNotATrap() async throws {
        let path = temporaryStorePath("limits")
        defer { removeStore(path) }
        let store = try LMDBEventStore(path: path)
        let stream = try StreamID("s-1")
        try await store.append([testEvent()], to: stream)
        // The stream's head: the count 2^64 - 1 (ten bytes), its 64 ladder entries all position 1.
        let head: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x01] + [UInt8](repeating: 0, count: 63)
        try await store.writerSubmit { txn in
            try Bytes.put(txn: txn, dbi: store.environment.tables.streamHeads, key: Array(stream.rawValue.utf8), value: head)
        }
        do throws(EventStoreError) {
            _ = try await store.append([testEvent()], to: stream, expecting: .any)
            Issue.record("an append onto a head that counts 2^64 - 1 events")
        } catch .storage(let reason) {
            #expect(reason.contains("damaged"), "\(reason)")
        } catch {
            Issue.record("\(error)")
        }
        #expect(try await store.headPosition() == 1)
        // An events key at position 2^64 - 1.
        try await store.writerSubmit { txn in
            try Bytes.put(txn: txn, dbi: store.environment.tables.events, key: withUnsafeBytes(of: UInt64.max.bigEndian) { Array($0) }, value: [0])
        }
        for (name, operation) in [
            ("head", { () async throws(EventStoreError) in _ = try await store.headPosition() }),
            ("position as of", { () async throws(EventStoreError) in _ = try await store.position(asOf: Date()) }),
            ("append", { () async throws(EventStoreError) in _ = try await store.append([testEvent()], to: try StreamID("s-2")) }),
        ] as [(String, () async throws(EventStoreError) -> Void)] {
            do {
                try await operation()
                Issue.record("\(name) answered")
            } catch .corruptedRecord(let position, _) {
                #expect(position == LogPosition(UInt64.max), "\(name)")
            } catch {
                Issue.record("\(name): \(error)")
            }
        }
        // Verification reports it as a problem, as it does any damaged record.
        let report = try await store.verifyLog(progress: nil)
        #expect(report.problem?.position == LogPosition(UInt64.max) && report.problem?.message.hasPrefix("corrupted record") == true, "\(report)")
        await store.close()
    }


    /// Damage LMDB itself finds (a B-tree page that is neither a branch nor a
    /// leaf) met while an append checks its stream's head: the append fails
    /// naming the damage, not with the "transaction must abort" LMDB answers
    /// every later call of a transaction that met it.
    @Test func aDamagedPageMetByTheChecksIsNamed() async throws {
        let path = temporaryStorePath("damaged-page")
        defer { removeStore(path) }
        var store = try LMDBEventStore(path: path)
        let stream = try StreamID("victim")
        try await store.append([testEvent()], to: stream)
        // The page holding the stream's head: a value LMDB hands out points into its page in the
        // map, and a page begins with its number.
        var stat = MDB_stat()
        mdb_env_stat(store.environment.env, &stat)
        let pageSize = Int(stat.ms_psize)
        let page = try store.environment.read { (txn) throws(EventStoreError) -> Int in
            var key = Array(stream.rawValue.utf8)
            return key.withUnsafeMutableBytes { k in
                var kv = MDB_val(mv_size: k.count, mv_data: k.baseAddress), vv = MDB_val()
                guard mdb_get(txn.reader.txn, txn.reader.tables.streamHeads, &kv, &vv) == MDB_SUCCESS else { return -1 }
                let start = UInt(bitPattern: vv.mv_data) & ~UInt(pageSize - 1)
                return Int(UnsafeRawPointer(bitPattern: start)!.load(as: UInt64.self))
            }
        }
        try #require(page > 1)
        await store.close()
        // Its flags (bytes 10 and 11 of the page header) cleared: neither branch nor leaf.
        let file = try FileHandle(forUpdating: URL(fileURLWithPath: path).appendingPathComponent("data.mdb"))
        try file.seek(toOffset: UInt64(page * pageSize + 10))
        try file.write(contentsOf: [0, 0])
        try file.close()

        store = try LMDBEventStore(path: path)
        do throws(EventStoreError) {
            _ = try await store.append([testEvent()], to: stream)
            Issue.record("an append over a damaged page")
        } catch .storage(let reason) {
            #expect(reason.contains("damaged") && !reason.contains("MDB_BAD_TXN"), "\(reason)")
        } catch {
            Issue.record("\(error)")
        }
        #expect(try await store.headPosition() == 1)
        await store.close()
    }

}
