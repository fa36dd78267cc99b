import Foundation
import InMemoryLogging
import Logging
import PostgresNIO
import RapportEventLog
@testable import RapportPostgres
import RapportTesting
import Synchronization
import Testing

@Suite("PostgreSQL schema and errors", .enabled(if: PostgresTestEnvironment.shouldRun, PostgresTestEnvironment.skipMessage))
struct PostgresStoreTests {
    @Test("an error inside the write statement fails the append and stores nothing")
    func aFailingWriteIsNeverReportedAsStored() async throws {
        let database = try TestDatabase.get()
        let (store, schema) = try await database.freshStore("fail")
        defer { Task { await store.close(); await database.drop(schema) } }
        try await store.append([testEvent()], to: try StreamID("ok-1"))
        // A constraint that the next append's stream head violates, inside the
        // data-modifying CTE that writes the rows and the heads. Before the
        // writer read every statement's whole answer, this error went unseen,
        // COMMIT answered ROLLBACK, and the append was reported as stored.
        try await database.execute("ALTER TABLE \"\(schema)\".rapport_stream_heads ADD CONSTRAINT no_forbidden CHECK (stream_id <> 'forbidden-1')")
        await #expect(throws: EventStoreError.self) {
            try await store.append([testEvent()], to: try StreamID("forbidden-1"))
        }
        #expect(try await store.headPosition() == 1, "nothing of the failed append is stored")
        #expect(try await store.streamVersion(of: try StreamID("forbidden-1")) == 0)
        try await store.append([testEvent()], to: try StreamID("ok-1"))
        #expect(try await store.headPosition() == 2, "the store keeps working")
    }

    @Test("a grouped append the server refuses is retried one by one: only the request it cannot store fails")
    func aRefusedGroupFailsOnlyTheRequestTheServerCannotStore() async throws {
        let database = try TestDatabase.get()
        let (store, schema) = try await database.freshStore("groupfail")
        // A constraint only one request of each group violates: the server refuses the
        // whole transaction that carries it, as it would a name it cannot store.
        try await database.execute("ALTER TABLE \"\(schema)\".rapport_stream_heads ADD CONSTRAINT no_forbidden CHECK (stream_id NOT LIKE 'forbidden-%')")
        for round in 0..<3 {
            let outcomes = await withTaskGroup(of: (String, Result<AppendResult, EventStoreError>).self) { group in
                for index in 0..<16 {
                    let stream = index == 7 ? "forbidden-\(round)" : "plain-\(round)-\(index)"
                    group.addTask {
                        do throws(EventStoreError) {
                            return (stream, .success(try await store.append([testEvent()], to: try StreamID(stream))))
                        } catch {
                            return (stream, .failure(error))
                        }
                    }
                }
                var all: [(String, Result<AppendResult, EventStoreError>)] = []
                for await outcome in group { all.append(outcome) }
                return all
            }
            for (stream, outcome) in outcomes {
                switch outcome {
                case .success: #expect(!stream.hasPrefix("forbidden"), "round \(round): \(stream) was stored")
                case .failure(let error): #expect(stream.hasPrefix("forbidden"), "round \(round): \(stream) failed with \(error)")
                }
            }
            #expect(try await store.headPosition() == LogPosition(UInt64(15 * (round + 1))), "round \(round)")
        }
        #expect(try await store.verifyLog(progress: nil).isSound)
        await store.close()
        await database.drop(schema)
    }

    @Test("a group that times out waiting for the log lock fails as a whole; its requests are not tried one by one, each waiting again")
    func aTimedOutGroupIsNotRetriedOneByOne() async throws {
        let database = try TestDatabase.get()
        let schema = database.freshSchemaName("locktimeout")
        try await database.store(schema: schema).migrate()
        let client = TestDatabase.makeClient(database.server, maximumConnections: 4, settings: [("lock_timeout", "300ms")])
        let running = Task { await client.run() }
        let handler = InMemoryLogHandler()
        let store = try PostgresEventStore(
            client: client, configuration: PostgresEventStore.Configuration(schema: schema),
            logger: Logger(label: "test.locktimeout", factory: { _ in handler }))
        // Another session holds the log lock until the appends have all answered.
        let held = AsyncStream<Void>.makeStream()
        let release = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await database.client.withConnection { connection in
                try await connection.query("BEGIN", logger: testLogger)
                try await connection.query(PostgresQuery(unsafeSQL: "SELECT position FROM \"\(schema)\".rapport_log_head FOR UPDATE"), logger: testLogger)
                held.continuation.yield()
                for await _ in release.stream { break }
                try await connection.query("ROLLBACK", logger: testLogger)
            }
        }
        for await _ in held.stream { break }
        let outcomes = await withTaskGroup(of: Result<AppendResult, EventStoreError>.self) { group in
            for index in 0..<8 {
                group.addTask {
                    do throws(EventStoreError) { return .success(try await store.append([testEvent()], to: try StreamID("s-\(index)"))) } catch {
                        return .failure(error)
                    }
                }
            }
            var all: [Result<AppendResult, EventStoreError>] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        release.continuation.yield()
        try await holder.value
        #expect(outcomes.count == 8)
        for outcome in outcomes {
            guard case .failure(.storage(let message)) = outcome else { Issue.record("\(outcome)"); continue }
            #expect(message.contains("55P03"), "\(message)")
        }
        #expect(!handler.entries.contains { "\($0.message)".contains("one by one") }, "\(handler.entries.map(\.message))")
        #expect(try await store.headPosition() == 0)
        await store.close()
        running.cancel()
        await database.drop(schema)
    }

    @Test("a lock idle timeout PostgreSQL cannot take is refused when the store is made; a record size limit past 512 MiB is held to it")
    func configurationOutOfRange() async throws {
        let database = try TestDatabase.get()
        let schema = database.freshSchemaName("cfg")
        // .zero, a sub-millisecond one, past 32-bit milliseconds, and "for ever" (whose milliseconds overflow Int64).
        for timeout in [Duration.zero, .microseconds(999), .milliseconds(Int64(Int32.max) + 1), .seconds(Int64.max)] {
            #expect("lockIdleTimeout \(timeout)") {
                _ = try database.store(schema: schema) { $0.lockIdleTimeout = timeout }
            } throws: { error in
                guard case EventStoreError.storage(let message) = error else { return false }
                return message.contains("lockIdleTimeout is \(timeout)")
            }
        }
        for timeout in [Duration.milliseconds(1), PostgresEventStore.maximumLockIdleTimeout] {
            #expect(try database.store(schema: schema) { $0.lockIdleTimeout = timeout }.configuration.lockIdleTimeout == timeout)
        }
        let held = try database.store(schema: schema) { $0.limits.maximumRecordSize = 2 << 30 }
        #expect(held.limits.maximumRecordSize == PostgresEventStore.maximumRecordSize && held.configuration.limits.maximumRecordSize == 2 << 30)
        let kept = try database.store(schema: schema) { $0.limits.maximumRecordSize = 1 << 20 }
        #expect(kept.limits.maximumRecordSize == 1 << 20)
        for store in [held, kept] { await store.close() }
    }

    @Test("migrations are recorded, idempotent and keep the data")
    func migrationsAreIdempotent() async throws {
        let database = try TestDatabase.get()
        let schema = database.freshSchemaName("mig")
        let store = try database.store(schema: schema)
        #expect(try await store.schemaVersion() == 0)
        #expect(try await store.migrate() == [1, 2])
        #expect(try await store.schemaVersion() == PostgresEventStore.schemaVersion)
        try await store.append([testEvent(), testEvent()], to: try StreamID("kept-1"))

        #expect(try await store.migrate() == [], "a second run applies nothing")
        let again = try database.store(schema: schema)
        #expect(try await again.migrate() == [], "nor does a run from another store")
        #expect(try await database.scalar("SELECT count(*) FROM \"\(schema)\".rapport_schema_migrations") == 2)
        #expect(try await database.scalar("SELECT min(version) FROM \"\(schema)\".rapport_schema_migrations") == 1)
        #expect(try await again.headPosition() == 2, "the data is kept")
        #expect(try await again.readStream(try StreamID("kept-1"), from: 1, direction: .forward, limit: 10).count == 2)
        await store.close()
        await again.close()
        await database.drop(schema)
    }

    @Test("several stores migrating one new schema at once take turns")
    func concurrentMigrations() async throws {
        let database = try TestDatabase.get()
        let schema = database.freshSchemaName("migc")
        let stores = try (0..<4).map { _ in try database.store(schema: schema) }
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for store in stores { group.addTask { try await store.migrate() } }
            var all: [[Int]] = []
            for try await part in group { all.append(part) }
            return all
        }
        #expect(applied.filter { $0 == [1, 2] }.count == 1)
        #expect(applied.filter(\.isEmpty).count == 3)
        for store in stores { await store.close() }
        await database.drop(schema)
    }

    @Test("several stores migrating one new schema at once take turns also when the server's default isolation is REPEATABLE READ")
    func concurrentMigrationsUnderRepeatableReadDefault() async throws {
        let database = try TestDatabase.get()
        let client = TestDatabase.makeClient(database.server, maximumConnections: 8, defaultTransactionIsolation: "repeatable read")
        let running = Task { await client.run() }
        let schema = database.freshSchemaName("migrr")
        let stores = try (0..<4).map { _ in try database.store(schema: schema, client: client) }
        // Under REPEATABLE READ a migration that waited for the advisory lock kept the snapshot from
        // before the wait, did not see the schema the first one created, and failed creating it again.
        let outcomes = await withTaskGroup(of: Result<[Int], EventStoreError>.self) { group in
            for store in stores {
                group.addTask {
                    do throws(EventStoreError) { return .success(try await store.migrate()) } catch { return .failure(error) }
                }
            }
            var all: [Result<[Int], EventStoreError>] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        let applied = outcomes.compactMap { try? $0.get() }
        #expect(applied.count == 4, "\(outcomes)")
        #expect(applied.filter { $0 == [1, 2] }.count == 1)
        #expect(applied.filter(\.isEmpty).count == 3)
        for store in stores { await store.close() }
        running.cancel()
        await database.drop(schema)
    }

    @Test("a schema from a newer Rapport is refused")
    func newerSchemaIsRefused() async throws {
        let database = try TestDatabase.get()
        let (store, schema) = try await database.freshStore("newer")
        try await database.execute("INSERT INTO \"\(schema)\".rapport_schema_migrations (version, description) VALUES (999, 'from the future')")
        await #expect {
            try await store.migrate()
        } throws: { error in
            guard case .incompatibleStore(let message) = error as? EventStoreError else { return false }
            return message.contains("999")
        }
        await store.close()
        await database.drop(schema)
    }

    @Test("using a store before migrate() says so")
    func missingTables() async throws {
        let database = try TestDatabase.get()
        let store = try database.store(schema: database.freshSchemaName("none"))
        for operation in ["append", "read"] {
            await #expect {
                if operation == "append" {
                    try await store.append([testEvent()], to: try StreamID("x-1"))
                } else {
                    _ = try await store.readLog(from: 1, filter: .all, limit: 1)
                }
            } throws: { error in
                guard case .incompatibleStore(let message) = error as? EventStoreError else { return false }
                return message.contains("migrate()")
            }
        }
        await store.close()
    }

    @Test("schema names are checked")
    func schemaNames() throws {
        let database = try TestDatabase.get()
        for bad in ["", "Upper", "has-dash", "1digit", "pg_catalog", "quote\"d", String(repeating: "a", count: 49)] {
            #expect(throws: EventStoreError.self) { try database.store(schema: bad) }
        }
        _ = try database.store(schema: "crm_events_2")
    }

    /// A store whose client points at port 1 on loopback: nothing listens there,
    /// connections are refused at once; the client's pool retries with backoff,
    /// then gives up. Cancel the returned task (the client's run) at the end.
    static func storeOnUnreachableServer() throws -> (PostgresEventStore, Task<Void, Never>) {
        var configuration = PostgresClient.Configuration(host: "127.0.0.1", port: 1, username: "nobody", password: nil, database: "none", tls: .disable)
        configuration.options.connectTimeout = .seconds(1)
        let client = PostgresClient(configuration: configuration, backgroundLogger: testLogger)
        let running = Task { await client.run() }
        return (try PostgresEventStore(client: client, logger: testLogger), running)
    }

    @Test("an unreachable server is a storage error once the client gives up, not a crash or a hang",
          .timeLimit(.minutes(3)))
    func unreachableServer() async throws {
        _ = try TestDatabase.get()
        let (store, running) = try Self.storeOnUnreachableServer()
        async let read: EventStoreError? = {
            do throws(EventStoreError) { _ = try await store.headPosition(); return nil } catch { return error }
        }()
        await #expect {
            try await store.append([testEvent()], to: try StreamID("x-1"))
        } throws: { error in
            guard case .storage(let message) = error as? EventStoreError else { return false }
            return message.contains("cannot connect to PostgreSQL")
        }
        let readError = await read
        #expect(readError.map { if case .storage = $0 { true } else { false } } == true, "read: \(String(describing: readError))")
        await store.close()
        running.cancel()
    }

    @Test("a task cancelled while it waits for a reading connection stops waiting at once",
          .timeLimit(.minutes(1)))
    func cancelledWhileWaitingForAReadingConnection() async throws {
        _ = try TestDatabase.get()
        let (store, running) = try Self.storeOnUnreachableServer()
        let waiting = Task { () -> EventStoreError? in
            do throws(EventStoreError) { try await store.prepareForReading(); return nil } catch { return error }
        }
        try await Task.sleep(for: .milliseconds(200))
        waiting.cancel()
        // Without its own check the cancelled wait ran on (its sleeps end at once when
        // cancelled) until the 15 s deadline, then said no connection came; it says why it stopped.
        // (Not timed: the whole suite shares two threads.)
        let error = await waiting.value
        guard case .storage(let message) = error else {
            Issue.record("expected a storage error, got \(String(describing: error))")
            return
        }
        #expect(message.contains("cancelled"))
        await store.close()
        running.cancel()
    }

    @Test("an append whose connection is lost before COMMIT runs again on a new one; lost every time, it is a storage error and stores nothing",
          .timeLimit(.minutes(3)))
    func connectionLostMidAppend() async throws {
        let database = try TestDatabase.get()
        // A client of its own, so ending its connections disturbs no other test.
        let client = TestDatabase.makeClient(database.server, maximumConnections: 8)
        let running = Task { await client.run() }
        let schema = database.freshSchemaName("lost")
        let store = try database.store(schema: schema, client: client)
        try await store.migrate()

        /// Holds the log lock while an append runs, ending the session of every
        /// append transaction that waits for it (up to `times` of them, until the
        /// append returns), as a failover or an operator would; then lets go.
        /// When no waiting session was found, what the server's sessions were doing then.
        func sessions() async throws -> String {
            var rows: [String] = []
            let sql = "SELECT coalesce(state, '') || ' ' || coalesce(wait_event_type, '-') || '/' || coalesce(wait_event, '-') || ': ' || left(query, 100) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            for try await row in try await database.client.query(PostgresQuery(unsafeSQL: sql), logger: testLogger).decode(String.self) {
                rows.append(row)
            }
            return rows.joined(separator: "\n")
        }

        func appendWhileEndingSessions(times: Int) async throws -> (Result<AppendResult, EventStoreError>, Int) {
            try await database.client.withConnection { holder in
                try await holder.query("BEGIN", logger: testLogger)
                try await holder.query(PostgresQuery(unsafeSQL: "SELECT position FROM \"\(schema)\".rapport_log_head FOR UPDATE"), logger: testLogger)
                let finished = Mutex(false)
                let append = Task { () async -> Result<AppendResult, EventStoreError> in
                    defer { finished.withLock { $0 = true } }
                    do throws(EventStoreError) {
                        return .success(try await store.append([testEvent()], to: try StreamID("lost-1")))
                    } catch {
                        return .failure(error)
                    }
                }
                // On another connection: pg_stat_activity is a snapshot within a transaction.
                let waiting = """
                    SELECT count(pg_terminate_backend(pid))::bigint FROM pg_stat_activity
                    WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND query LIKE '%"\(schema)".rapport_log_head%'
                    """
                var ended = 0
                // Generous: on a loaded machine the writer may take seconds to
                // reach the lock (a new connection after the previous round).
                let deadline = ContinuousClock.now + .seconds(90)
                while ended < times && !finished.withLock({ $0 }) && ContinuousClock.now < deadline {
                    ended += Int(try await database.scalar(waiting))
                    try await Task.sleep(for: .milliseconds(5))
                }
                if ended == 0 { Issue.record("no append was seen waiting for the log lock; sessions:\n\(try await sessions())") }
                try await holder.query("ROLLBACK", logger: testLogger)
                return (await append.value, ended)
            }
        }

        // Lost once: the writer runs the transaction again and the append is stored once.
        let (once, endedOnce) = try await appendWhileEndingSessions(times: 1)
        #expect(endedOnce == 1)
        #expect(try once.get().positions == 1...1)

        // Lost at every attempt: a storage error, and nothing of it is stored.
        let (always, endedAlways) = try await appendWhileEndingSessions(times: 100)
        #expect(endedAlways >= 1)
        guard case .failure(.storage(let message)) = always else {
            Issue.record("expected a storage error, got \(always)")
            return
        }
        #expect(message.contains("PostgreSQL"))
        #expect(try await store.headPosition() == 1, "nothing of the failed append was stored")

        // The store goes on.
        let after = try await store.append([testEvent()], to: try StreamID("lost-1"), expecting: .exactly(1))
        #expect(after.positions == 2...2)
        #expect(try await store.verify() == 2)
        await store.close()
        running.cancel()
        await database.drop(schema)
    }

    @Test("stream and tag links in stored records point where the in-memory store's do")
    func recordLinks() async throws {
        let database = try TestDatabase.get()
        let (store, schema) = try await database.freshStore("links")
        let streams = try (0..<3).map { try StreamID("link-\($0)") }
        let tags = try (0..<3).map { try Tag("t:\($0)") }
        var random = SplitMix64(seed: 7)
        for _ in 0..<120 {
            let stream = streams[Int(random.next() % 3)]
            let count = Int(random.next() % 3) + 1
            let events = (0..<count).map { _ in testEvent(tags: tags.filter { _ in random.next() % 2 == 0 }) }
            try await store.append(events, to: stream)
        }
        // Recompute every link from the log itself.
        let log = try await store.readLog(from: 1, filter: .all, limit: 10_000)
        var streamPositions: [StreamID: [UInt64]] = [:]
        var tagPositions: [Tag: [UInt64]] = [:]
        for event in log {
            let bytes = try await rawRecord(database, schema: schema, position: event.position)
            try bytes.withUnsafeBytes { raw in
                let view = try RecordView(validating: raw, at: event.position)
                var positions = streamPositions[event.streamID, default: []]
                let version = UInt64(positions.count + 1)
                #expect(view.streamVersion == version)
                #expect(view.previousInStream.rawValue == (positions.last ?? 0))
                let skip = version & (version - 1)
                #expect(view.skipInStream.rawValue == (skip == 0 ? 0 : positions[Int(skip - 1)]))
                positions.append(event.position.rawValue)
                streamPositions[event.streamID] = positions
                for tag in event.tags {
                    var tagged = tagPositions[tag, default: []]
                    let number = UInt64(tagged.count + 1)
                    let link = try #require(view.tagLink(for: tag))
                    #expect(link.previous == (tagged.last ?? 0))
                    let tagSkip = number & (number - 1)
                    #expect(link.skip == (tagSkip == 0 ? 0 : tagged[Int(tagSkip - 1)]))
                    tagged.append(event.position.rawValue)
                    tagPositions[tag] = tagged
                }
            }
        }
        #expect(try await store.verify() == LogPosition(UInt64(log.count)))
        await store.close()
        await database.drop(schema)
    }

    @Test("an append larger than one INSERT statement is stored whole, in one transaction")
    func largeAppend() async throws {
        let database = try TestDatabase.get()
        let (store, schema) = try await database.freshStore("large")
        let even = try Tag("parity:even")
        let events = (0..<12_345).map { index in testEvent(tags: index % 2 == 0 ? [even] : [], payload: "{\"n\":\(index)}") }
        let result = try await store.append(events, to: try StreamID("bulk-1"), expecting: .noStream)
        #expect(result.positions == 1...12_345)
        #expect(result.streamVersions[try StreamID("bulk-1")] == 12_345)
        #expect(try await store.verify() == 12_345)
        let tagged = try await store.readLog(from: 12_000, filter: LogFilter(tags: [even]), limit: 1_000)
        #expect(tagged.map(\.position.rawValue) == Array(stride(from: 12_001, through: 12_345, by: 2)))
        let commits = try await database.scalar("SELECT count(DISTINCT xmin::text) FROM \"\(schema)\".rapport_events")
        #expect(commits == 1, "every statement of the append ran in one transaction")
        await store.close()
        await database.drop(schema)
    }

    @Test("an INSERT statement ends before its records pass the byte limit as well as at 5,000 events; a larger record goes alone")
    func statementsSplitByBytes() {
        let sizes = [400, 400, 400, 5_000, 10]
        #expect(RowWriter.statementEnd(from: 0, recordSizes: sizes, bytesPerStatement: 1_000) == 2)
        #expect(RowWriter.statementEnd(from: 2, recordSizes: sizes, bytesPerStatement: 1_000) == 3)
        #expect(RowWriter.statementEnd(from: 3, recordSizes: sizes, bytesPerStatement: 1_000) == 4)
        #expect(RowWriter.statementEnd(from: 4, recordSizes: sizes, bytesPerStatement: 1_000) == 5)
        #expect(RowWriter.statementEnd(from: 0, recordSizes: Array(repeating: 1, count: 12_000), bytesPerStatement: 1 << 20) == 5_000)
        // 5,000 records of 4 MB (the default maximum record size) would be a 20 GB bind message;
        // PostgreSQL refuses 1 GB and more.
        let large = Array(repeating: 4 << 20, count: 5_000)
        let end = RowWriter.statementEnd(from: 0, recordSizes: large, bytesPerStatement: RowWriter.defaultBytesPerStatement)
        #expect(end > 0 && large[0..<end].reduce(0, +) < 1 << 30)
    }

    @Test("an append split into statements by bytes is stored whole, with its tags, in one transaction")
    func appendSplitByBytes() async throws {
        let database = try TestDatabase.get()
        let (store, schema) = try await database.freshStore("bytesplit") { $0.bytesPerStatement = 2_000 }
        let even = try Tag("parity:even")
        let filler = String(repeating: "x", count: 600)
        let events = (0..<40).map { index in testEvent(tags: index % 2 == 0 ? [even] : [], payload: "{\"n\":\(index),\"f\":\"\(filler)\"}") }
        let result = try await store.append(events, to: try StreamID("bulk-1"), expecting: .noStream)
        #expect(result.positions == 1...40)
        #expect(try await store.verify() == 40)
        let tagged = try await store.readLog(from: 1, filter: LogFilter(tags: [even]), limit: 100)
        #expect(tagged.map(\.position.rawValue) == Array(stride(from: 1, through: 40, by: 2)))
        let commits = try await database.scalar("SELECT count(DISTINCT xmin::text) FROM \"\(schema)\".rapport_events")
        #expect(commits == 1, "every statement of the append ran in one transaction")
        await store.close()
        await database.drop(schema)
    }

    @Test("verify() finds a changed byte")
    func verifyFindsTampering() async throws {
        let database = try TestDatabase.get()
        let (store, schema) = try await database.freshStore("tamper")
        for _ in 0..<5 { try await store.append([testEvent(payload: "{\"amount\":100}")], to: try StreamID("deal-9")) }
        #expect(try await store.verify() == 5)
        // Change one payload byte of record 3 behind the store's back ("1" to "9").
        try await database.execute("""
            UPDATE "\(schema)".rapport_events
            SET record = overlay(record placing '\\x39'::bytea from octet_length(record) - 2 for 1) WHERE position = 3
            """)
        await #expect {
            try await store.verify()
        } throws: { error in
            if case .corruptedRecord(position: 3, _) = error as? EventStoreError { true } else { false }
        }
        await store.close()
        await database.drop(schema)
    }

    @Test("a retry that meets a damaged stored record fails alone, not the appends grouped with it")
    func aDamagedRecordFailsOnlyTheRetryThatReadsIt() async throws {
        let database = try TestDatabase.get()
        let (store, schema) = try await database.freshStore("damagedretry")
        let first = testEvent(payload: "{\"amount\":100}")
        try await store.append([first], to: try StreamID("deal-1"))
        try await database.execute("""
            UPDATE "\(schema)".rapport_events
            SET record = overlay(record placing '\\x39'::bytea from octet_length(record) - 2 for 1) WHERE position = 1
            """)
        // 40 appends at once, one of them a retry of the damaged event's id.
        let outcomes = await withTaskGroup(of: (Bool, Result<AppendResult, EventStoreError>).self) { group in
            for index in 0..<40 {
                group.addTask {
                    do throws(EventStoreError) {
                        let event = index == 20 ? first : testEvent()
                        return (index == 20, .success(try await store.append([event], to: try StreamID("deal-\(index % 2 + 1)"))))
                    } catch {
                        return (index == 20, .failure(error))
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        for (isRetry, outcome) in outcomes {
            switch (isRetry, outcome) {
            case (true, .failure(.corruptedRecord(position: 1, _))), (false, .success): break
            default: Issue.record("\(isRetry ? "the retry" : "an append"): \(outcome)")
            }
        }
        #expect(try await store.headPosition() == 40)
        await store.close()
        await database.drop(schema)
    }

    @Test("appends from many tasks share transactions and each gets its own answer")
    func groupCommitAnswersEach() async throws {
        let database = try TestDatabase.get()
        let (store, schema) = try await database.freshStore("group")
        let stream = try StreamID("group-1")
        try await store.append([testEvent()], to: stream, expecting: .noStream)
        // 40 tasks at once: half with a stale expected version (refused), half with .any.
        let outcomes = await withTaskGroup(of: Result<AppendResult, EventStoreError>.self) { group in
            for index in 0..<40 {
                group.addTask {
                    do throws(EventStoreError) {
                        return .success(try await store.append([testEvent()], to: stream, expecting: index % 2 == 0 ? .noStream : .any))
                    } catch {
                        return .failure(error)
                    }
                }
            }
            var all: [Result<AppendResult, EventStoreError>] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        let refused = outcomes.filter { if case .failure(.wrongExpectedVersion) = $0 { true } else { false } }
        let stored = outcomes.compactMap { try? $0.get() }
        #expect(refused.count == 20)
        #expect(stored.count == 20)
        #expect(Set(stored.map(\.lastPosition)).count == 20, "each caller got its own position")
        #expect(try await store.streamVersion(of: stream) == 21)
        #expect(try await store.verify() == 21)
        await store.close()
        await database.drop(schema)
    }
}

func rawRecord(_ database: TestDatabase, schema: String, position: LogPosition) async throws -> [UInt8] {
    let query = PostgresQuery(unsafeSQL: "SELECT record FROM \"\(schema)\".rapport_events WHERE position = \(position.rawValue)")
    for try await record in try await database.client.query(query, logger: testLogger).decode(ByteBuffer.self) {
        return Array(buffer: record)
    }
    return []
}
