import Foundation
import NIOPosix
import PostgresNIO
import RapportCore
import RapportEventLog
import RapportPostgres
import RapportProjections
import RapportReplay
import RapportScenario
import RapportTesting
import Synchronization
import Testing

@Suite("PostgreSQL read-model storage", .enabled(if: PostgresTestEnvironment.shouldRun, PostgresTestEnvironment.skipMessage))
struct PostgresReadModelTests {
    /// Each check on a new schema; reopening makes a new store on it, as another process would.
    static let suite = ReadModelStorageSuite {
        let database = try TestDatabase.get()
        let schema = database.freshSchemaName("rm")
        let store = try database.store(schema: schema)
        try await store.migrate()
        try await store.prepareForReading()
        return ReadModelStorageUnderTest(
            storage: store,
            reopen: { try database.store(schema: schema) },
            close: { await ($0 as? PostgresEventStore)?.close() },
            destroy: { await database.drop(schema) })
    }

    @Test(arguments: ReadModelStorageSuite.checkNames)
    func readModels(_ check: String) async throws {
        try await Self.suite.run(check)
    }

    @Test("a read on a NIO event-loop thread is refused with a storage error, not a trap")
    func readOnAnEventLoopIsRefused() async throws {
        let database = try TestDatabase.get()
        let (store, schema) = try await database.freshStore("rmloop")
        try await store.commit([ReadModelChanges(projection: "a", writes: ["k": [1]], checkpoint: ProjectionCheckpoint(version: 1, position: 1))])
        try await store.prepareForReading()
        // Where NIO runs Swift's global executor, every task runs here.
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let outcomes = try await loop.submit { () -> [String] in
            var said: [String] = []
            for read in [{ _ = try store.checkpoint(of: "a") }, { _ = try store.read("a") { (reader) throws(EventStoreError) in try reader.value(forKey: "k") } }] {
                do {
                    try read()
                    said.append("answered")
                } catch let error as EventStoreError {
                    if case .storage(let message) = error { said.append(message) } else { said.append("\(error)") }
                } catch {
                    said.append("\(error)")
                }
            }
            return said
        }.get()
        #expect(outcomes.count == 2 && outcomes.allSatisfy { $0.contains("runs NIO event loop") }, "\(outcomes)")
        // Off the event loop the same reads answer, on the same connection.
        #expect(try store.checkpoint(of: "a") == ProjectionCheckpoint(version: 1, position: 1))
        #expect(try store.read("a") { (reader) throws(EventStoreError) in try reader.value(forKey: "k") } == [1])
        await store.close()
        await database.drop(schema)
    }

    @Test("a commit that fails part-way leaves no change of any projection in it")
    func failedCommitChangesNothing() async throws {
        let database = try TestDatabase.get()
        let (store, schema) = try await database.freshStore("rmfail")
        try await store.commit([ReadModelChanges(projection: "a", writes: ["k": [1]], checkpoint: ProjectionCheckpoint(version: 1, position: 1))])
        try await store.prepareForReading()
        // PostgreSQL's text cannot hold a 0 character: the second projection's statements fail
        // after the first projection's have run in the same transaction.
        await #expect(throws: EventStoreError.self) {
            try await store.commit([
                ReadModelChanges(projection: "a", writes: ["k": [2], "new": [3]], checkpoint: ProjectionCheckpoint(version: 1, position: 2)),
                ReadModelChanges(projection: "bad\u{0}name", writes: ["k": [9]], checkpoint: ProjectionCheckpoint(version: 1, position: 2)),
            ])
        }
        #expect(try store.checkpoint(of: "a") == ProjectionCheckpoint(version: 1, position: 1))
        #expect(try store.read("a") { (reader) throws(EventStoreError) in try reader.value(forKey: "k") } == [1])
        #expect(try store.read("a") { (reader) throws(EventStoreError) in try reader.value(forKey: "new") } == nil)
        #expect(try await database.scalar("SELECT count(*) FROM \"\(schema)\".rapport_read_models") == 1)
        await store.close()
        await database.drop(schema)
    }

    @Test("concurrent commits of one projection's keys all take effect also when the server's default isolation is SERIALIZABLE")
    func concurrentCommitsUnderSerializableDefault() async throws {
        let database = try TestDatabase.get()
        let client = TestDatabase.makeClient(database.server, maximumConnections: 8, defaultTransactionIsolation: "serializable")
        let running = Task { await client.run() }
        let schema = database.freshSchemaName("rmser")
        let stores = try (0..<4).map { _ in try database.store(schema: schema, client: client) }
        _ = try await stores[0].migrate()
        // Four writers upsert the same keys 25 times each. Under SERIALIZABLE (or REPEATABLE READ)
        // a commit that met another's change to a row failed to serialize, more often than the
        // commit's three attempts could absorb; in READ COMMITTED it waits for the row and proceeds.
        let failures = await withTaskGroup(of: [EventStoreError].self) { group in
            for (index, store) in stores.enumerated() {
                group.addTask {
                    var failed: [EventStoreError] = []
                    for round in 1...25 {
                        let checkpoint = ProjectionCheckpoint(version: 1, position: LogPosition(UInt64(round)))
                        let changes = ReadModelChanges(projection: "shared", writes: ["k": [UInt8(index)], "w\(index)": [UInt8(round)]], checkpoint: checkpoint)
                        do throws(EventStoreError) { try await store.commit([changes]) } catch { failed.append(error) }
                    }
                    return failed
                }
            }
            var all: [EventStoreError] = []
            for await part in group { all += part }
            return all
        }
        #expect(failures.isEmpty, "\(failures.prefix(3))")
        try await stores[0].prepareForReading()
        for index in 0..<4 {
            #expect(try stores[0].read("shared") { (reader) throws(EventStoreError) in try reader.value(forKey: "w\(index)") } == [25])
        }
        for store in stores { await store.close() }
        running.cancel()
        await database.drop(schema)
    }

    @Test("two runners of one projection on two stores (as two processes would be) apply every event once, in order")
    func runnersOnTwoStoresApplyEachEventOnce() async throws {
        let database = try TestDatabase.get()
        let (writer, schema) = try await database.freshStore("rmrun")
        let actor = Principal(id: "user:tester", role: .admin)
        for index in 1...120 {
            try await writer.append(
                [NewEvent(type: "Ticked", metadata: EventMetadata(actor: actor, channel: .api), payload: Data("{}".utf8))],
                to: try StreamID("tick-\(index % 4)"))
        }
        // Both start from a stored checkpoint at 40, so that they read "seen" from storage.
        try await ProjectionRunner(log: writer, storage: writer, projections: [Sequence()]).catchUp(upTo: 40)
        let first = try database.store(schema: schema), second = try database.store(schema: schema)
        // The second reads the checkpoint (40), then waits until the first has committed up to 120.
        let late = CheckpointReadEarly(second, waitingFor: ProjectionCheckpoint(version: 1, position: 120))
        async let lateReached = ProjectionRunner(log: second, storage: late, projections: [Sequence()], batchSize: 11).catchUp()
        let reached = try await ProjectionRunner(log: first, storage: first, projections: [Sequence()], batchSize: 7).catchUp()
        #expect(reached == 120)
        #expect(try await lateReached == 120)
        try await first.prepareForReading()
        let seen = try first.read("sequence") { (reader) throws(EventStoreError) in try reader.value(forKey: "seen") }
        #expect(seen.map { String(decoding: $0, as: UTF8.self) } == (1...120).map(String.init).joined(separator: ","),
                "every position once, in log order")
        #expect(try first.checkpoint(of: "sequence") == ProjectionCheckpoint(version: 1, position: 120))
        for store in [first, second, writer] { await store.close() }
        await database.drop(schema)
    }

    @Test("a read before prepareForReading says to prepare; then reads see other stores' commits, and end with the store")
    func readsNeedPreparing() async throws {
        let database = try TestDatabase.get()
        let (writer, schema) = try await database.freshStore("rmread")
        try await writer.commit([ReadModelChanges(projection: "p", writes: ["k": [7]], checkpoint: ProjectionCheckpoint(version: 2, position: 9))])
        let reader = try database.store(schema: schema)  // another process's store
        #expect {
            try reader.checkpoint(of: "p")
        } throws: { error in
            guard case .storage(let message) = error as? EventStoreError else { return false }
            return message.contains("prepareForReading()")
        }
        try await reader.prepareForReading()
        #expect(try reader.checkpoint(of: "p") == ProjectionCheckpoint(version: 2, position: 9))
        #expect(try reader.read("p") { (r) throws(EventStoreError) in try r.value(forKey: "k") } == [7])
        try await writer.commit([ReadModelChanges(projection: "p", writes: ["k": [8]], checkpoint: ProjectionCheckpoint(version: 2, position: 10))])
        #expect(try reader.read("p") { (r) throws(EventStoreError) in try r.value(forKey: "k") } == [8])
        await reader.close()
        #expect(throws: EventStoreError.storeClosed) { try reader.checkpoint(of: "p") }
        await writer.close()
        await database.drop(schema)
    }

    @Test("close() during a read-model read waits for it and gives the pool its connection outside the read's transaction")
    func closeDuringReadModelRead() async throws {
        let database = try TestDatabase.get()
        let (setup, schema) = try await database.freshStore("rmclose")
        try await setup.commit([ReadModelChanges(projection: "p", writes: ["k": [7]], checkpoint: ProjectionCheckpoint(version: 1, position: 1))])
        await setup.close()
        let client = TestDatabase.makeClient(database.server, maximumConnections: 1)
        let running = Task { await client.run() }
        let store = try database.store(schema: schema, client: client)
        try await store.prepareForReading()
        let entered = DispatchSemaphore(value: 0), proceed = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<[UInt8]?, EventStoreError>?>(nil)
        let readEnding = Mutex(false)
        DispatchQueue.global().async {
            let result = Result { () throws(EventStoreError) -> [UInt8]? in
                try store.read("p") { (reader) throws(EventStoreError) -> [UInt8]? in
                    let value = try reader.value(forKey: "k")
                    entered.signal()
                    proceed.wait()
                    readEnding.withLock { $0 = true }
                    return value
                }
            }
            outcome.withLock { $0 = result }
            done.signal()
        }
        await Task.detached { entered.wait() }.value
        // close() returns only once the read has ended: whether it had, it tells when it returns.
        let closeReturned = Mutex(false)
        let closing = Task { () -> Bool in
            await store.close()
            let readHadEnded = readEnding.withLock { $0 }
            closeReturned.withLock { $0 = true }
            return readHadEnded
        }
        // The read goes on when close() returns, or after 2 s of close() waiting for it (as it should).
        let patience = ContinuousClock.now + .seconds(2)
        while !closeReturned.withLock({ $0 }) && ContinuousClock.now < patience { try await Task.sleep(for: .milliseconds(20)) }
        proceed.signal()
        let readHadEnded = try await withTimeout(seconds: 20, "close() after the read ended") { await closing.value }
        #expect(readHadEnded, "close() returned while the read was still inside its transaction")
        await Task.detached { done.wait() }.value
        #expect(try outcome.withLock { $0 }?.get() == [7], "the read in progress completes")
        #expect(throws: EventStoreError.storeClosed) { try store.read("p") { (reader) throws(EventStoreError) in try reader.value(forKey: "k") } }

        // The pool's only connection, leased again, is outside any transaction.
        let state = try await withTimeout(seconds: 20, "leasing the pool's only connection") {
            try await client.withConnection { connection in
                var text = ""
                for try await value in try await connection.query(
                    "SELECT current_setting('transaction_isolation') || ' ' || current_setting('transaction_read_only')", logger: testLogger
                ).decode(String.self) { text = value }
                return text
            }
        }
        #expect(state == "read committed off", "a fresh lease should be outside any transaction; it is in: \(state)")
        // Another store on the same client appends through that connection.
        let other = try database.store(schema: schema, client: client)
        await #expect(throws: Never.self) { try await other.append([testEvent()], to: try StreamID("after-close")) }
        await other.close()
        running.cancel()
        await database.drop(schema)
    }

    @Test("a schema at version 1 migrates to version 2 and keeps its log")
    func upgradeFromVersionOne() async throws {
        let database = try TestDatabase.get()
        let (store, schema) = try await database.freshStore("rmup")
        try await store.append([testEvent(), testEvent()], to: try StreamID("kept-1"))
        // Back to what version 1 created.
        try await database.execute("DROP TABLE \"\(schema)\".rapport_read_models, \"\(schema)\".rapport_projection_checkpoints")
        try await database.execute("DELETE FROM \"\(schema)\".rapport_schema_migrations WHERE version = 2")
        await #expect {
            try await store.commit([ReadModelChanges(projection: "p", checkpoint: ProjectionCheckpoint(version: 1, position: 1))])
        } throws: { error in
            guard case .incompatibleStore(let message) = error as? EventStoreError else { return false }
            return message.contains("migrate()")
        }
        #expect(try await store.migrate() == [2])
        #expect(try await store.headPosition() == 2)
        try await store.verify()
        try await store.commit([ReadModelChanges(projection: "p", checkpoint: ProjectionCheckpoint(version: 1, position: 2))])
        try await store.prepareForReading()
        #expect(try store.checkpoint(of: "p")?.position == 2)
        await store.close()
        await database.drop(schema)
    }
}

@Suite("Projections on PostgreSQL", .enabled(if: PostgresTestEnvironment.shouldRun, PostgresTestEnvironment.skipMessage))
struct PostgresProjectionTests {
    static let projections: [any Projection] = [ContactHistory(), AuditTrail(), DealStates()]

    func everything(_ storage: any ReadModelStorage) throws -> [String: [String: [UInt8]]] {
        try Dictionary(uniqueKeysWithValues: Self.projections.map { ($0.name, try storage.contents(of: $0.name)) })
    }

    @Test("the three projections give the same read models and answers on PostgreSQL as in memory")
    func sameAnswersAsInMemory() async throws {
        let database = try TestDatabase.get()
        let (store, schema) = try await database.freshStore("proj")
        let summary = try await ScenarioGenerator.generate(into: store, configuration: ScenarioConfiguration(events: 3_000))
        let head = try await store.headPosition()
        #expect(head.rawValue >= 3_000)

        // On PostgreSQL, followed live in small batches (commit boundaries inside appends),
        // in memory, rebuilt in one pass: both over the same log.
        let live = try ProjectionRunner(log: store, storage: store, projections: Self.projections, registry: .crm, batchSize: 397)
        try await live.catchUp(upTo: LogPosition(head.rawValue / 2))
        #expect(try store.checkpoint(of: "audit-trail")?.position == LogPosition(head.rawValue / 2))
        try await live.catchUp()
        let memory = InMemoryReadModelStorage()
        try await ProjectionRunner(log: store, storage: memory, projections: Self.projections, registry: .crm, batchSize: 10_000).catchUp()

        let onPostgres = try everything(store), inMemory = try everything(memory)
        for projection in Self.projections {
            let a = onPostgres[projection.name]!, b = inMemory[projection.name]!
            #expect(!a.isEmpty, "\(projection.name) is empty")
            #expect(a.count == b.count && a == b, "\(projection.name): \(a.count) keys on PostgreSQL, \(b.count) in memory")
        }
        for projection in Self.projections {
            #expect(try store.checkpoint(of: projection.name) == ProjectionCheckpoint(version: projection.version, position: head))
        }

        // The query APIs answer the same.
        let contact = try #require(summary.busiestContact)
        let timeline = try ContactHistory().timeline(of: contact, in: store, page: PageRequest(limit: 50))
        #expect(!timeline.items.isEmpty)
        #expect(timeline == (try ContactHistory().timeline(of: contact, in: memory, page: PageRequest(limit: 50))))
        #expect(try ContactHistory().lastContacted(contact, in: store) == (try ContactHistory().lastContacted(contact, in: memory)))
        let deal = try #require(summary.aWonDeal)
        let state = try DealStates().state(of: deal, in: store)
        let stateInMemory = try DealStates().state(of: deal, in: memory)
        #expect(state != nil && state == stateInMemory)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let pipeline = try DealStates().summary(of: summary.pipelines[0], in: store, now: now)
        let pipelineInMemory = try DealStates().summary(of: summary.pipelines[0], in: memory, now: now)
        #expect(pipeline != nil && pipeline == pipelineInMemory)
        let audit = try AuditTrail().entries(AuditQuery(.all), in: store, page: PageRequest(limit: 100))
        #expect(audit.items.count == 100)
        #expect(audit == (try AuditTrail().entries(AuditQuery(.all), in: memory, page: PageRequest(limit: 100))))

        // Exactly once: a runner started afresh (another process) finds nothing to do.
        let again = try database.store(schema: schema)
        try await again.prepareForReading()
        let before = try everything(again)
        #expect(try await ProjectionRunner(log: again, storage: again, projections: Self.projections, registry: .crm).catchUp() == head)
        #expect(try everything(again) == before)
        await again.close()
        await store.close()
        await database.drop(schema)
    }
}

/// Appends each position it applies to one list: an event applied twice, or
/// a batch lost, shows in the list.
private struct Sequence: Projection {
    let name = "sequence"
    let version = 1
    let interest = ProjectionInterest.everything

    func apply(_ event: RecordedEvent, decoded: (any Event)?, to model: inout ReadModelContext) throws {
        let seen = try model.value(forKey: "seen").map { String(decoding: $0, as: UTF8.self) + "," } ?? ""
        model.setValue(Array((seen + "\(event.position)").utf8), forKey: "seen")
    }
}

/// A store whose first checkpoint read is handed over only once the stored
/// checkpoint has become `waitingFor` (polled for up to 10 s): a runner that
/// read its checkpoint just before another runner committed past it.
private final class CheckpointReadEarly: ReadModelStorage {
    let store: PostgresEventStore
    let waitingFor: ProjectionCheckpoint
    private let first = Mutex(true)

    init(_ store: PostgresEventStore, waitingFor: ProjectionCheckpoint) {
        self.store = store
        self.waitingFor = waitingFor
    }

    func checkpoint(of projection: String) throws(EventStoreError) -> ProjectionCheckpoint? {
        let checkpoint = try store.checkpoint(of: projection)
        if first.withLock({ (isFirst: inout Bool) -> Bool in defer { isFirst = false }; return isFirst }) {
            let deadline = Date().addingTimeInterval(10)
            while try store.checkpoint(of: projection) != waitingFor, Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        }
        return checkpoint
    }

    func read<R>(_ projection: String, _ body: (any ReadModelReader) throws(EventStoreError) -> R) throws(EventStoreError) -> R {
        try store.read(projection, body)
    }

    func commit(_ changes: [ReadModelChanges]) async throws(EventStoreError) { try await store.commit(changes) }

    func prepareForReading() async throws(EventStoreError) { try await store.prepareForReading() }
}
