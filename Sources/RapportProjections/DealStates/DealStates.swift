import Foundation
import RapportCore
public import RapportEventLog
public import RapportReplay

/// Deal states: the current state of every deal (stage, amount, probability,
/// owner, expected close, status), its stage history (entered and left,
/// time in each stage, moves back), and per pipeline a summary by stage and
/// owner (count, total and weighted amount, win rate, sales-cycle length,
/// stage-to-stage conversion, stale deals), now or as of a past position.
///
/// ```swift
/// let states = DealStates()
/// try await ProjectionRunner(log: store, storage: store, projections: [states], registry: .crm).catchUp()
/// let deal = try states.state(of: dealID, in: store)
/// let summary = try states.summary(of: sales, in: store, now: Date(), staleAfterDays: 14)
/// let lastQuarter = try await states.summary(of: sales, asOf: position, from: store, now: quarterEnd)
/// ```
///
/// Run it with the `.crm` registry. Times are the events' occurred-at
/// times (the command context's `now`), or their recorded-at times when
/// they have none; a deal is won or lost at its event's `at`.
///
/// ## Read model
///
/// | key | value |
/// |-----|-------|
/// | `deal/<deal>` | the ``DealState`` |
/// | `pipeline/<pipeline>` | the pipeline's name and stages (with probabilities) |
/// | `in-pipeline/<pipeline>/<deal>` | index of a pipeline's deals |
/// | `deal-at/<deal>/<inverted position>` | the ``DealState`` after each event that changed it (newest first) |
/// | `pipeline-at/<pipeline>/<inverted position>` | the pipeline after each event that changed it |
/// | `tally/<pipeline>` | the pipeline's figures now: counts and sums by stage and owner, moves |
/// | `tally-open/<pipeline>/<since>/<deal>` | index of the open deals, by when each entered its stage |
/// | `tally-at/<pipeline>/<inverted position>` | the figures at a pipeline change and every ``tallyInterval`` deal changes (or every sixteenth of the open deals), with the open deals and their states |
/// | `tally-change/<pipeline>/<inverted position>` | each deal change: the deal before and after |
///
/// The `…-at` keys answer "as of" questions from the stored read model: a
/// deal as of a position is one seek; a pipeline's summary is one seek for
/// the figures before it (with the open deals' states then) and at most
/// ``tallyInterval`` changes after them (or a sixteenth of the open deals,
/// when that is more), whatever the size of the log.
public struct DealStates: Projection {
    public let name: String
    /// 2: the `deal-at` and `pipeline-at` versions. 3: the pipeline tallies.
    /// 4: the versions of the figures hold the open deals and their states;
    /// ids in keys are lower case. 5: the versions of the figures are
    /// stored again every ``tallyInterval`` changes (a read model of version
    /// 4 built by earlier builds of this library may hold none after the
    /// pipeline's definition, so its summaries as of a position counted
    /// every change since: it is rebuilt).
    public let version = 5
    /// How many deal changes of a pipeline at most lie between two stored
    /// versions of its figures, unless a sixteenth of its open deals is more
    /// (then that many: a version holds every open deal, so it is not
    /// written more often than that): a summary as of a position reads up
    /// to this many changes after the version before it.
    public static let tallyInterval = 16
    public let interest: ProjectionInterest = {
        ProjectionInterest(types: Set((Deal.eventTypes + Pipeline.eventTypes).map { $0.typeName }))
    }()

    /// Deal states stored under `name`.
    public init(name: String = "deal-states") { self.name = name }

    public func apply(_ event: RecordedEvent, decoded: (any Event)?, to model: inout ReadModelContext) throws {
        // Ids in keys in their canonical (lower-case) text, as `DealID` and
        // `PipelineID` write them, whatever the stream's spelling.
        let entity = event.streamEntity
        let id = entity.kind == Pipeline.kind
            ? PipelineID(entity.id)?.description ?? entity.id : DealID(entity.id)?.description ?? entity.id
        let date = event.effectiveDate
        if let defined = decoded as? PipelineDefined {
            let info = PipelineInfo(name: defined.name, stages: defined.stages)
            store(info, pipeline: id, at: event.position, in: &model)
            try retally(pipeline: id, on: PipelineBoard(info), at: event.position, in: &model)
            return
        }
        if event.streamEntity.kind == Pipeline.kind {
            guard var pipeline = try model.load(PipelineInfo.self, "pipeline/\(id)"), let decoded else { return }
            pipeline.apply(decoded)
            store(pipeline, pipeline: id, at: event.position, in: &model)
            try retally(pipeline: id, on: PipelineBoard(pipeline), at: event.position, in: &model)
            return
        }
        if let opened = decoded as? DealOpened, let dealID = DealID(id) {
            let state = DealState(
                id: dealID, title: opened.title, pipelineID: opened.pipelineID, stage: opened.stage, status: .open,
                amount: opened.amount, owner: opened.ownerID, companyID: opened.companyID, expectedCloseDate: opened.expectedCloseDate,
                openedAt: date, stageHistory: [StageVisit(stage: opened.stage, enteredAt: date, movedBack: false, position: event.position)])
            // Opened again (the log allows it; the repository does not): the new state replaces the old.
            let before = try model.load(DealState.self, "deal/\(id)")
            if let before, before.pipelineID != state.pipelineID { model.remove("in-pipeline/\(before.pipelineID)/\(id)") }
            store(state, deal: id, at: event.position, in: &model)
            model.mark("in-pipeline/\(opened.pipelineID)/\(id)")
            try tally(from: before, to: state, at: event.position, in: &model)
            return
        }
        guard var state = try model.load(DealState.self, "deal/\(id)") else { return }
        let before = state
        func move(to stage: String, at date: Date, back: Bool) {
            if !state.stageHistory.isEmpty { state.stageHistory[state.stageHistory.count - 1].leftAt = date }
            state.stageHistory.append(StageVisit(stage: stage, enteredAt: date, movedBack: back, position: event.position))
            state.stage = stage
        }
        switch decoded {
        case let e as DealRenamed: state.title = e.to
        case let e as DealStageChanged: move(to: e.to, at: date, back: e.movedBack)
        case let e as DealAmountChanged: state.amount = e.to
        case let e as DealCurrencyChanged: state.amount = e.to
        case let e as DealExpectedCloseDateChanged: state.expectedCloseDate = e.to
        case let e as DealOwnerAssigned: state.owner = e.to
        case let e as DealCompanyChanged: state.companyID = e.to
        case let e as DealWon:
            move(to: e.stage, at: e.at, back: false)
            state.status = .won
            state.finalAmount = e.finalAmount
            state.closedAt = e.at
        case let e as DealLost:
            move(to: e.stage, at: e.at, back: false)
            state.status = .lost
            state.lostReason = e.reason
            state.closedAt = e.at
        case let e as DealReopened:
            move(to: e.toStage, at: date, back: false)
            state.status = .open
            state.finalAmount = nil
            state.lostReason = nil
            state.closedAt = nil
        default: return
        }
        store(state, deal: id, at: event.position, in: &model)
        try tally(from: before, to: state, at: event.position, in: &model)
    }

    /// Counts a deal change in its pipeline's figures (in both pipelines'
    /// when it moved from one to another) and records it.
    private func tally(from before: DealState?, to after: DealState, at position: LogPosition, in model: inout ReadModelContext) throws {
        if let before, before.pipelineID != after.pipelineID {
            try tally(from: before, to: nil, in: before.pipelineID.description, at: position, in: &model)
            try tally(from: nil, to: after, in: after.pipelineID.description, at: position, in: &model)
        } else {
            try tally(from: before, to: after, in: after.pipelineID.description, at: position, in: &model)
        }
    }

    /// Counts a change of one deal in `pipeline`'s figures, keeps its open
    /// deals' index and records the change; stores a version of the figures
    /// every ``tallyInterval`` changes, or every sixteenth of its open deals
    /// when that is more (so versions cost O(1) per change whatever the size
    /// of the pipeline). A deal of a pipeline not defined yet is counted when
    /// the pipeline is.
    private func tally(
        from before: DealState?, to after: DealState?, in pipeline: String, at position: LogPosition, in model: inout ReadModelContext
    ) throws {
        guard let info = try model.load(PipelineInfo.self, "pipeline/\(pipeline)") else { return }
        let board = PipelineBoard(info)
        var tally = try model.load(PipelineTally.self, "tally/\(pipeline)") ?? PipelineTally()
        if let before { tally.remove(before, on: board) }
        if let after { tally.add(after, on: board) }
        if let before, before.status == .open { model.remove(Self.openKey(pipeline, PipelineTally.OpenDeal(before))) }
        if let after, after.status == .open { model.mark(Self.openKey(pipeline, PipelineTally.OpenDeal(after))) }
        tally.position = position
        model.store(TallyChange(position: position, before: before, after: after), Self.tallyChangeKey(pipeline, at: position))
        tally.changesSinceVersion += 1
        if tally.changesSinceVersion >= max(Self.tallyInterval, tally.openCount / 16) {
            tally.changesSinceVersion = 0
            model.store(try version(of: tally, in: pipeline, model: model), Self.tallyKey(pipeline, at: position))
        }
        model.store(tally, "tally/\(pipeline)")
    }

    /// `tally` with the pipeline's open deals and the current state of each, to store as a version.
    private func version(of tally: PipelineTally, in pipeline: String, model: ReadModelContext) throws -> TallyVersion {
        var open: [PipelineTally.OpenDeal] = []
        let prefix = "tally-open/\(pipeline)/"
        try model.forEach(keyPrefix: prefix) { key, _ in
            guard let deal = Self.openDeal(fromKey: key.dropFirst(prefix.count)) else {
                throw ProjectionQueryError.corruptValue(key: key, reason: "not an open-deal key")
            }
            open.append(deal)
        }
        // In the version's order, each state beside its deal.
        let ordered = OpenDeals(open).entries
        let states = try ordered.map { (deal) throws -> [UInt8] in
            let key = "deal/\(deal.id)"
            guard let bytes = try model.value(forKey: key) else {
                throw ProjectionQueryError.corruptValue(key: key, reason: "missing, but the pipeline's figures count the deal as open")
            }
            return bytes.first == CompactWriter.marker ? bytes : Stored.encode(try Stored.decode(DealState.self, bytes))
        }
        return TallyVersion(tally, open: ordered, states: states)
    }

    /// Counts every deal of the pipeline afresh on its new board (its
    /// stages, their order or probabilities changed; or it was just defined,
    /// after deals were opened in it) and stores a version.
    private func retally(pipeline id: String, on board: PipelineBoard, at position: LogPosition, in model: inout ReadModelContext) throws {
        var deals: [String] = [], stale: [String] = []
        let prefix = "in-pipeline/\(id)/", openPrefix = "tally-open/\(id)/"
        try model.forEach(keyPrefix: prefix) { key, _ in deals.append(String(key.dropFirst(prefix.count))) }
        try model.forEach(keyPrefix: openPrefix) { key, _ in stale.append(key) }
        for key in stale { model.remove(key) }
        var tally = PipelineTally()
        for deal in deals {
            guard let state = try model.load(DealState.self, "deal/\(deal)"), state.pipelineID.description == id else { continue }
            tally.add(state, on: board)
            if state.status == .open { model.mark(Self.openKey(id, PipelineTally.OpenDeal(state))) }
        }
        tally.position = position
        model.store(try version(of: tally, in: id, model: model), Self.tallyKey(id, at: position))
        model.store(tally, "tally/\(id)")
    }

    /// The index key of an open deal: `tally-open/<pipeline>/<since>/<deal>`,
    /// `since` in microseconds, shifted so that key order is time order.
    static func openKey(_ pipeline: String, _ deal: PipelineTally.OpenDeal) -> String {
        "tally-open/\(pipeline)/\(Key.padded(UInt64(bitPattern: deal.since) ^ (1 << 63)))/\(deal.id)"
    }

    /// The `<since>/<deal>` part of the first key at or after which deals
    /// entered their stage at `since` or later.
    static func openKeyStart(_ pipeline: String, since: Int64) -> String {
        "tally-open/\(pipeline)/\(Key.padded(UInt64(bitPattern: since) ^ (1 << 63)))/"
    }

    /// The open deal a key names, from its `<since>/<deal>` part.
    static func openDeal(fromKey rest: Substring) -> PipelineTally.OpenDeal? {
        let parts = rest.split(separator: "/")
        guard parts.count == 2, let shifted = UInt64(parts[0]), let id = DealID(String(parts[1])) else { return nil }
        return PipelineTally.OpenDeal(since: Int64(bitPattern: shifted ^ (1 << 63)), id: id)
    }

    /// Stores the deal's current state and its version as of `position`.
    private func store(_ state: DealState, deal id: String, at position: LogPosition, in model: inout ReadModelContext) {
        let bytes = Stored.encode(state)
        model.setValue(bytes, forKey: "deal/\(id)")
        model.setValue(bytes, forKey: Self.dealKey(id, at: position))
    }

    /// Stores the pipeline's current form and its version as of `position`.
    private func store(_ info: PipelineInfo, pipeline id: String, at position: LogPosition, in model: inout ReadModelContext) {
        let bytes = Stored.encode(info)
        model.setValue(bytes, forKey: "pipeline/\(id)")
        model.setValue(bytes, forKey: Self.pipelineKey(id, at: position))
    }

    static func dealKey(_ id: String, at position: LogPosition) -> String { "deal-at/\(id)/\(Key.inverted(position))" }
    static func pipelineKey(_ id: String, at position: LogPosition) -> String { "pipeline-at/\(id)/\(Key.inverted(position))" }
    static func tallyKey(_ id: String, at position: LogPosition) -> String { "tally-at/\(id)/\(Key.inverted(position))" }
    static func tallyChangeKey(_ id: String, at position: LogPosition) -> String { "tally-change/\(id)/\(Key.inverted(position))" }
}
