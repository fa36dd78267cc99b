import Foundation
import RapportCore
import RapportEventLog

/// A pipeline's stages in board order, with the kind and probability of
/// each: the current stages, then the retired ones, most recently retired
/// first. A summary shows a retired stage only when some deal has been in
/// it; comparing two stages a deal has been in gives the same answer on
/// this full board as on the shown one, since leaving stages out keeps the
/// order of the others.
struct PipelineBoard {
    let info: PipelineInfo
    /// The board: each stage, and whether it is retired.
    let stages: [(stage: PipelineStage, retired: Bool)]
    /// Each key's place on the board (its first, when a key repeats).
    let index: [String: Int]

    init(_ info: PipelineInfo) {
        self.info = info
        var stages = info.stages.map { (stage: $0, retired: false) }
        for stage in info.retired.reversed() where !stages.contains(where: { $0.stage.key == stage.key }) {
            stages.append((stage, true))
        }
        self.stages = stages
        index = Dictionary(stages.enumerated().map { ($1.stage.key, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func kind(_ key: String) -> PipelineStage.Kind? { info.stage(key)?.kind }

    /// The stage's default probability; 0 for a stage the pipeline never had.
    func probability(_ key: String) -> Decimal { info.stage(key)?.probability ?? 0 }

    /// Whether `to` is further along the board than `from`: won, or a later open stage.
    func isFurther(_ to: String, than from: String) -> Bool {
        switch kind(to) {
        case .won: true
        case .open:
            if let a = index[from], let b = index[to] { b > a } else { false }
        default: false
        }
    }
}

/// What a pipeline's summary adds up, kept as deals change: counts and sums
/// that a deal's old state can be taken out of and its new state put into.
/// Nothing in it depends on the order deals were added in (amounts are
/// `Decimal`s, sales cycles whole microseconds), so a tally built change by
/// change equals one built from the deals as they are.
///
/// The deal-states projection stores the current tally of each pipeline
/// and, every ``DealStates/tallyInterval`` changes, a version of it; with
/// each deal change it stores the deal before and after. A summary as of a
/// position is then the version at or before it plus the few changes since.
struct PipelineTally: Hashable, Codable {
    /// Amounts in one currency.
    struct Sum: Hashable, Codable {
        /// Deals with an amount in this currency: the sum is shown while any is left.
        var deals = 0
        var total: Decimal = 0
        var weighted: Decimal = 0
    }

    /// ``AmountFigures`` that deals can be taken out of.
    struct Amounts: Hashable, Codable {
        var count = 0
        var sums: [String: Sum] = [:]

        mutating func add(_ amount: Money?, probability: Decimal, _ sign: Int) {
            count += sign
            guard let amount else { return }
            var sum = sums[amount.currency] ?? Sum()
            let value = sign > 0 ? amount.amount : -amount.amount
            sum.deals += sign
            sum.total += value
            sum.weighted += value * probability
            sums[amount.currency] = sum.deals == 0 ? nil : sum
        }

        var figures: AmountFigures {
            var figures = AmountFigures()
            figures.count = count
            for (currency, sum) in sums {
                figures.total[currency] = sum.total
                figures.weighted[currency] = sum.weighted
            }
            return figures
        }
    }

    /// ``WinFigures`` that deals can be taken out of.
    struct Wins: Hashable, Codable {
        var won = 0
        var lost = 0
        var wonAmounts: [String: Sum] = [:]
        /// Opened to won, added over won deals, in microseconds.
        var cycle: Int64 = 0

        mutating func add(_ deal: DealState, _ sign: Int) {
            switch deal.status {
            case .won:
                won += sign
                if let amount = deal.finalAmount {
                    var sum = wonAmounts[amount.currency] ?? Sum()
                    sum.deals += sign
                    sum.total += sign > 0 ? amount.amount : -amount.amount
                    wonAmounts[amount.currency] = sum.deals == 0 ? nil : sum
                }
                let closed = ProjectionTimestamp.microseconds(of: deal.closedAt ?? deal.openedAt)
                cycle += Int64(sign) * (closed - ProjectionTimestamp.microseconds(of: deal.openedAt))
            case .lost: lost += sign
            case .open: break
            }
        }

        var figures: WinFigures {
            var figures = WinFigures()
            figures.won = won
            figures.lost = lost
            for (currency, sum) in wonAmounts { figures.wonAmount[currency] = sum.total }
            figures.cycleTotal = Double(cycle) / 1_000_000
            return figures
        }
    }

    struct Stage: Hashable, Codable {
        /// The deals in the stage now.
        var deals = Amounts()
        var entered = 0
        var advanced = 0

        var isEmpty: Bool { deals.count == 0 && deals.sums.isEmpty && entered == 0 && advanced == 0 }
    }

    struct Owner: Hashable, Codable {
        var open = Amounts()
        var results = Wins()

        /// Every deal counts in one of these, so an owner with none left has no deal.
        var isEmpty: Bool { open.count == 0 && results.won == 0 && results.lost == 0 }
    }

    struct Move: Hashable, Codable {
        var from: String
        var to: String
    }

    /// An open deal and when it entered its stage (microseconds since 1970).
    struct OpenDeal: Hashable, Codable {
        var since: Int64
        var id: DealID

        static func precedes(_ a: OpenDeal, _ b: OpenDeal) -> Bool { (a.since, a.id) < (b.since, b.id) }
    }

    /// The position of the last change counted.
    var position = LogPosition(0)
    /// Deal changes counted since the last stored version.
    var changesSinceVersion = 0
    var stages: [String: Stage] = [:]
    /// By owner; the nil key for deals without one.
    var owners: [String?: Owner] = [:]
    var open = Amounts()
    var results = Wins()
    var moves: [Move: Int] = [:]
    /// Open deals, longest in their stage first (then by id): the stale
    /// deals of any `now` are a prefix.
    var openDeals: [OpenDeal] = []

    /// Counts `deal` in.
    mutating func add(_ deal: DealState, on board: PipelineBoard) { count(deal, on: board, 1) }

    /// Takes `deal` out; it must be a state that was added.
    mutating func remove(_ deal: DealState, on board: PipelineBoard) { count(deal, on: board, -1) }

    private mutating func count(_ deal: DealState, on board: PipelineBoard, _ sign: Int) {
        let weight = board.probability(deal.stage)
        if board.index[deal.stage] != nil { update(stage: deal.stage) { $0.deals.add(deal.effectiveAmount, probability: weight, sign) } }
        var owner = owners[deal.owner] ?? Owner()
        if deal.status == .open {
            open.add(deal.amount, probability: weight, sign)
            owner.open.add(deal.amount, probability: weight, sign)
            let entry = OpenDeal(since: ProjectionTimestamp.microseconds(of: deal.lastMovedAt), id: deal.id)
            let at = openDealIndex(of: entry)
            if sign > 0 {
                openDeals.insert(entry, at: at)
            } else if at < openDeals.count, openDeals[at] == entry {
                openDeals.remove(at: at)
            }
        }
        results.add(deal, sign)
        owner.results.add(deal, sign)
        owners[deal.owner] = owner.isEmpty ? nil : owner
        // Conversion: each stage counted once per deal.
        let visits = deal.stageHistory.map(\.stage)
        for stage in Set(visits) where board.index[stage] != nil {
            let firstVisit = visits.firstIndex(of: stage)!
            let advanced = visits[(firstVisit + 1)...].contains { board.isFurther($0, than: stage) }
            update(stage: stage) {
                $0.entered += sign
                if advanced { $0.advanced += sign }
            }
        }
        for (from, to) in zip(visits, visits.dropFirst()) {
            let move = Move(from: from, to: to)
            let count = moves[move, default: 0] + sign
            moves[move] = count == 0 ? nil : count
        }
    }

    /// Where `entry` is, or would go, in ``openDeals``: a binary search.
    private func openDealIndex(of entry: OpenDeal) -> Int {
        var low = 0, high = openDeals.count
        while low < high {
            let middle = (low + high) / 2
            if OpenDeal.precedes(openDeals[middle], entry) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private mutating func update(stage key: String, _ body: (inout Stage) -> Void) {
        var stage = stages[key] ?? Stage()
        body(&stage)
        stages[key] = stage.isEmpty ? nil : stage
    }

    /// The open deals that entered their stage before `date`, longest there first.
    func openDeals(before date: Date) -> ArraySlice<OpenDeal> {
        let limit = ProjectionTimestamp.microseconds(of: date)
        return openDeals.prefix { $0.since < limit }
    }

    /// The summary these figures make on `board`, with the stale deals given.
    func summary(_ id: PipelineID, on board: PipelineBoard, now: Date, stale: [DealState]) -> PipelineSummary {
        var figures: [StageFigures] = []
        for (place, entry) in board.stages.enumerated() {
            // A repeated key counts at its first place only.
            let tally = board.index[entry.stage.key] == place ? stages[entry.stage.key] : nil
            if entry.retired && (tally?.entered ?? 0) == 0 { continue }
            let stage = entry.stage
            figures.append(StageFigures(
                key: stage.key, name: stage.name, kind: stage.kind, probability: stage.probability, isRetired: entry.retired,
                deals: tally?.deals.figures ?? AmountFigures(), entered: tally?.entered ?? 0, advanced: tally?.advanced ?? 0))
        }
        let owners = owners.map { OwnerFigures(owner: $0.key, open: $0.value.open.figures, results: $0.value.results.figures) }
        return PipelineSummary(
            pipelineID: id, name: board.info.name, now: now, stages: figures,
            owners: owners.sorted { ($0.owner ?? "") < ($1.owner ?? "") || ($0.owner == nil && $1.owner != nil) },
            open: open.figures, results: results.figures,
            transitions: moves.map { StageTransition(from: $0.key.from, to: $0.key.to, count: $0.value) }
                .sorted { ($0.from, $0.to) < ($1.from, $1.to) },
            stale: stale)
    }
}

/// One deal change as the tally counts it: the deal before (nil when the
/// event opened it) and after.
struct TallyChange: Hashable, Codable {
    var position: LogPosition
    var before: DealState?
    var after: DealState
}

// MARK: - Compact form

extension PipelineTally: CompactValue {
    func write(to out: inout CompactWriter) {
        out.unsigned(position.rawValue)
        out.unsigned(UInt64(changesSinceVersion))
        // Keys sorted: the same tally is always the same bytes.
        out.unsigned(UInt64(stages.count))
        for key in stages.keys.sorted() {
            let stage = stages[key]!
            out.string(key)
            out.amounts(stage.deals)
            out.signed(Int64(stage.entered))
            out.signed(Int64(stage.advanced))
        }
        out.unsigned(UInt64(owners.count))
        for key in owners.keys.sorted(by: { ($0 ?? "") < ($1 ?? "") || ($0 == nil && $1 != nil) }) {
            let owner = owners[key]!
            out.optional(key) { $0.string($1) }
            out.amounts(owner.open)
            out.wins(owner.results)
        }
        out.amounts(open)
        out.wins(results)
        out.unsigned(UInt64(moves.count))
        for move in moves.keys.sorted(by: { ($0.from, $0.to) < ($1.from, $1.to) }) {
            out.string(move.from)
            out.string(move.to)
            out.signed(Int64(moves[move]!))
        }
        out.unsigned(UInt64(openDeals.count))
        for deal in openDeals {
            out.signed(deal.since)
            out.uuid(deal.id.uuid)
        }
    }

    init(from input: inout CompactReader) throws(CompactReader.Malformed) {
        position = LogPosition(try input.unsigned())
        changesSinceVersion = Int(try input.unsigned())
        for _ in 0..<(try input.count()) {
            let key = try input.string()
            stages[key] = Stage(deals: try input.amounts(), entered: Int(try input.signed()), advanced: Int(try input.signed()))
        }
        for _ in 0..<(try input.count()) {
            let key = try input.optional { (r) throws(CompactReader.Malformed) in try r.string() }
            owners[key] = Owner(open: try input.amounts(), results: try input.wins())
        }
        open = try input.amounts()
        results = try input.wins()
        for _ in 0..<(try input.count()) {
            let move = Move(from: try input.string(), to: try input.string())
            moves[move] = Int(try input.signed())
        }
        let count = try input.count()
        openDeals.reserveCapacity(count)
        for _ in 0..<count { openDeals.append(OpenDeal(since: try input.signed(), id: DealID(try input.uuid()))) }
    }
}

extension TallyChange: CompactValue {
    func write(to out: inout CompactWriter) {
        out.unsigned(position.rawValue)
        out.optional(before) { $1.write(to: &$0) }
        after.write(to: &out)
    }

    init(from input: inout CompactReader) throws(CompactReader.Malformed) {
        position = LogPosition(try input.unsigned())
        before = try input.optional { (r) throws(CompactReader.Malformed) in try DealState(from: &r) }
        after = try DealState(from: &input)
    }
}

extension CompactWriter {
    fileprivate mutating func sums(_ sums: [String: PipelineTally.Sum]) {
        unsigned(UInt64(sums.count))
        for currency in sums.keys.sorted() {
            let sum = sums[currency]!
            string(currency)
            signed(Int64(sum.deals))
            decimal(sum.total)
            decimal(sum.weighted)
        }
    }

    fileprivate mutating func amounts(_ amounts: PipelineTally.Amounts) {
        signed(Int64(amounts.count))
        sums(amounts.sums)
    }

    fileprivate mutating func wins(_ wins: PipelineTally.Wins) {
        signed(Int64(wins.won))
        signed(Int64(wins.lost))
        sums(wins.wonAmounts)
        signed(wins.cycle)
    }
}

extension CompactReader {
    fileprivate mutating func sums() throws(Malformed) -> [String: PipelineTally.Sum] {
        var sums: [String: PipelineTally.Sum] = [:]
        for _ in 0..<(try count()) {
            sums[try string()] = PipelineTally.Sum(deals: Int(try signed()), total: try decimal(), weighted: try decimal())
        }
        return sums
    }

    fileprivate mutating func amounts() throws(Malformed) -> PipelineTally.Amounts {
        PipelineTally.Amounts(count: Int(try signed()), sums: try sums())
    }

    fileprivate mutating func wins() throws(Malformed) -> PipelineTally.Wins {
        PipelineTally.Wins(won: Int(try signed()), lost: Int(try signed()), wonAmounts: try sums(), cycle: try signed())
    }
}
