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
/// Only amounts are added (never products), so taking a deal out undoes
/// putting it in exactly, and the figures do not depend on the order deals
/// were counted in; weighted amounts are worked out when a summary is read,
/// per stage (the stage's probability × the stage's total). Sales cycles are
/// added in whole microseconds.
///
/// The open deals are not in here: the deal-states projection keeps them as
/// index keys (`tally-open/…`), and its stored versions of the figures
/// (``TallyVersion``) carry them with their states.
struct PipelineTally: Hashable, Codable {
    /// Amounts in one currency.
    struct Sum: Hashable, Codable {
        /// Deals with an amount in this currency: the sum is shown while any is left.
        var deals = 0
        var total: Decimal = 0

        /// Puts `amount` in (`sign` 1) or takes it out (-1) of its currency's sum.
        static func add(_ amount: Money, _ sign: Int, to sums: inout [String: Sum]) {
            sums.change(amount.currency, default: Sum()) { sum in
                sum.deals += sign
                sum.total = sign > 0 ? ExactDecimal.sum(sum.total, amount.amount) : ExactDecimal.difference(sum.total, amount.amount)
                return sum.deals == 0
            }
        }
    }

    /// A count of deals and their amounts per currency.
    struct Totals: Hashable, Codable {
        var count = 0
        var sums: [String: Sum] = [:]

        var isEmpty: Bool { count == 0 && sums.isEmpty }

        mutating func add(_ amount: Money?, _ sign: Int) {
            count += sign
            guard let amount else { return }
            Sum.add(amount, sign, to: &sums)
        }

        /// Adds these totals, weighted by `probability`, to `figures`.
        func add(to figures: inout AmountFigures, probability: Decimal) {
            figures.count += count
            for currency in sums.keys.sorted() {
                let total = sums[currency]!.total
                figures.total[currency] = ExactDecimal.sum(figures.total[currency] ?? 0, total)
                figures.weighted[currency] = ExactDecimal.sum(figures.weighted[currency] ?? 0, ExactDecimal.product(total, probability))
            }
        }
    }

    /// ``WinFigures`` that deals can be taken out of.
    struct Wins: Hashable, Codable {
        var won = 0
        var lost = 0
        var wonAmounts: [String: Sum] = [:]
        /// Opened to won, added over won deals, in microseconds.
        var cycle: Int64 = 0

        var isEmpty: Bool { won == 0 && lost == 0 }

        mutating func add(_ deal: DealState, _ sign: Int) {
            switch deal.status {
            case .won:
                won += sign
                if let amount = deal.finalAmount { Sum.add(amount, sign, to: &wonAmounts) }
                let closed = ProjectionTimestamp.microseconds(of: deal.closedAt ?? deal.openedAt)
                // Wrapping: dates from a damaged value must not trap; real ones never come near.
                cycle &+= Int64(sign) &* (closed &- ProjectionTimestamp.microseconds(of: deal.openedAt))
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
        /// The deals in the stage now (a won deal with its final amount).
        var deals = Totals()
        var entered = 0
        var advanced = 0

        var isEmpty: Bool { deals.isEmpty && entered == 0 && advanced == 0 }
    }

    struct Owner: Hashable, Codable {
        /// Their open deals, by the stage each is in.
        var open: [String: Totals] = [:]
        var results = Wins()

        /// Every deal counts in one of these, so an owner with none left has no deal.
        var isEmpty: Bool { open.isEmpty && results.isEmpty }
    }

    struct Move: Hashable, Codable {
        var from: String
        var to: String
    }

    /// An open deal and when it entered its stage (microseconds since 1970).
    struct OpenDeal: Hashable, Codable {
        var since: Int64
        var id: DealID

        init(since: Int64, id: DealID) {
            self.since = since
            self.id = id
        }

        /// The entry of `deal`, which must be open.
        init(_ deal: DealState) { self.init(since: ProjectionTimestamp.microseconds(of: deal.lastMovedAt), id: deal.id) }

        static func precedes(_ a: OpenDeal, _ b: OpenDeal) -> Bool { (a.since, a.id) < (b.since, b.id) }

        /// The first microsecond not before `date`: deals that entered their
        /// stage earlier than this are the ones that entered before `date`.
        static func limit(before date: Date) -> Int64 {
            // Clamped, never trapping: a cut-off may lie far outside the calendar (`staleAfterDays: .max`).
            let microseconds = (date.timeIntervalSince1970 * 1_000_000).rounded(.up)
            guard microseconds >= Double(Int64.min) else { return .min }  // also NaN
            return microseconds < Double(Int64.max) ? Int64(microseconds) : .max
        }
    }

    /// The position of the last change counted.
    var position = LogPosition(0)
    /// Deal changes counted since the last stored version.
    var changesSinceVersion = 0
    var stages: [String: Stage] = [:]
    /// Open deals by the stage each is in (a stage the pipeline never had included).
    var open: [String: Totals] = [:]
    /// By owner; the nil key for deals without one.
    var owners: [String?: Owner] = [:]
    var results = Wins()
    var moves: [Move: Int] = [:]

    /// How many deals are open.
    var openCount: Int { open.values.reduce(0) { $0 + $1.count } }

    /// Counts `deal` in.
    mutating func add(_ deal: DealState, on board: PipelineBoard) { count(deal, on: board, 1) }

    /// Takes `deal` out; it must be a state that was added.
    mutating func remove(_ deal: DealState, on board: PipelineBoard) { count(deal, on: board, -1) }

    private mutating func count(_ deal: DealState, on board: PipelineBoard, _ sign: Int) {
        if board.index[deal.stage] != nil { update(stage: deal.stage) { $0.deals.add(deal.effectiveAmount, sign) } }
        let isOpen = deal.status == .open
        if isOpen { Self.add(deal.amount, in: deal.stage, to: &open, sign) }
        owners.change(deal.owner, default: Owner()) { owner in
            if isOpen { Self.add(deal.amount, in: deal.stage, to: &owner.open, sign) }
            owner.results.add(deal, sign)
            return owner.isEmpty
        }
        results.add(deal, sign)
        // Conversion: each stage counted once per deal, at its first visit.
        let visits = deal.stageHistory
        for (index, visit) in visits.enumerated() where board.index[visit.stage] != nil {
            let stage = visit.stage
            guard !visits[..<index].contains(where: { $0.stage == stage }) else { continue }
            let advanced = visits[(index + 1)...].contains { board.isFurther($0.stage, than: stage) }
            update(stage: stage) {
                $0.entered += sign
                if advanced { $0.advanced += sign }
            }
        }
        for index in visits.indices.dropFirst() {
            let move = Move(from: visits[index - 1].stage, to: visits[index].stage)
            let count = moves[move, default: 0] + sign
            moves[move] = count == 0 ? nil : count
        }
    }

    private static func add(_ amount: Money?, in stage: String, to byStage: inout [String: Totals], _ sign: Int) {
        byStage.change(stage, default: Totals()) { totals in
            totals.add(amount, sign)
            return totals.isEmpty
        }
    }

    private mutating func update(stage key: String, _ body: (inout Stage) -> Void) {
        stages.change(key, default: Stage()) { stage in
            body(&stage)
            return stage.isEmpty
        }
    }

    /// Open deals by stage as figures: amounts weighted by each stage's probability.
    private static func figures(_ byStage: [String: Totals], on board: PipelineBoard) -> AmountFigures {
        var figures = AmountFigures()
        for stage in byStage.keys.sorted() { byStage[stage]!.add(to: &figures, probability: board.probability(stage)) }
        return figures
    }

    /// The summary these figures make on `board`, with the stale deals given.
    func summary(_ id: PipelineID, on board: PipelineBoard, now: Date, stale: [DealState]) -> PipelineSummary {
        var figures: [StageFigures] = []
        for (place, entry) in board.stages.enumerated() {
            // A repeated key counts at its first place only.
            let tally = board.index[entry.stage.key] == place ? stages[entry.stage.key] : nil
            if entry.retired && (tally?.entered ?? 0) == 0 { continue }
            let stage = entry.stage
            var deals = AmountFigures()
            tally?.deals.add(to: &deals, probability: board.probability(stage.key))
            figures.append(StageFigures(
                key: stage.key, name: stage.name, kind: stage.kind, probability: stage.probability, isRetired: entry.retired,
                deals: deals, entered: tally?.entered ?? 0, advanced: tally?.advanced ?? 0))
        }
        let owners = owners.map { OwnerFigures(owner: $0.key, open: Self.figures($0.value.open, on: board), results: $0.value.results.figures) }
        return PipelineSummary(
            pipelineID: id, name: board.info.name, now: now, stages: figures,
            owners: owners.sorted { ($0.owner ?? "") < ($1.owner ?? "") || ($0.owner == nil && $1.owner != nil) },
            open: Self.figures(open, on: board), results: results.figures,
            transitions: moves.map { StageTransition(from: $0.key.from, to: $0.key.to, count: $0.value) }
                .sorted { ($0.from, $0.to) < ($1.from, $1.to) },
            stale: stale)
    }
}

/// Open deals ordered by when they entered their stage (then by id), so the
/// stale deals of any `now` are a prefix.
struct OpenDeals: Hashable {
    private(set) var entries: [PipelineTally.OpenDeal] = []

    init(_ entries: [PipelineTally.OpenDeal] = []) { self.entries = entries.sorted(by: PipelineTally.OpenDeal.precedes) }

    /// Where `entry` is, or would go: a binary search.
    func index(of entry: PipelineTally.OpenDeal) -> Int { Self.index(of: entry, in: entries) }

    /// Where `entry` is, or would go, in `entries` (in order): a binary search.
    static func index(of entry: PipelineTally.OpenDeal, in entries: [PipelineTally.OpenDeal]) -> Int {
        var low = 0, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if PipelineTally.OpenDeal.precedes(entries[middle], entry) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Takes out the state `before` (when open) and puts in `after` (when open).
    mutating func change(from before: DealState?, to after: DealState?) {
        if let before, before.status == .open {
            let entry = PipelineTally.OpenDeal(before)
            let at = index(of: entry)
            if at < entries.count, entries[at] == entry { entries.remove(at: at) }
        }
        if let after, after.status == .open {
            let entry = PipelineTally.OpenDeal(after)
            entries.insert(entry, at: index(of: entry))
        }
    }

    /// The deals that entered their stage before `limit` (microseconds,
    /// ``PipelineTally/OpenDeal/limit(before:)``), longest there first.
    func before(_ limit: Int64) -> ArraySlice<PipelineTally.OpenDeal> {
        entries.prefix { $0.since < limit }
    }
}

extension Dictionary {
    /// Changes the value under `key` in place (starting from `empty` when
    /// there is none), then removes it when `body` returns true. In place:
    /// a value taken out, changed and put back would be a copy, and each
    /// dictionary inside it would copy itself on its first change.
    ///
    /// ```swift
    /// counts.change("won", default: 0) { count in count -= 1; return count == 0 }
    /// ```
    @inline(__always)
    fileprivate mutating func change(_ key: Key, default empty: @autoclosure () -> Value, _ body: (inout Value) -> Bool) {
        if body(&self[key, default: empty()]) { removeValue(forKey: key) }
    }
}

/// A stored version of a pipeline's figures, with the deals open then and
/// the state of each: a summary as of a position takes its stale deals from
/// here, or from the changes after the version, instead of one seek each.
struct TallyVersion: Hashable, Codable {
    var tally: PipelineTally
    /// The open deals, in ``OpenDeals`` order.
    var open: [PipelineTally.OpenDeal]
    /// Each open deal's state in its compact form, one after another:
    /// deal `i` is `states[offsets[i]..<offsets[i + 1]]`.
    var states: [UInt8]
    var offsets: [Int]

    /// `tally` with its open deals (in order) and the compact form of each one's state.
    init(_ tally: PipelineTally, open: [PipelineTally.OpenDeal], states: [[UInt8]]) {
        precondition(open.count == states.count)
        self.tally = tally
        self.open = open
        self.states = Array(states.joined())
        var offsets = [0]
        offsets.reserveCapacity(states.count + 1)
        for state in states { offsets.append(offsets.last! + state.count) }
        self.offsets = offsets
    }
}

/// What a summary as of a position reads of a stored ``TallyVersion``: the
/// figures, and of the open deals only those that entered their stage
/// before a limit (the ones its stale deals can come from; ``OpenDeals``
/// order puts them first), each state decoded in place from the storage's
/// bytes. The rest of the value is not read.
struct TallyVersionPrefix {
    var tally: PipelineTally
    /// The open deals read, in ``OpenDeals`` order.
    var open: [PipelineTally.OpenDeal] = []
    /// The state of each deal of ``open``, at the same index, until ``takeState(of:)`` takes it.
    var states: [DealState?] = []

    /// Reads a version's figures and the open deals that entered their
    /// stage before `limit` (microseconds, ``PipelineTally/OpenDeal/limit(before:)``).
    ///
    /// ```swift
    /// var reader = try CompactReader(borrowing: bytes)
    /// let version = try TallyVersionPrefix(from: &reader, openBefore: PipelineTally.OpenDeal.limit(before: cutOff))
    /// ```
    init(from input: inout CompactReader, openBefore limit: Int64) throws(CompactReader.Malformed) {
        tally = try PipelineTally(from: &input)
        let count = try input.count()
        // Room for all of them: untouched capacity costs nothing, growing would copy every state read.
        open.reserveCapacity(count)
        states.reserveCapacity(count)
        for _ in 0..<count {
            let deal = try input.openDeal(after: open.last)
            if deal.since >= limit { return }
            open.append(deal)
            states.append(try DealState(compactBytes: try input.blob()))
        }
    }

    /// Takes out the state of the open deal `entry` at this version (moved, not copied): nil when
    /// it was not open then, was not read, or was taken already.
    mutating func takeState(of entry: PipelineTally.OpenDeal) -> DealState? {
        let at = OpenDeals.index(of: entry, in: open)
        return at < open.count && open[at] == entry ? states[at].take() : nil
    }
}

extension OpenDeals {
    /// Entries already in order (a stored version's), taken as they are.
    init(unsorted entries: [PipelineTally.OpenDeal]) { self.entries = entries }
}

/// One deal change as a pipeline's figures count it: the deal before (nil
/// when it was not in the pipeline) and after (nil when it left it).
struct TallyChange: Hashable, Codable {
    var position: LogPosition
    var before: DealState?
    var after: DealState?
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
            out.totals(stage.deals)
            out.signed(Int64(stage.entered))
            out.signed(Int64(stage.advanced))
        }
        out.byStage(open)
        out.unsigned(UInt64(owners.count))
        for key in owners.keys.sorted(by: { ($0 ?? "") < ($1 ?? "") || ($0 == nil && $1 != nil) }) {
            let owner = owners[key]!
            out.optional(key) { $0.string($1) }
            out.byStage(owner.open)
            out.wins(owner.results)
        }
        out.wins(results)
        out.unsigned(UInt64(moves.count))
        for move in moves.keys.sorted(by: { ($0.from, $0.to) < ($1.from, $1.to) }) {
            out.string(move.from)
            out.string(move.to)
            out.signed(Int64(moves[move]!))
        }
    }

    init(from input: inout CompactReader) throws(CompactReader.Malformed) {
        position = LogPosition(try input.unsigned())
        // Written unsigned (a zigzag read turned 1 into -1, so the count never reached a version).
        changesSinceVersion = try input.unsignedTallyCount()
        for _ in 0..<(try input.count()) {
            let key = try input.string()
            stages[key] = Stage(deals: try input.totals(), entered: try input.tallyCount(), advanced: try input.tallyCount())
        }
        open = try input.byStage()
        for _ in 0..<(try input.count()) {
            let key = try input.optional { (r) throws(CompactReader.Malformed) in try r.string() }
            owners[key] = Owner(open: try input.byStage(), results: try input.wins())
        }
        results = try input.wins()
        for _ in 0..<(try input.count()) {
            let move = Move(from: try input.string(), to: try input.string())
            moves[move] = try input.tallyCount()
        }
    }
}

extension TallyVersion: CompactValue {
    func write(to out: inout CompactWriter) {
        tally.write(to: &out)
        out.unsigned(UInt64(open.count))
        for (index, deal) in open.enumerated() {
            out.signed(deal.since)
            out.uuid(deal.id.uuid)
            out.blob(states[offsets[index]..<offsets[index + 1]])
        }
    }

    init(from input: inout CompactReader) throws(CompactReader.Malformed) {
        tally = try PipelineTally(from: &input)
        let count = try input.count()
        open = []
        states = []
        offsets = [0]
        for _ in 0..<count {
            let deal = try input.openDeal(after: open.last)
            open.append(deal)
            states.append(contentsOf: try input.blob())
            offsets.append(states.count)
        }
    }
}

extension TallyChange: CompactValue {
    func write(to out: inout CompactWriter) {
        out.unsigned(position.rawValue)
        out.optional(before) { $1.write(to: &$0) }
        out.optional(after) { $1.write(to: &$0) }
    }

    init(from input: inout CompactReader) throws(CompactReader.Malformed) {
        position = LogPosition(try input.unsigned())
        before = try input.optional { (r) throws(CompactReader.Malformed) in try DealState(from: &r) }
        after = try input.optional { (r) throws(CompactReader.Malformed) in try DealState(from: &r) }
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
        }
    }

    fileprivate mutating func totals(_ totals: PipelineTally.Totals) {
        signed(Int64(totals.count))
        sums(totals.sums)
    }

    fileprivate mutating func byStage(_ byStage: [String: PipelineTally.Totals]) {
        unsigned(UInt64(byStage.count))
        for stage in byStage.keys.sorted() {
            string(stage)
            totals(byStage[stage]!)
        }
    }

    fileprivate mutating func wins(_ wins: PipelineTally.Wins) {
        signed(Int64(wins.won))
        signed(Int64(wins.lost))
        sums(wins.wonAmounts)
        signed(wins.cycle)
    }
}

extension CompactReader {
    /// A stored version's next open deal, which must come after `previous` in ``OpenDeals`` order.
    fileprivate mutating func openDeal(after previous: PipelineTally.OpenDeal?) throws(Malformed) -> PipelineTally.OpenDeal {
        let deal = PipelineTally.OpenDeal(since: try signed(), id: DealID(try uuid()))
        if let previous, !PipelineTally.OpenDeal.precedes(previous, deal) { throw Malformed(reason: "open deals out of order") }
        return deal
    }

    /// A count written unsigned, in the same range as ``tallyCount()``.
    fileprivate mutating func unsignedTallyCount() throws(Malformed) -> Int {
        let value = try unsigned()
        guard value <= 1 << 40 else { throw Malformed(reason: "count \(value) is out of range") }
        return Int(value)
    }

    /// A count of deals, stage visits or moves: at most 2^40 either way, far
    /// beyond any log, so that adding up a summary's counts never overflows
    /// (a damaged value is `Malformed`, not a trap).
    fileprivate mutating func tallyCount() throws(Malformed) -> Int {
        let value = try signed()
        guard value.magnitude <= 1 << 40 else { throw Malformed(reason: "count \(value) is out of range") }
        return Int(value)
    }

    fileprivate mutating func sums() throws(Malformed) -> [String: PipelineTally.Sum] {
        var sums: [String: PipelineTally.Sum] = [:]
        for _ in 0..<(try count()) {
            sums[try string()] = PipelineTally.Sum(deals: try tallyCount(), total: try decimal())
        }
        return sums
    }

    fileprivate mutating func totals() throws(Malformed) -> PipelineTally.Totals {
        PipelineTally.Totals(count: try tallyCount(), sums: try sums())
    }

    fileprivate mutating func byStage() throws(Malformed) -> [String: PipelineTally.Totals] {
        var byStage: [String: PipelineTally.Totals] = [:]
        for _ in 0..<(try count()) { byStage[try string()] = try totals() }
        return byStage
    }

    fileprivate mutating func wins() throws(Malformed) -> PipelineTally.Wins {
        PipelineTally.Wins(won: try tallyCount(), lost: try tallyCount(), wonAmounts: try sums(), cycle: try signed())
    }
}
