import Foundation
import RapportEventLog
import RapportPostgres
import Synchronization
import Testing

/// Collects a subscription's events in the background.
final class Collector: Sendable {
    private let events = Mutex<[RecordedEvent]>([])
    private let failure = Mutex<EventStoreError?>(nil)
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    init(_ subscription: PostgresLogSubscription) {
        let task = Task { [self] in
            do throws(EventStoreError) {
                for try await event in subscription { self.events.withLock { $0.append(event) } }
            } catch {
                self.failure.withLock { $0 = error }
            }
        }
        self.task.withLock { $0 = task }
    }

    var received: [RecordedEvent] { events.withLock { $0 } }
    var error: EventStoreError? { failure.withLock { $0 } }

    /// Waits until `count` events arrived.
    func waitFor(_ count: Int, seconds: Double = 20) async throws {
        try await withTimeout(seconds: seconds, "receiving \(count) events") { [self] in
            while received.count < count { try await Task.sleep(for: .milliseconds(10)) }
        }
    }

    /// Cancels the subscription and waits for it to end.
    func stop() async {
        let task = self.task.withLock { $0 }
        task?.cancel()
        await task?.value
    }

    /// Waits for the subscription to end by itself.
    func finished(seconds: Double = 20) async throws {
        let task = self.task.withLock { $0 }
        try await withTimeout(seconds: seconds, "the subscription ending") { await task?.value }
    }
}

@Suite("PostgreSQL subscriptions", .enabled(if: PostgresTestEnvironment.shouldRun, PostgresTestEnvironment.skipMessage))
struct PostgresSubscriptionTests {
    @Test("a subscription reads what is stored, then is woken by NOTIFY for what comes")
    func wokenByNotify() async throws {
        let database = try TestDatabase.get()
        // Polling once a minute: only a notification can deliver within the test's time.
        let (store, schema) = try await database.freshStore("notify") { $0.pollInterval = .seconds(60) }
        let writer = try database.store(schema: schema)
        let stream = try StreamID("deal-1")
        try await writer.append([testEvent("Opened"), testEvent("Moved")], to: stream)

        let collector = Collector(store.subscribe(from: 1))
        try await collector.waitFor(2)
        // Give the listener time to be established before the next appends.
        try await Task.sleep(for: .milliseconds(500))
        for round in 0..<5 {
            try await writer.append([testEvent("Moved\(round)")], to: stream)
            try await collector.waitFor(3 + round, seconds: 15)
        }
        #expect(collector.received.map(\.position.rawValue) == Array(1...7))
        #expect(collector.received.map(\.streamVersion) == Array(1...7))
        await collector.stop()
        await writer.close()
        await store.close()
        await database.drop(schema)
    }

    @Test("without notifications, polling delivers")
    func pollingFallback() async throws {
        let database = try TestDatabase.get()
        let (store, schema) = try await database.freshStore("poll") {
            $0.listensForNotifications = false
            $0.pollInterval = .milliseconds(100)
        }
        let writer = try database.store(schema: schema)
        let collector = Collector(store.subscribe(from: 1))
        try await Task.sleep(for: .milliseconds(300))
        try await writer.append([testEvent(), testEvent()], to: try StreamID("poll-1"))
        try await collector.waitFor(2, seconds: 10)
        try await writer.append([testEvent()], to: try StreamID("poll-2"))
        try await collector.waitFor(3, seconds: 10)
        #expect(collector.received.map(\.position.rawValue) == [1, 2, 3])
        await collector.stop()
        await writer.close()
        await store.close()
        await database.drop(schema)
    }

    @Test("a subscription starts where asked, filters, and pages through a long log")
    func fromPositionWithFilter() async throws {
        let database = try TestDatabase.get()
        let (store, schema) = try await database.freshStore("filter") { $0.pollInterval = .milliseconds(200) }
        let hot = try Tag("deal:hot")
        var expected: [UInt64] = []
        for index in 0..<300 {
            let tagged = index % 4 == 0
            let type = index % 3 == 0 ? "Won" : "Noted"
            try await store.append([testEvent(type, tags: tagged ? [hot] : [])], to: try StreamID("deal-\(index % 9)"))
            if tagged && type == "Won" && index + 1 >= 50 { expected.append(UInt64(index + 1)) }
        }
        let collector = Collector(store.subscribe(from: 50, filter: LogFilter(types: ["Won"], tags: [hot]), pageSize: 7))
        try await collector.waitFor(expected.count)
        // Later matches arrive; later non-matches do not.
        try await store.append([testEvent("Noted", tags: [hot])], to: try StreamID("deal-1"))
        try await store.append([testEvent("Won", tags: [hot])], to: try StreamID("deal-1"))
        expected.append(302)
        try await collector.waitFor(expected.count)
        try await Task.sleep(for: .milliseconds(300))
        #expect(collector.received.map(\.position.rawValue) == expected)
        await collector.stop()
        await store.close()
        await database.drop(schema)
    }

    @Test("closing the store ends its subscriptions with storeClosed; cancelling ends one quietly")
    func closeAndCancel() async throws {
        let database = try TestDatabase.get()
        let (store, schema) = try await database.freshStore("close") { $0.pollInterval = .seconds(60) }
        try await store.append([testEvent()], to: try StreamID("c-1"))

        let cancelled = Collector(store.subscribe(from: 1))
        try await cancelled.waitFor(1)
        await cancelled.stop()
        #expect(cancelled.error == nil)

        let waiting = Collector(store.subscribe(from: 1))
        try await waiting.waitFor(1)
        try await Task.sleep(for: .milliseconds(200))
        await store.close()
        try await waiting.finished(seconds: 10)
        #expect(waiting.error == .storeClosed)
        await database.drop(schema)
    }

    @Test("a subscription with LogFilter(through:) delivers up to that position and ends, also when it had to wait for it")
    func subscriptionEndsAtThrough() async throws {
        let database = try TestDatabase.get()
        let (store, schema) = try await database.freshStore("subthrough")
        for index in 0..<5 { try await store.append([testEvent()], to: try StreamID("s-\(index)")) }
        // Through a stored position: what the read gives, then the end.
        let early = try await withTimeout(seconds: 20, "a subscription through position 2 ending") {
            var seen: [UInt64] = []
            for try await event in store.subscribe(from: 1, filter: LogFilter(through: 2)) { seen.append(event.position.rawValue) }
            return seen
        }
        #expect(early == [1, 2])
        #expect(try await store.readLog(from: 1, filter: LogFilter(through: 2), limit: 100).map(\.position.rawValue) == early)
        // Through a position not yet appended, with a page smaller than the range: it waits for it, then ends.
        let following = Task {
            var seen: [UInt64] = []
            for try await event in store.subscribe(from: 4, filter: LogFilter(through: 7), pageSize: 2) { seen.append(event.position.rawValue) }
            return seen
        }
        for index in 5..<9 { try await store.append([testEvent()], to: try StreamID("s-\(index)")) }
        let late = try await withTimeout(seconds: 20, "a subscription through position 7 ending") { try await following.value }
        #expect(late == [4, 5, 6, 7])
        await store.close()
        await database.drop(schema)
    }
}
