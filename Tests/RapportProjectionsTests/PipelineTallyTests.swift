import Foundation
import RapportCore
import RapportEventLog
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

    @Test func figuresKeptChangeByChangeEqualFiguresFromScratchAsOfEveryPosition() async throws {
        let w = World()
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
                guard let stage = openStages.randomElement(using: &random) else { continue }
                _ = try? await w.repository.execute(.changeStageProbability(stage, to: Decimal(pick(10)) / 10), on: pipeline, context: when)
            default:
                guard let deal = deals.randomElement(using: &random) else { continue }
                _ = try? await w.repository.execute(.rename(to: "R\(step)"), on: deal, context: when)
            }
        }
        try await w.runner.catchUp()
        let head = try await w.head()
        #expect(head.rawValue > 350)

        // Every position, both pipelines, two "now"s: the stored figures as of then against figures from scratch.
        var compared = 0, withStale = 0, retiredShown = 0
        for raw in UInt64(1)...head.rawValue {
            let position = LogPosition(raw)
            for pipeline in pipelines {
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
        for pipeline in pipelines {
            let now = try states.summary(of: pipeline, in: w.live, now: day(200), staleAfterDays: 30)
            let expected = try fromScratch(pipeline, asOf: head, deals: deals, storage: w.live, now: day(200), staleAfterDays: 30)
            #expect(now.map(rounded) == expected.map(rounded))
            #expect(now?.stages.isEmpty == false && now?.results.won ?? 0 > 0)
        }
        try await expectLiveEqualsRebuilt(w)
    }

    @Test func aTallyWithMissingFiguresIsATypedErrorNotAWrongAnswer() async throws {
        let w = World()
        let s = DealScenario()
        try await s.run(w)
        let head = try await w.head()
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

    /// The reference: deal states folded one by one (the algorithm of
    /// DealStates version 2).
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
        var stages = board.map { stage, retired in
            StageFigures(key: stage.key, name: stage.name, kind: stage.kind, probability: stage.probability, isRetired: retired,
                         deals: AmountFigures(), entered: 0, advanced: 0)
        }
        var owners: [String?: OwnerFigures] = [:]
        var open = AmountFigures()
        var results = WinFigures()
        var transitions: [String: [String: Int]] = [:]
        var stale: [DealState] = []
        let staleBefore = now.addingTimeInterval(-Double(staleAfterDays) * 86_400)
        for var deal in deals {
            deal.probability = info.stage(deal.stage)?.probability
            let weight = probability(deal.stage)
            if let at = index[deal.stage] { stages[at].deals.add(deal.effectiveAmount, probability: weight) }
            var owner = owners[deal.owner] ?? OwnerFigures(owner: deal.owner, open: AmountFigures(), results: WinFigures())
            if deal.status == .open {
                open.add(deal.amount, probability: weight)
                owner.open.add(deal.amount, probability: weight)
                if deal.lastMovedAt < staleBefore { stale.append(deal) }
            }
            results.add(deal)
            owner.results.add(deal)
            owners[deal.owner] = owner
            let visits = deal.stageHistory.map(\.stage)
            for stage in Set(visits) {
                guard let at = index[stage] else { continue }
                stages[at].entered += 1
                let firstVisit = visits.firstIndex(of: stage)!
                if visits[(firstVisit + 1)...].contains(where: { isFurther($0, than: stage) }) { stages[at].advanced += 1 }
            }
            for (from, to) in zip(visits, visits.dropFirst()) { transitions[from, default: [:]][to, default: 0] += 1 }
        }
        return PipelineSummary(
            pipelineID: id, name: info.name, now: now, stages: stages,
            owners: owners.values.sorted { ($0.owner ?? "") < ($1.owner ?? "") || ($0.owner == nil && $1.owner != nil) },
            open: open, results: results,
            transitions: transitions.flatMap { from, targets in targets.map { StageTransition(from: from, to: $0.key, count: $0.value) } }
                .sorted { ($0.from, $0.to) < ($1.from, $1.to) },
            stale: stale.sorted { ($0.lastMovedAt, $0.id) < ($1.lastMovedAt, $1.id) })
    }
}

extension AmountFigures {
    mutating func add(_ amount: Money?, probability: Decimal) {
        count += 1
        guard let amount else { return }
        total[amount.currency, default: 0] += amount.amount
        weighted[amount.currency, default: 0] += amount.amount * probability
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
