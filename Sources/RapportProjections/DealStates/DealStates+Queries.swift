public import Foundation
public import RapportCore
public import RapportEventLog
import RapportReplay

extension DealStates {
    /// The deal's current state, with its stage's probability; nil when unknown.
    ///
    /// ```swift
    /// if let deal = try states.state(of: dealID, in: store) { print(deal.stage, deal.probability ?? 0) }
    /// ```
    public func state(of deal: DealID, in storage: any ReadModelStorage) throws(ProjectionQueryError) -> DealState? {
        try storage.query(name) { (reader) throws(ProjectionQueryError) in
            guard var state = try reader.decoded(DealState.self, "deal/\(deal)") else { return nil }
            let pipeline = try reader.decoded(PipelineInfo.self, "pipeline/\(state.pipelineID)")
            state.probability = pipeline?.stage(state.stage)?.probability
            return state
        }
    }

    /// A deal's state as of `position` (with its stage's probability then),
    /// from the stored read model: one seek, whatever the size of the log.
    /// nil when the deal did not exist then.
    ///
    /// ```swift
    /// let march1 = try await store.position(asOf: marchFirst)
    /// let then = try states.state(of: dealID, asOf: march1, in: store)
    /// ```
    ///
    /// - Throws: ``ProjectionQueryError/notCaughtUp(projection:reached:asked:)``
    ///   when the read model has not reached `position`.
    public func state(of deal: DealID, asOf position: LogPosition, in storage: any ReadModelStorage) throws(ProjectionQueryError) -> DealState? {
        try requireReached(position, in: storage)
        return try storage.query(name) { (reader) throws(ProjectionQueryError) in
            guard var state = try reader.first(DealState.self, under: "deal-at/\(deal)/", from: Self.dealKey(deal.description, at: position))
            else { return nil }
            let pipeline = try reader.first(
                PipelineInfo.self, under: "pipeline-at/\(state.pipelineID)/", from: Self.pipelineKey(state.pipelineID.description, at: position))
            state.probability = pipeline?.stage(state.stage)?.probability
            return state
        }
    }

    /// A pipeline's summary as of `position`, from the stored read model: one
    /// seek per deal the pipeline has now (deals opened later are left out),
    /// whatever the size of the log. nil when the pipeline did not exist then.
    ///
    /// ```swift
    /// let quarterEnd = try await store.position(asOf: endOfQuarter)
    /// let then = try states.summary(of: sales, asOf: quarterEnd, in: store, now: endOfQuarter)
    /// ```
    ///
    /// - Throws: ``ProjectionQueryError/notCaughtUp(projection:reached:asked:)``
    ///   when the read model has not reached `position`.
    public func summary(
        of pipeline: PipelineID, asOf position: LogPosition, in storage: any ReadModelStorage, now: Date, staleAfterDays: Int = 30
    ) throws(ProjectionQueryError) -> PipelineSummary? {
        try requireReached(position, in: storage)
        return try storage.query(name) { (reader) throws(ProjectionQueryError) -> PipelineSummary? in
            guard let info = try reader.first(
                PipelineInfo.self, under: "pipeline-at/\(pipeline)/", from: Self.pipelineKey(pipeline.description, at: position))
            else { return nil }
            var deals: [DealState] = []
            for key in try reader.keys(withPrefix: "in-pipeline/\(pipeline)/") {
                let id = String(key.dropFirst("in-pipeline/\(pipeline)/".count))
                if let deal = try reader.first(DealState.self, under: "deal-at/\(id)/", from: Self.dealKey(id, at: position)) {
                    deals.append(deal)
                }
            }
            return Self.summarize(pipeline, info: info, deals: deals, now: now, staleAfterDays: staleAfterDays)
        }
    }

    /// Whether the stored read model (this version) has reached `position`.
    func hasReached(_ position: LogPosition, in storage: any ReadModelStorage) throws(ProjectionQueryError) -> Bool {
        let checkpoint: ProjectionCheckpoint?
        do { checkpoint = try storage.checkpoint(of: name) } catch { throw .store(error) }
        return checkpoint.map { $0.version == version && $0.position >= position } ?? false
    }

    private func requireReached(_ position: LogPosition, in storage: any ReadModelStorage) throws(ProjectionQueryError) {
        guard try !hasReached(position, in: storage) else { return }
        let checkpoint = try? storage.checkpoint(of: name)
        throw .notCaughtUp(projection: name, reached: checkpoint.flatMap { $0.version == version ? $0.position : nil }, asked: position)
    }

    /// Every pipeline the read model knows, with its current name, ordered by name (then id).
    ///
    /// ```swift
    /// for (id, name) in try states.pipelines(in: store) {
    ///     print(name, try states.summary(of: id, in: store, now: Date())?.open.count ?? 0)
    /// }
    /// ```
    ///
    /// - Complexity: O(pipelines).
    public func pipelines(in storage: any ReadModelStorage) throws(ProjectionQueryError) -> [(id: PipelineID, name: String)] {
        try storage.query(name) { (reader) throws(ProjectionQueryError) in
            var result: [(id: PipelineID, name: String)] = []
            for key in try reader.keys(withPrefix: "pipeline/") {
                guard let id = PipelineID(String(key.dropFirst("pipeline/".count))),
                      let info = try reader.decoded(PipelineInfo.self, key) else { continue }
                result.append((id, info.name))
            }
            return result.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
        }
    }

    /// The summary of one pipeline; nil when the pipeline is unknown.
    /// `now` is the time stale deals and time in stage are measured at; a
    /// deal is stale when it is open and entered its stage more than
    /// `staleAfterDays` days before `now`.
    ///
    /// ```swift
    /// let summary = try states.summary(of: sales, in: store, now: Date(), staleAfterDays: 30)
    /// let anna = summary?.owners.first { $0.owner == "user:anna" }
    /// print(anna?.results.winRate ?? 0, anna?.open.weighted["EUR"] ?? 0)
    /// ```
    ///
    /// - Complexity: O(deals in the pipeline × their stage moves): one scan of the pipeline's deals.
    public func summary(
        of pipeline: PipelineID, in storage: any ReadModelStorage, now: Date, staleAfterDays: Int = 30
    ) throws(ProjectionQueryError) -> PipelineSummary? {
        try storage.query(name) { (reader) throws(ProjectionQueryError) -> PipelineSummary? in
            guard let info = try reader.decoded(PipelineInfo.self, "pipeline/\(pipeline)") else { return nil }
            var deals: [DealState] = []
            for key in try reader.keys(withPrefix: "in-pipeline/\(pipeline)/") {
                let id = key.split(separator: "/").last!
                if let deal = try reader.decoded(DealState.self, "deal/\(id)") { deals.append(deal) }
            }
            return Self.summarize(pipeline, info: info, deals: deals, now: now, staleAfterDays: staleAfterDays)
        }
    }

    static func summarize(_ id: PipelineID, info: PipelineInfo, deals: [DealState], now: Date, staleAfterDays: Int) -> PipelineSummary {
        // Board order: current stages, then retired ones that deals have been in.
        var board = info.stages.map { ($0, false) }
        for stage in info.retired.reversed() where !board.contains(where: { $0.0.key == stage.key })
            && deals.contains(where: { $0.stageHistory.contains { $0.stage == stage.key } }) {
            board.append((stage, true))
        }
        let index = Dictionary(board.enumerated().map { ($1.0.key, $0) }, uniquingKeysWith: { first, _ in first })
        let kind = { (key: String) in info.stage(key)?.kind }
        let probability = { (key: String) in info.stage(key)?.probability ?? 0 }
        /// Whether `to` is further along the board than `from`: won, or a later open stage.
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
            // Conversion: each stage counted once per deal.
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
