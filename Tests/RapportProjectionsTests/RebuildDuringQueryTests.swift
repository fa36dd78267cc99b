import Foundation
import RapportCore
import RapportEventLog
import RapportProjections
import RapportReplay
import Testing

/// A query that looked at a read model's checkpoint, and then read the read
/// model after it had changed (a runner rebuilt it, or committed more):
/// `checkpoint(of:)` answers from the state looked at, reads meet the other
/// one. The log is the store's, so the as-of queries that take a log can use both.
private final class ChangedAfterTheLook: ReadModelStorage, EventLogReader {
    let log: any EventLogReader
    let looked: any ReadModelStorage
    let rebuilt: any ReadModelStorage

    init(log: any EventLogReader, looked: any ReadModelStorage, then rebuilt: any ReadModelStorage) {
        self.log = log
        self.looked = looked
        self.rebuilt = rebuilt
    }

    func checkpoint(of projection: String) throws(EventStoreError) -> ProjectionCheckpoint? { try looked.checkpoint(of: projection) }

    func read<R>(_ projection: String, _ body: (any ReadModelReader) throws(EventStoreError) -> R) throws(EventStoreError) -> R {
        try rebuilt.read(projection, body)
    }

    func commit(_ changes: [ReadModelChanges]) async throws(EventStoreError) { try await rebuilt.commit(changes) }

    func readLog(from position: LogPosition, filter: LogFilter, limit: Int) async throws(EventStoreError) -> [RecordedEvent] {
        try await log.readLog(from: position, filter: filter, limit: limit)
    }

    func headPosition() async throws(EventStoreError) -> LogPosition { try await log.headPosition() }

    func event(id: EventID) async throws(EventStoreError) -> RecordedEvent? { try await log.event(id: id) }

    func position(asOf date: Date) async throws(EventStoreError) -> LogPosition { try await log.position(asOf: date) }
}

struct RebuildDuringQueryTests {
    let states = DealStates()
    let audit = AuditTrail()

    /// Whether `error` is notCaughtUp for `projection`, reached `reached`, asked `asked`.
    func isBehind(_ error: any Error, _ projection: String, reached: LogPosition, asked: LogPosition) -> Bool {
        guard case ProjectionQueryError.notCaughtUp(let name, let at, let position) = error else { return false }
        return name == projection && at == reached && position == asked
    }

    @Test func aQueryThatMeetsARebuildSaysTheReadModelIsBehindInsteadOfAnsweringFromPart() async throws {
        let s = DealScenario()
        let w = try World()
        try await s.run(w)
        let head = try await w.head()
        // A rebuild whose first batch (the pipeline's definition) has committed: a reset, then one event.
        let rebuilding = InMemoryReadModelStorage()
        let runner = try ProjectionRunner(log: w.store, storage: rebuilding, projections: World.projections, registry: .crm)
        #expect(try await runner.catchUp(upTo: 1) == 1)
        let storage = ChangedAfterTheLook(log: w.store, looked: w.live, then: rebuilding)
        #expect(try storage.checkpoint(of: states.name)?.position == head, "the query looked at a read model that had reached the head")

        // Each answer would come from the one event the rebuild has: no deal, no pipeline, one audit entry.
        #expect { try states.state(of: s.d1, asOf: head, in: storage) } throws: { isBehind($0, states.name, reached: 1, asked: head) }
        #expect { try states.summary(of: s.sales, asOf: head, in: storage, now: day(40)) } throws: {
            isBehind($0, states.name, reached: 1, asked: head)
        }
        #expect { try audit.entries(AuditQuery(.all, positions: 1...head), in: storage) } throws: {
            isBehind($0, audit.name, reached: 1, asked: head)
        }
        // Without a range, the trail answers up to the checkpoint of the state it read.
        #expect(try audit.entries(.all, in: storage).items.map(\.position) == [1])
        // A later page of a query whose first page answered up to the head: behind it, not the end.
        let first = try audit.entries(.all, in: w.live, page: PageRequest(limit: 2))
        let next = try #require(first.continuation)
        #expect { try audit.entries(.all, in: rebuilding, page: PageRequest(limit: 2, after: next)) } throws: {
            isBehind($0, audit.name, reached: 1, asked: head)
        }

        // The queries that take a log answer from the log instead.
        for deal in [s.d1, s.d3, s.d5] {
            #expect(try await states.state(of: deal, asOf: head, from: storage) == states.state(of: deal, in: w.live))
        }
        #expect(try await states.summary(of: s.sales, asOf: head, from: storage, now: day(40))
                == states.summary(of: s.sales, in: w.live, now: day(40)))
        // Appends after the first page do not lengthen the query: its pages answer up to where the first did.
        try await w.run(.changeAmount(eur("1")), on: s.d5, context(anna, day: 41))
        var all = first.items
        var token: PageToken? = next
        while let after = token {
            let page = try audit.entries(.all, in: w.live, page: PageRequest(limit: 2, after: after))
            all += page.items
            token = page.continuation
        }
        #expect(all.map(\.position.rawValue) == Array(1...head.rawValue))
        #expect(try audit.entries(.all, in: w.live, page: PageRequest(limit: 1_000)).items.last?.position == LogPosition(head.rawValue + 1))
    }

    /// Verification reads the checkpoint in the read that looks past it: a runner that commits
    /// between a look at the checkpoint and that read is not an entry past the checkpoint.
    @Test func verifyingATrailThatMovesOnMeanwhileFindsNothingWrong() async throws {
        let s = DealScenario()
        let w = try World()
        try await s.run(w)
        let behind = InMemoryReadModelStorage()
        let runner = try ProjectionRunner(log: w.store, storage: behind, projections: [audit], registry: .crm)
        #expect(try await runner.catchUp(upTo: 3) == 3)
        // The checkpoint looked at is 3; the read meets the trail caught up to the head.
        let storage = ChangedAfterTheLook(log: w.store, looked: behind, then: w.live)
        let report = try await audit.verify(in: storage, against: w.store)
        #expect(report.problem == nil, "\(report)")
        #expect(report.checkpoint == (try await w.head()))
    }

    /// A timeline's later page reads older entries: a rebuild that has not reached them yet
    /// would return some of them and end the timeline there, as if there were no more.
    @Test func aTimelinePageThatMeetsARebuildSaysTheHistoryIsBehind() async throws {
        let s = try ContactScenario()
        try await s.build()
        let first = try s.history.timeline(of: s.ada, in: s.world.live, page: PageRequest(limit: 1))
        let next = try #require(first.continuation)
        let newest = try #require(first.items.first?.position)
        let rebuilding = InMemoryReadModelStorage()
        let runner = try ProjectionRunner(log: s.world.store, storage: rebuilding, projections: [s.history], registry: .crm)
        #expect(try await runner.catchUp(upTo: 3) == 3)
        #expect { try s.history.timeline(of: s.ada, in: rebuilding, page: PageRequest(limit: 1_000, after: next)) } throws: {
            isBehind($0, s.history.name, reached: 3, asked: LogPosition(newest.rawValue - 1))
        }
        // Caught up, the same page is the rest of the timeline.
        try await runner.catchUp()
        let rest = try s.history.timeline(of: s.ada, in: rebuilding, page: PageRequest(limit: 1_000, after: next))
        #expect(rest.items == (try s.timeline(s.ada)).dropFirst().map { $0 } && rest.continuation == nil)
    }
}
