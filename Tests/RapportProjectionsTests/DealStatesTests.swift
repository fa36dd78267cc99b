import Foundation
import RapportCore
import RapportEventLog
import RapportLMDB
import RapportProjections
import RapportReplay
import Testing

/// Five deals in the sales pipeline (probabilities: qualification 0.1, proposal 0.4, negotiation 0.7):
///
/// | deal | owner | amount | moves (day: stage) |
/// |------|-------|--------|--------------------|
/// | d1 | anna | 1000 | 0 qualification, 2 proposal, 5 negotiation, 10 won (final 1200) |
/// | d2 | anna | 2000 | 1 qualification, 3 proposal, 6 lost |
/// | d3 | boris | 3000 | 2 qualification, 4 negotiation, 8 proposal (back), 22 won (final 3000) |
/// | d4 | boris | 500 | 3 qualification |
/// | d5 | anna | 4000 | 5 qualification, 30 proposal |
struct DealScenario {
    let sales = PipelineID()
    let d1 = DealID(), d2 = DealID(), d3 = DealID(), d4 = DealID(), d5 = DealID()

    /// The commands in order; `steps(upTo:)` runs a prefix (for as-of checks).
    var steps: [(Repository) async throws -> Void] {
        let sales = sales, d1 = d1, d2 = d2, d3 = d3, d4 = d4, d5 = d5
        func open(_ deal: DealID, _ amount: String, _ owner: Principal, day n: Double) -> (Repository) async throws -> Void {
            { try await $0.openDeal(deal, title: "Deal \(amount)", pipeline: sales, amount: eur(amount), owner: owner.id, context: context(owner, day: n)) }
        }
        func move(_ deal: DealID, _ stage: String, _ who: Principal, day n: Double) -> (Repository) async throws -> Void {
            { try await $0.moveDeal(deal, toStage: stage, context: context(who, day: n)) }
        }
        return [
            { try await $0.execute(.define(name: "Sales", stages: salesStages), on: sales, context: context(root, day: 0)) },
            open(d1, "1000", anna, day: 0),
            open(d2, "2000", anna, day: 1),
            move(d1, "proposal", anna, day: 2),
            open(d3, "3000", boris, day: 2),
            open(d4, "500", boris, day: 3),
            move(d2, "proposal", anna, day: 3),
            move(d3, "negotiation", boris, day: 4),
            move(d1, "negotiation", anna, day: 5),
            open(d5, "4000", anna, day: 5),
            { try await $0.markDealLost(d2, reason: "no budget", context: context(anna, day: 6)) },
            move(d3, "proposal", boris, day: 8),                                                     // step 11: back
            { try await $0.markDealWon(d1, finalAmount: eur("1200"), context: context(anna, day: 10)) },
            { try await $0.markDealWon(d3, finalAmount: eur("3000"), context: context(boris, day: 22)) },
            move(d5, "proposal", anna, day: 30),
        ]
    }

    func run(_ world: World, steps count: Int? = nil) async throws {
        for step in steps.prefix(count ?? steps.count) {
            try await step(world.repository)
            try await world.runner.catchUp()
        }
    }
}

@Suite("Deal states")
struct DealStatesTests {
    let states = DealStates()

    @Test func currentStateAndStageHistory() async throws {
        let s = DealScenario()
        let w = try World()
        try await s.run(w)
        let d1 = try #require(try states.state(of: s.d1, in: w.live))
        #expect(d1.status == .won && d1.stage == "won" && d1.probability == 1 && d1.finalAmount == eur("1200") && d1.owner == "user:anna")
        #expect(d1.openedAt == day(0) && d1.closedAt == day(10))
        let d3 = try #require(try states.state(of: s.d3, in: w.live))
        #expect(d3.stageHistory.map(\.stage) == ["qualification", "negotiation", "proposal", "won"])
        #expect(d3.stageHistory.map(\.enteredAt) == [day(2), day(4), day(8), day(22)])
        #expect(d3.stageHistory.map(\.leftAt) == [day(4), day(8), day(22), nil])
        #expect(d3.stageHistory.map(\.movedBack) == [false, false, true, false] && d3.movesBack == 1)
        // Time in stage until day 40: qualification 2 days, negotiation 4, proposal 14, won 18 (still there).
        let dayLength: TimeInterval = 86_400
        let expectedTimes: [String: TimeInterval] = ["qualification": 2 * dayLength, "negotiation": 4 * dayLength, "proposal": 14 * dayLength, "won": 18 * dayLength]
        #expect(d3.timeInStages(until: day(40)) == expectedTimes)
        let d5 = try #require(try states.state(of: s.d5, in: w.live))
        #expect(d5.status == .open && d5.stage == "proposal" && d5.probability == dec("0.4") && d5.amount == eur("4000") && d5.lastMovedAt == day(30))
        // Later changes show.
        try await w.run(.changeAmount(eur("4500")), on: s.d5, context(anna, day: 31))
        try await w.run(.assignOwner("user:boris"), on: s.d5, context(boris, day: 31))
        try await w.run(.changeExpectedCloseDate(to: day(60)), on: s.d5, context(boris, day: 31))
        let changed = try #require(try states.state(of: s.d5, in: w.live))
        #expect(changed.amount == eur("4500") && changed.owner == "user:boris" && changed.expectedCloseDate == day(60))
        // A changed stage probability applies to the deals in that stage.
        try await w.run(.changeStageProbability("proposal", to: dec("0.5")), on: s.sales, context(root, day: 32))
        #expect(try states.state(of: s.d5, in: w.live)?.probability == dec("0.5"))
        #expect(try states.state(of: DealID(), in: w.live) == nil)
        try await expectLiveEqualsRebuilt(w)
    }

    @Test func pipelineSummaryFiguresByHand() async throws {
        let s = DealScenario()
        let w = try World()
        try await s.run(w)
        let summary = try #require(try states.summary(of: s.sales, in: w.live, now: day(40), staleAfterDays: 14))
        #expect(summary.name == "Sales" && summary.stages.map(\.key) == ["qualification", "proposal", "negotiation", "won", "lost"])

        // Open deals: d4 (500 in qualification), d5 (4000 in proposal).
        // total = 500 + 4000 = 4500; weighted = 500 × 0.1 + 4000 × 0.4 = 50 + 1600 = 1650.
        #expect(summary.open.count == 2 && summary.open.total == ["EUR": 4500] && summary.open.weighted == ["EUR": 1650])
        // Won d1, d3; lost d2: win rate = 2 / (2 + 1) = 0.666…
        #expect(summary.results.won == 2 && summary.results.lost == 1 && summary.results.winRate == 2.0 / 3.0)
        #expect(summary.results.wonAmount == ["EUR": 4200])  // 1200 + 3000
        // Sales cycle of won deals: d1 day 0 → 10 = 10 days, d3 day 2 → 22 = 20 days; average (10 + 20) / 2 = 15 days.
        let cycle = try #require(summary.results.averageSalesCycle)
        #expect(cycle == 15 * 86_400, "off by \(cycle - 15 * 86_400)")

        let stage = Dictionary(uniqueKeysWithValues: summary.stages.map { ($0.key, $0) })
        // Deals in each stage now: qualification d4 (500 × 0.1 = 50), proposal d5 (4000 × 0.4 = 1600),
        // negotiation none, won d1 + d3 (final 1200 + 3000 = 4200, × 1), lost d2 (2000 × 0 = 0).
        #expect(stage["qualification"]!.deals.count == 1 && stage["qualification"]!.deals.weighted == ["EUR": 50])
        #expect(stage["proposal"]!.deals.total == ["EUR": 4000] && stage["proposal"]!.deals.weighted == ["EUR": 1600])
        #expect(stage["negotiation"]!.deals.count == 0)
        #expect(stage["won"]!.deals.count == 2 && stage["won"]!.deals.total == ["EUR": 4200] && stage["won"]!.deals.weighted == ["EUR": 4200])
        #expect(stage["lost"]!.deals.total == ["EUR": 2000] && stage["lost"]!.deals.weighted == ["EUR": 0])

        // Conversion = deals that went further (later open stage, or won) / deals that entered.
        // qualification: entered d1..d5 = 5; further: d1 (proposal), d2 (proposal), d3 (negotiation), d5 (proposal) = 4 → 0.8.
        #expect(stage["qualification"]!.entered == 5 && stage["qualification"]!.advanced == 4 && stage["qualification"]!.conversionRate == 0.8)
        // proposal: entered d1, d2, d3 (back), d5 = 4; further: d1 (negotiation), d3 (won) = 2 → 0.5 (d2 lost, d5 still there).
        #expect(stage["proposal"]!.entered == 4 && stage["proposal"]!.advanced == 2 && stage["proposal"]!.conversionRate == 0.5)
        // negotiation: entered d1, d3 = 2; further: d1 (won), d3 (won after moving back) = 2 → 1.0.
        #expect(stage["negotiation"]!.entered == 2 && stage["negotiation"]!.advanced == 2 && stage["negotiation"]!.conversionRate == 1.0)
        // Direct moves: q→p d1, d2, d5 = 3; q→n d3; p→n d1; n→won d1; p→lost d2; n→p d3; p→won d3.
        #expect(summary.transitions.map { "\($0.from)>\($0.to)=\($0.count)" } == [
            "negotiation>proposal=1", "negotiation>won=1", "proposal>lost=1", "proposal>negotiation=1", "proposal>won=1",
            "qualification>negotiation=1", "qualification>proposal=3",
        ])

        // By owner. Anna: open d5 (4000, weighted 1600); won d1, lost d2 → 1 / 2 = 0.5; cycle 10 days.
        // Boris: open d4 (500, weighted 50); won d3 → 1 / 1 = 1.0; cycle 20 days.
        #expect(summary.owners.map(\.owner) == ["user:anna", "user:boris"])
        let annaFigures = summary.owners[0], borisFigures = summary.owners[1]
        #expect(annaFigures.open.count == 1 && annaFigures.open.total == ["EUR": 4000] && annaFigures.open.weighted == ["EUR": 1600])
        #expect(annaFigures.results.winRate == 0.5 && annaFigures.results.averageSalesCycle == 10 * 86_400)
        #expect(borisFigures.open.weighted == ["EUR": 50] && borisFigures.results.winRate == 1.0 && borisFigures.results.averageSalesCycle == 20 * 86_400)

        // No movement for 14 days as of day 40 (entered their stage before day 26): d4 (day 3); d5 moved on day 30.
        #expect(summary.stale.map(\.id) == [s.d4])
        #expect(try states.summary(of: s.sales, in: w.live, now: day(50), staleAfterDays: 14)?.stale.map(\.id) == [s.d4, s.d5])
        #expect(try states.summary(of: PipelineID(), in: w.live, now: day(40)) == nil)
        #expect(try states.pipelines(in: w.live).map(\.id) == [s.sales] && states.pipelines(in: w.live).map(\.name) == ["Sales"])
        // A read model never built is refused, not read as "no pipelines".
        #expect(throws: ProjectionQueryError.notBuilt(projection: states.name)) { try states.pipelines(in: InMemoryReadModelStorage()) }
    }

    /// `staleAfterDays` from 0 (every open deal that entered its stage before
    /// `now`) to counts past the calendar (none; the cut-off trapped in a
    /// conversion), in the three summary forms; a negative count is refused.
    @Test func staleAfterAnyCountOfDaysFromZero() async throws {
        let s = DealScenario()
        let w = try World()
        try await s.run(w)
        let head = try await w.head()
        let expected: [(days: Int, stale: [DealID])] = [(0, [s.d4, s.d5]), (9, [s.d4, s.d5]), (10, [s.d4]), (36_500, []), (.max, [])]
        for (days, stale) in expected {
            let now = try states.summary(of: s.sales, in: w.live, now: day(40), staleAfterDays: days)
            #expect(now?.stale.map(\.id) == stale, "\(days) days")
            let asOf = try states.summary(of: s.sales, asOf: head, in: w.live, now: day(40), staleAfterDays: days)
            #expect(asOf?.stale.map(\.id) == stale, "\(days) days, as of the head")
            let fromStore = try await states.summary(of: s.sales, asOf: head, from: w.store, now: day(40), staleAfterDays: days)
            #expect(fromStore?.stale.map(\.id) == stale, "\(days) days, built from the log")
        }
        for days in [-1, Int.min] {
            await #expect {
                _ = try await states.summary(of: s.sales, asOf: head, from: w.store, now: day(40), staleAfterDays: days)
            } throws: { error in
                guard case ProjectionQueryError.invalidArgument(let name, let reason) = error else { return false }
                return name == "staleAfterDays" && reason == "\(days) is negative; give 0 or more days"
            }
            #expect(refusedArgument { () throws(ProjectionQueryError) in _ = try states.summary(of: s.sales, in: w.live, now: day(40), staleAfterDays: days) }?.name == "staleAfterDays")
        }
    }

    @Test func asOfAPositionEqualsAFreshBuildOfThoseEventsOnly() async throws {
        let s = DealScenario()
        let full = try World()
        var ends: [LogPosition] = []
        for step in s.steps {
            try await step(full.repository)
            ends.append(try await full.head())
        }
        try await full.runner.catchUp()
        for count in [1, 5, 11, 12, 13] {
            let position = ends[count - 1]
            // The same commands, only the first `count`, in a store of their own.
            let partial = try World()
            try await s.run(partial, steps: count)
            #expect(try await partial.head() == position)
            let past = try await states.readModel(asOf: position, from: full.store)
            #expect(try snapshot(past, states.name) == snapshot(partial.live, states.name), "as of \(position)")
            #expect(try past.checkpoint(of: states.name)?.position == position)
            #expect(try await states.summary(of: s.sales, asOf: position, from: full.store, now: day(40))
                    == states.summary(of: s.sales, in: partial.live, now: day(40)))
            // One deal from its own stream and its pipeline's: the same state, nil before it opened.
            for deal in [s.d1, s.d2, s.d3, s.d4, s.d5] {
                #expect(try await states.state(of: deal, asOf: position, fromStreamsIn: full.store) == states.state(of: deal, in: partial.live),
                        "deal \(deal) as of \(position)")
                // From the versions in the full read model.
                #expect(try states.state(of: deal, asOf: position, in: full.live) == states.state(of: deal, in: partial.live),
                        "stored deal \(deal) as of \(position)")
            }
            #expect(try states.summary(of: s.sales, asOf: position, in: full.live, now: day(40))
                    == states.summary(of: s.sales, in: partial.live, now: day(40)), "stored summary as of \(position)")
        }
        // A read model that has not reached the position says so, rather than answer from too little.
        let ahead = LogPosition(try await full.head().rawValue + 1)
        #expect(throws: ProjectionQueryError.self) { try states.summary(of: s.sales, asOf: ahead, in: full.live, now: day(40)) }
        #expect(throws: ProjectionQueryError.notBuilt(projection: states.name)) {
            try states.state(of: s.d1, asOf: ends[0], in: InMemoryReadModelStorage())
        }
        // After 12 steps (d3 moved back, before anyone won): by hand.
        let then = try #require(try await states.summary(of: s.sales, asOf: ends[11], from: full.store, now: day(9)))
        #expect(then.results.won == 0 && then.results.lost == 1 && then.results.winRate == 0)
        // Open: d1 1000 × 0.7 + d3 3000 × 0.4 + d4 500 × 0.1 + d5 4000 × 0.1 = 700 + 1200 + 50 + 400 = 2350.
        #expect(then.open.count == 4 && then.open.total == ["EUR": 8500] && then.open.weighted == ["EUR": 2350])
        let d3Then = try #require(try await states.state(of: s.d3, asOf: ends[11], from: full.store))
        #expect(d3Then.stage == "proposal" && d3Then.status == .open && d3Then.movesBack == 1)
        #expect(try states.state(of: s.d3, in: full.live)?.status == .won)
        // As of a time: the position of the last event recorded then.
        let events = try await full.store.readLog(from: ends[11], filter: .all, limit: 1)
        let byTime = try await states.readModel(asOf: events[0].recordedAt, from: full.store)
        let byPosition = try await states.readModel(asOf: try await full.store.position(asOf: events[0].recordedAt), from: full.store)
        #expect(try snapshot(byTime, states.name) == snapshot(byPosition, states.name))
        #expect(try byTime.checkpoint(of: states.name)!.position >= ends[11])
    }

    @Test func theProjectionsRunOnLMDBToo() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rapport-projections-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try LMDBEventStore(path: path)
        let lmdb = try World(store: store, live: store)  // the log and the read models in the same LMDB store
        let s = DealScenario()
        try await s.run(lmdb)
        let ada = ContactID()
        try await lmdb.run(.create(name: try PersonName(given: "Ada", family: "L"), owner: "user:anna"), on: ada, context(anna, day: 1))
        try await lmdb.run(.logCall(.inbound, duration: 60, links: [EntityRef(ada), EntityRef(s.d1)]), on: ActivityID(), context(anna, .phone, day: 3))
        // Same read models as an in-memory build of the same log, key for key.
        try await expectLiveEqualsRebuilt(lmdb)
        let summary = try #require(try states.summary(of: s.sales, in: store, now: day(40), staleAfterDays: 14))
        #expect(summary.open.weighted == ["EUR": 1650] && summary.results.winRate == 2.0 / 3.0 && summary.stale.map(\.id) == [s.d4])
        // As of a past position, from the store's own read model (a seek per deal) and from a fresh build: the same.
        let middle = LogPosition(try await store.headPosition().rawValue / 2)
        let fresh = try await states.readModel(asOf: middle, from: store)
        #expect(try await states.summary(of: s.sales, asOf: middle, from: store, now: day(40))
                == states.summary(of: s.sales, in: fresh, now: day(40)))
        #expect(try await states.state(of: s.d3, asOf: middle, from: store) == states.state(of: s.d3, in: fresh))
        let audit = AuditTrail()
        let entries = try allPages(limit: 7) { try audit.entries(.all, in: store, page: $0) }
        #expect(entries.count == Int(try await store.headPosition().rawValue))
        #expect(try ContactHistory().timeline(of: ada, in: store).items.map(\.type) == ["ActivityLogged", "ContactCreated"])
        #expect(try ContactHistory().lastContacted(ada, in: store)?.at == day(3))
        await store.close()
    }
}
