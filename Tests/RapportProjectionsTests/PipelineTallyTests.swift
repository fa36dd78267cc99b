import Foundation
@testable import RapportCore
import RapportEventLog
import RapportLMDB
@testable import RapportProjections
import RapportReplay
import Testing

/// The pipeline figures kept change by change (``PipelineTally``) against
/// a summary computed from scratch from every deal's state, now and as of
/// every position, on a random history that also adds, retires, reorders
/// and re-weighs stages while deals sit in them.
@Suite("Pipeline tallies")
struct PipelineTallyTests {
    let states = DealStates()

    enum Backend: String, CaseIterable, CustomStringConvertible {
        case inMemory, lmdb
        var description: String { rawValue }
    }

    @Test(arguments: Backend.allCases)
    func figuresKeptChangeByChangeEqualFiguresFromScratchAsOfEveryPosition(_ backend: Backend) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rapport-tally-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let lmdb = backend == .lmdb ? try LMDBEventStore(path: path) : nil
        let w = try lmdb.map { try World(store: $0, live: $0) } ?? World()
        var random = SplitMix64(seed: 7)
        let pipelines = [PipelineID(), PipelineID()]
        for pipeline in pipelines {
            try await w.repository.execute(.define(name: "Sales", stages: salesStages), on: pipeline, context: context(root, day: 0))
        }
        var deals: [DealID] = []
        let owners: [String?] = ["user:anna", "user:boris", nil]
        let currencies = ["EUR", "USD"]
        var extraStages = 0
        for step in 1...800 {
            let when = context(anna, day: Double(step) / 4)
            let pick = { (count: Int) in Int(random.next() % UInt64(count)) }
            let pipeline = pipelines[pick(2)]
            let current = try await w.repository.load(pipeline).state.stages
            let openStages = current.filter { $0.kind == .open }.map(\.key)
            let amount = try Money(amount: Decimal(Int(random.next() % 5_000)) / 10, currency: currencies[pick(2)])
            switch pick(20) {
            case 0...3 where deals.count < 60:
                let deal = DealID()
                deals.append(deal)
                _ = try? await w.repository.openDeal(
                    deal, title: "D\(step)", pipeline: pipeline, stage: openStages.randomElement(using: &random),
                    amount: pick(5) == 0 ? nil : amount, owner: owners[pick(3)], context: when)
            case 4...8:
                guard let deal = deals.randomElement(using: &random), let stage = openStages.randomElement(using: &random) else { continue }
                _ = try? await w.repository.moveDeal(deal, toStage: stage, context: when)
            case 9:
                guard let deal = deals.randomElement(using: &random) else { continue }
                _ = try? await w.repository.markDealWon(deal, finalAmount: amount, context: when)
            case 10:
                guard let deal = deals.randomElement(using: &random) else { continue }
                _ = try? await w.repository.markDealLost(deal, reason: "price", context: when)
            case 11:
                guard let deal = deals.randomElement(using: &random), let stage = openStages.randomElement(using: &random) else { continue }
                _ = try? await w.repository.reopenDeal(deal, toStage: stage, context: when)
            case 12:
                guard let deal = deals.randomElement(using: &random) else { continue }
                _ = try? await w.repository.execute(pick(2) == 0 ? .changeAmount(amount) : .changeCurrency(to: amount), on: deal, context: when)
            case 13:
                guard let deal = deals.randomElement(using: &random) else { continue }
                _ = try? await w.repository.execute(.assignOwner(owners[pick(2)]!), on: deal, context: when)
            case 14:
                extraStages += 1
                let stage = PipelineStage(key: "extra\(extraStages)", name: "Extra \(extraStages)",
                                          probability: Decimal(pick(10)) / 10, kind: .open)
                _ = try? await w.repository.execute(.addStage(stage, at: pick(current.count + 1)), on: pipeline, context: when)
            case 15:
                // Retired while deals may be in it: they stay there.
                guard let stage = openStages.randomElement(using: &random) else { continue }
                _ = try? await w.repository.execute(.removeStage(stage), on: pipeline, context: when)
            case 16:
                _ = try? await w.repository.execute(.reorderStages(current.map(\.key).shuffled(using: &random)), on: pipeline, context: when)
            case 17:
                // Sometimes a probability with 38 digits (1/3, 2/3), whose products round.
                guard let stage = openStages.randomElement(using: &random) else { continue }
                let probability = pick(3) == 0 ? Decimal(1 + pick(2)) / 3 : Decimal(pick(10)) / 10
                _ = try? await w.repository.execute(.changeStageProbability(stage, to: probability), on: pipeline, context: when)
            default:
                guard let deal = deals.randomElement(using: &random) else { continue }
                _ = try? await w.repository.execute(.rename(to: "R\(step)"), on: deal, context: when)
            }
        }
        // What the log allows and the repository does not, appended directly:
        let metadata = EventMetadata(actor: anna, channel: .api)
        func append(_ event: some Event, to stream: String, day n: Double) async throws {
            _ = try await w.store.append([try NewEvent(event, metadata: metadata, occurredAt: day(n))], to: try StreamID(stream))
        }
        func opened(_ title: String, in pipeline: PipelineID, stage: String = "qualification", amount: String = "100") -> DealOpened {
            DealOpened(title: title, pipelineID: pipeline, stage: stage, amount: eur(amount), expectedCloseDate: nil, ownerID: "user:anna",
                       companyID: nil, contacts: [])
        }
        // deals opened in a pipeline before it is defined;
        let late = PipelineID()
        for n in 0..<3 {
            let deal = DealID()
            deals.append(deal)
            try await append(opened("early \(n)", in: late), to: deal.streamID.rawValue, day: 1)
        }
        try await append(PipelineDefined(name: "Late", stages: salesStages), to: late.streamID.rawValue, day: 2)
        // a deal whose stream spells its id in capitals;
        let shouting = UUID()
        deals.append(DealID(shouting))
        try await append(opened("shouting", in: pipelines[0]), to: "deal-" + shouting.uuidString, day: 3)
        // a deal opened twice, in another pipeline, and one opened twice in the same;
        try await append(opened("moved", in: pipelines[1], amount: "250"), to: deals[0].streamID.rawValue, day: 4)
        try await append(opened("again", in: pipelines[0], stage: "proposal"), to: deals[1].streamID.rawValue, day: 4)
        // a pipeline defined again, with other stages.
        let redefined = [
            PipelineStage(key: "new", name: "New", probability: Decimal(1) / 3, kind: .open),
            PipelineStage(key: "proposal", name: "Proposal", probability: Decimal(2) / 3, kind: .open),
            PipelineStage(key: "won", name: "Won", probability: 1, kind: .won),
            PipelineStage(key: "lost", name: "Lost", probability: 0, kind: .lost),
        ]
        try await append(PipelineDefined(name: "Redefined", stages: redefined), to: pipelines[1].streamID.rawValue, day: 5)
        let after = DealID()
        deals.append(after)
        try await append(opened("after", in: late), to: after.streamID.rawValue, day: 6)
        let everyPipeline = pipelines + [late]
        try await w.runner.catchUp()
        let head = try await w.head()
        #expect(head.rawValue > 350)

        // Every position, both pipelines, two "now"s: the stored figures as of then against figures from scratch.
        var compared = 0, withStale = 0, retiredShown = 0
        for raw in UInt64(1)...head.rawValue {
            let position = LogPosition(raw)
            for pipeline in everyPipeline {
                for (now, days) in [(day(60), 14), (day(200), 30)] {
                    let stored = try states.summary(of: pipeline, asOf: position, in: w.live, now: now, staleAfterDays: days)
                    let expected = try fromScratch(pipeline, asOf: position, deals: deals, storage: w.live, now: now, staleAfterDays: days)
                    #expect(stored.map(rounded) == expected.map(rounded), "\(pipeline) as of \(position)")
                    compared += 1
                    if stored?.stale.isEmpty == false { withStale += 1 }
                    if stored?.stages.contains(where: { $0.isRetired }) == true { retiredShown += 1 }
                }
            }
        }
        // The history covered what it should.
        #expect(compared > 1_400 && withStale > 100 && retiredShown > 100, "\(compared) compared, \(withStale) with stale deals, \(retiredShown) with retired stages")
        // Now, from the current figures.
        for pipeline in everyPipeline {
            let now = try states.summary(of: pipeline, in: w.live, now: day(200), staleAfterDays: 30)
            let expected = try fromScratch(pipeline, asOf: head, deals: deals, storage: w.live, now: day(200), staleAfterDays: 30)
            #expect(now.map(rounded) == expected.map(rounded))
            #expect(now?.stages.isEmpty == false)
        }
        try await expectLiveEqualsRebuilt(w)
        // The deal spelled in capitals is found by its id, and counted.
        #expect(try states.state(of: DealID(shouting), in: w.live)?.title == "shouting")
        // From the streams alone, a deal opened again in another pipeline (and one opened twice in the same)
        // reads as the read model says: the second pipeline's stages give its probability.
        let twice = DealID()
        try await append(opened("twice", in: pipelines[0]), to: twice.streamID.rawValue, day: 7)
        try await append(opened("twice", in: pipelines[1], stage: "proposal"), to: twice.streamID.rawValue, day: 8)
        try await w.runner.catchUp()
        let end = try await w.head()
        #expect(try states.state(of: twice, asOf: end, in: w.live)?.probability == Decimal(2) / 3)
        for deal in [twice, deals[1]] {
            #expect(try await states.state(of: deal, asOf: end, fromStreamsIn: w.store) == (try states.state(of: deal, asOf: end, in: w.live)), "\(deal)")
        }
        await lmdb?.close()
    }

    @Test("a version of the figures is stored every tallyInterval changes, so an as-of summary counts at most that many")
    func versionsAreStoredEveryIntervalOfChanges() async throws {
        // The tally is read back from storage between batches (World catches up 3 events at a time):
        // a count of changes since the last version that did not survive that was never stored again.
        let w = try World()
        let pipeline = PipelineID()
        try await w.run(.define(name: "Sales", stages: salesStages), on: pipeline, context(root, day: 0))
        let deals = [DealID(), DealID(), DealID(), DealID()]
        for (n, deal) in deals.enumerated() {
            try await w.step {
                try await $0.openDeal(deal, title: "D\(n)", pipeline: pipeline, stage: "qualification", amount: nil, owner: nil,
                                      context: context(anna, day: 1))
            }
        }
        let open = ["qualification", "proposal", "negotiation"]
        for step in 0..<96 {
            // Each deal's next stage differs from its last.
            try await w.step {
                try await $0.moveDeal(deals[step % 4], toStage: open[(step / 4 + 1) % 3], context: context(anna, day: 2 + Double(step) / 10))
            }
        }
        let id = pipeline.description
        let (versions, changes) = try w.live.read(states.name) { (reader) throws(EventStoreError) in
            var versions: [String] = [], changes: [String] = []
            try reader.forEach(keyPrefix: "tally-at/\(id)/") { key, _ in versions.append(key); return true }
            try reader.forEach(keyPrefix: "tally-change/\(id)/") { key, _ in changes.append(key); return true }
            return (versions, changes)
        }
        #expect(changes.count == 100, "4 openings and 96 moves")
        // One at the definition, then one every 16 changes (4 open deals: a sixteenth of them is less).
        #expect(versions.count == 1 + 100 / DealStates.tallyInterval)
        // Newest first: the changes after the newest version are fewer than the interval.
        let newest = try #require(versions.first.map { String($0.suffix(Key.width)) })
        #expect(changes.filter { String($0.suffix(Key.width)) < newest }.count < DealStates.tallyInterval)
    }

    @Test func aTallyWithMissingFiguresIsATypedErrorNotAWrongAnswer() async throws {
        let w = try World()
        let s = DealScenario()
        try await s.run(w)
        let head = try await w.head()
        // A damaged version (its open deals' states cut short): a typed error naming the key.
        let stored = try snapshot(w.live, states.name)
        let newest = try #require(stored.keys.filter { $0.hasPrefix("tally-at/") }.min())
        let checkpoint = try #require(try w.live.checkpoint(of: states.name))
        /// Stores `damage` under `key`, expects `query` to name that key as corrupt, then puts the stored value back.
        func expectCorrupt(_ key: String, stored damage: [UInt8], by query: () throws -> PipelineSummary?,
                           sourceLocation: SourceLocation = #_sourceLocation) async throws {
            try await w.live.commit([ReadModelChanges(projection: states.name, writes: [key: damage], checkpoint: checkpoint)])
            #expect(sourceLocation: sourceLocation) {
                try query()
            } throws: { error in
                guard case .corruptValue(let damaged, _) = error as? ProjectionQueryError else { return false }
                return damaged == key
            }
            try await w.live.commit([ReadModelChanges(projection: states.name, writes: [key: stored[key]!], checkpoint: checkpoint)])
        }
        try await expectCorrupt(newest, stored: Array(stored[newest]!.dropLast(3))) {
            try states.summary(of: s.sales, asOf: head, in: w.live, now: day(40))
        }
        #expect(try states.summary(of: s.sales, asOf: head, in: w.live, now: day(40)) != nil)
        // Figures whose count of changes is past Int's range (a varint of 2^63): an error, not a trap.
        let current = "tally/\(s.sales)"
        let huge: [UInt8] = [0xC1, 0x01] + [UInt8](repeating: 0x80, count: 9) + [0x01]
        try await expectCorrupt(current, stored: huge) { try states.summary(of: s.sales, in: w.live, now: day(40)) }
        // Counts that fit Int but whose sum does not (open deals per stage, wins and losses): before,
        // adding them up trapped; a count beyond 2^40 is damage.
        var damaged = try Stored.decode(PipelineTally.self, stored[current]!)
        damaged.open = ["a": PipelineTally.Totals(count: .max), "b": PipelineTally.Totals(count: 1)]
        damaged.results.won = .max
        damaged.results.lost = 1
        try await expectCorrupt(current, stored: Stored.encode(damaged)) { try states.summary(of: s.sales, in: w.live, now: day(40)) }
        // A date at the end of Int64's microseconds still gives a number, not a trap.
        #expect(ProjectionTimestamp.microseconds(of: ProjectionTimestamp.date(microseconds: .max)) == .max)
        #expect(ProjectionTimestamp.microseconds(of: Date(timeIntervalSince1970: .nan)) == .min)
        // Remove every stored version of the figures: the summary as of a position says so.
        var writes: [String: [UInt8]?] = [:]
        for key in try snapshot(w.live, states.name).keys where key.hasPrefix("tally-at/") || key.hasPrefix("tally/") {
            writes[key] = .some(nil)
        }
        #expect(writes.count > 1)
        try await w.live.commit([ReadModelChanges(projection: states.name, writes: writes, checkpoint: try #require(try w.live.checkpoint(of: states.name)))])
        // Everything else still answers.
        #expect(try states.state(of: s.d1, asOf: head, in: w.live)?.status == .won)
        #expect(throws: ProjectionQueryError.self) { try states.summary(of: s.sales, asOf: head, in: w.live, now: day(40)) }
        #expect(throws: ProjectionQueryError.self) { try states.summary(of: s.sales, in: w.live, now: day(40)) }
    }

    /// The summary as the projection computed it before it kept tallies: every
    /// deal's state as of `position`, summed from scratch.
    func fromScratch(
        _ pipeline: PipelineID, asOf position: LogPosition, deals ids: [DealID], storage: any ReadModelStorage, now: Date, staleAfterDays: Int
    ) throws -> PipelineSummary? {
        let info = try storage.query(states.name) { (reader) throws(ProjectionQueryError) in
            try reader.first(PipelineInfo.self, under: "pipeline-at/\(pipeline)/", from: DealStates.pipelineKey(pipeline.description, at: position))
        }
        guard let info else { return nil }
        let deals = try ids.compactMap { try states.state(of: $0, asOf: position, in: storage) }.filter { $0.pipelineID == pipeline }
        return summarize(pipeline, info: info, deals: deals, now: now, staleAfterDays: staleAfterDays)
    }

    /// Sales cycles to the millisecond: the tally adds whole microseconds, the reference adds seconds as doubles.
    func rounded(_ summary: PipelineSummary) -> PipelineSummary {
        var summary = summary
        func round(_ wins: inout WinFigures) { wins.cycleTotal = (wins.cycleTotal * 1_000).rounded() / 1_000 }
        round(&summary.results)
        for index in summary.owners.indices { round(&summary.owners[index].results) }
        return summary
    }

    /// The reference: the summary computed from every deal's state, as
    /// docs/projections/deal-states.md defines it (a weighted amount is,
    /// per stage, the stage's probability × the sum of its deals' amounts).
    func summarize(_ id: PipelineID, info: PipelineInfo, deals: [DealState], now: Date, staleAfterDays: Int) -> PipelineSummary {
        var board = info.stages.map { ($0, false) }
        for stage in info.retired.reversed() where !board.contains(where: { $0.0.key == stage.key })
            && deals.contains(where: { $0.stageHistory.contains { $0.stage == stage.key } }) {
            board.append((stage, true))
        }
        let index = Dictionary(board.enumerated().map { ($1.0.key, $0) }, uniquingKeysWith: { first, _ in first })
        let kind = { (key: String) in info.stage(key)?.kind }
        let probability = { (key: String) in info.stage(key)?.probability ?? 0 }
        func isFurther(_ to: String, than from: String) -> Bool {
            if kind(to) == .won { return true }
            guard kind(to) == .open, let a = index[from], let b = index[to] else { return false }
            return b > a
        }
        /// Deals (stage, amount) as figures, weighted stage by stage.
        func figures(_ deals: [(stage: String, amount: Money?)]) -> AmountFigures {
            var figures = AmountFigures()
            figures.count = deals.count
            var byStage: [String: [String: Decimal]] = [:]
            for deal in deals { if let amount = deal.amount { byStage[deal.stage, default: [:]][amount.currency, default: 0] += amount.amount } }
            for stage in byStage.keys.sorted() {
                for currency in byStage[stage]!.keys.sorted() {
                    let total = byStage[stage]![currency]!
                    figures.total[currency, default: 0] += total
                    figures.weighted[currency, default: 0] += total * probability(stage)
                }
            }
            return figures
        }
        var inStage = board.map { _ in [(stage: String, amount: Money?)]() }
        var entered = board.map { _ in 0 }, advanced = board.map { _ in 0 }
        var openDeals: [(stage: String, amount: Money?)] = []
        var ownerOpen: [String?: [(stage: String, amount: Money?)]] = [:]
        var owners: [String?: WinFigures] = [:]
        var results = WinFigures()
        var transitions: [String: [String: Int]] = [:]
        var stale: [DealState] = []
        let staleBefore = now.addingTimeInterval(-Double(staleAfterDays) * 86_400)
        for var deal in deals {
            deal.probability = info.stage(deal.stage)?.probability
            if let at = index[deal.stage] { inStage[at].append((deal.stage, deal.effectiveAmount)) }
            if owners[deal.owner] == nil { owners[deal.owner] = WinFigures() }
            if deal.status == .open {
                openDeals.append((deal.stage, deal.amount))
                ownerOpen[deal.owner, default: []].append((deal.stage, deal.amount))
                if deal.lastMovedAt < staleBefore { stale.append(deal) }
            }
            results.add(deal)
            owners[deal.owner]!.add(deal)
            let visits = deal.stageHistory.map(\.stage)
            for stage in Set(visits) {
                guard let at = index[stage] else { continue }
                entered[at] += 1
                let firstVisit = visits.firstIndex(of: stage)!
                if visits[(firstVisit + 1)...].contains(where: { isFurther($0, than: stage) }) { advanced[at] += 1 }
            }
            for (from, to) in zip(visits, visits.dropFirst()) { transitions[from, default: [:]][to, default: 0] += 1 }
        }
        let stages = board.enumerated().map { at, entry in
            StageFigures(key: entry.0.key, name: entry.0.name, kind: entry.0.kind, probability: entry.0.probability, isRetired: entry.1,
                         deals: figures(inStage[at]), entered: entered[at], advanced: advanced[at])
        }
        return PipelineSummary(
            pipelineID: id, name: info.name, now: now, stages: stages,
            owners: owners.map { OwnerFigures(owner: $0.key, open: figures(ownerOpen[$0.key] ?? []), results: $0.value) }
                .sorted { ($0.owner ?? "") < ($1.owner ?? "") || ($0.owner == nil && $1.owner != nil) },
            open: figures(openDeals), results: results,
            transitions: transitions.flatMap { from, targets in targets.map { StageTransition(from: from, to: $0.key, count: $0.value) } }
                .sorted { ($0.from, $0.to) < ($1.from, $1.to) },
            stale: stale.sorted { ($0.lastMovedAt, $0.id) < ($1.lastMovedAt, $1.id) })
    }
}

extension WinFigures {
    mutating func add(_ deal: DealState) {
        switch deal.status {
        case .won:
            won += 1
            if let amount = deal.finalAmount { wonAmount[amount.currency, default: 0] += amount.amount }
            cycleTotal += (deal.closedAt ?? deal.openedAt).timeIntervalSince(deal.openedAt)
        case .lost: lost += 1
        case .open: break
        }
    }
}
