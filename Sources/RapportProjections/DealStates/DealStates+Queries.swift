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
        try query(in: storage) { (reader, _) throws(ProjectionQueryError) in
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
    ///   when the read model has not reached `position`;
    ///   ``ProjectionQueryError/notBuilt(projection:)`` when it was never built.
    public func state(of deal: DealID, asOf position: LogPosition, in storage: any ReadModelStorage) throws(ProjectionQueryError) -> DealState? {
        return try query(in: storage) { (reader, checkpoint) throws(ProjectionQueryError) in
            try requireReached(position, checkpoint)
            guard var state = try reader.first(DealState.self, under: "deal-at/\(deal)/", from: Self.dealKey(deal.description, at: position))
            else { return nil }
            let pipeline = try reader.first(
                PipelineInfo.self, under: "pipeline-at/\(state.pipelineID)/", from: Self.pipelineKey(state.pipelineID.description, at: position))
            state.probability = pipeline?.stage(state.stage)?.probability
            return state
        }
    }

    /// A pipeline's summary as of `position`, from the stored read model: the
    /// version of its figures at or before `position` (with the state of
    /// each deal open then, of which only the stale ones are read) and the
    /// deal changes after it (at most ``tallyInterval``, or a sixteenth of
    /// the open deals when that is more), whatever the size of the log.
    /// nil when the pipeline did not exist then.
    ///
    /// ```swift
    /// let quarterEnd = try await store.position(asOf: endOfQuarter)
    /// let then = try states.summary(of: sales, asOf: quarterEnd, in: store, now: endOfQuarter)
    /// ```
    ///
    /// - Throws: ``ProjectionQueryError/invalidArgument(name:reason:)`` for a
    ///   negative `staleAfterDays`, before anything is read;
    ///   ``ProjectionQueryError/notCaughtUp(projection:reached:asked:)``
    ///   when the read model has not reached `position`;
    ///   ``ProjectionQueryError/notBuilt(projection:)`` when it was never built;
    ///   ``ProjectionQueryError/corruptValue(key:reason:)`` when a stored value
    ///   does not decode or the figures are missing.
    public func summary(
        of pipeline: PipelineID, asOf position: LogPosition, in storage: any ReadModelStorage, now: Date, staleAfterDays: Int = 30
    ) throws(ProjectionQueryError) -> PipelineSummary? {
        try requireDays(staleAfterDays, argument: "staleAfterDays")
        let id = pipeline.description
        return try query(in: storage) { (reader, checkpoint) throws(ProjectionQueryError) -> PipelineSummary? in
            try requireReached(position, checkpoint)
            guard let info = try reader.first(PipelineInfo.self, under: "pipeline-at/\(id)/", from: Self.pipelineKey(id, at: position))
            else { return nil }
            let versions = "tally-at/\(id)/"
            // Deals that entered their stage before the cut-off are stale; only those of the version are read.
            let limit = PipelineTally.OpenDeal.limit(before: Self.staleBefore(now, days: staleAfterDays))
            guard var version = try reader.first(under: versions, from: Self.tallyKey(id, at: position), read: { bytes in
                var input = try CompactReader(borrowing: bytes)
                return try TallyVersionPrefix(from: &input, openBefore: limit)
            }) else {
                throw .corruptValue(key: versions, reason: "no figures as of \(position) although the pipeline existed; rebuild the read model")
            }
            // The changes after that version, newest first: counted oldest first.
            var changes: [TallyChange] = []
            var tally = version.tally
            let base = tally.position
            try reader.walk(TallyChange.self, under: "tally-change/\(id)/", from: Self.tallyChangeKey(id, at: position)) { change in
                guard change.position > base else { return false }
                changes.append(change)
                return true
            }
            let board = PipelineBoard(info)
            var open = OpenDeals(unsorted: version.open)
            var changed: [DealID: DealState] = [:]
            for change in changes.reversed() {
                if let before = change.before { tally.remove(before, on: board) }
                if let after = change.after {
                    tally.add(after, on: board)
                    changed[after.id] = after
                } else if let before = change.before {
                    changed[before.id] = nil
                }
                open.change(from: change.before, to: change.after)
            }
            // A stale deal's state then: its last change after the version, or the version's.
            let staleDeals = open.before(limit)
            var stale: [DealState] = []
            stale.reserveCapacity(staleDeals.count)
            for deal in staleDeals {
                var state: DealState
                if let latest = changed[deal.id] {
                    state = latest
                } else {
                    guard let found = version.takeState(of: deal) else {
                        throw .corruptValue(key: versions, reason: "open deal \(deal.id) as of \(position) has no state in the figures")
                    }
                    state = found
                }
                state.probability = info.stage(state.stage)?.probability
                stale.append(state)
            }
            return tally.summary(pipeline, on: board, now: now, stale: stale)
        }
    }

    /// Whether the stored read model (this version) has reached `position`:
    /// a hint only, the state can change before the next read (a query checks
    /// again in its own read, ``requireReached(_:_:)``).
    func hasReached(_ position: LogPosition, in storage: any ReadModelStorage) throws(ProjectionQueryError) -> Bool {
        let checkpoint: ProjectionCheckpoint?
        do { checkpoint = try storage.checkpoint(of: name) } catch { throw .store(error) }
        return checkpoint.map { $0.version == version && $0.position >= position } ?? false
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
        try query(in: storage) { (reader, _) throws(ProjectionQueryError) in
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
    /// `staleAfterDays` days before `now` (0: every open deal that entered
    /// its stage before `now`; a negative count is refused).
    ///
    /// ```swift
    /// let summary = try states.summary(of: sales, in: store, now: Date(), staleAfterDays: 30)
    /// let anna = summary?.owners.first { $0.owner == "user:anna" }
    /// print(anna?.results.winRate ?? 0, anna?.open.weighted["EUR"] ?? 0)
    /// ```
    ///
    /// - Throws: ``ProjectionQueryError/invalidArgument(name:reason:)`` for a
    ///   negative `staleAfterDays`, before anything is read;
    ///   ``ProjectionQueryError/notBuilt(projection:)`` when the read model was never built.
    /// - Complexity: O(stages + owners + moves + stale deals): the pipeline's
    ///   stored figures, a walk of its open deals up to the cut-off, one read per stale deal.
    public func summary(
        of pipeline: PipelineID, in storage: any ReadModelStorage, now: Date, staleAfterDays: Int = 30
    ) throws(ProjectionQueryError) -> PipelineSummary? {
        try requireDays(staleAfterDays, argument: "staleAfterDays")
        return try query(in: storage) { (reader, _) throws(ProjectionQueryError) -> PipelineSummary? in
            guard let info = try reader.decoded(PipelineInfo.self, "pipeline/\(pipeline)") else { return nil }
            guard let tally = try reader.decoded(PipelineTally.self, "tally/\(pipeline)") else {
                throw .corruptValue(key: "tally/\(pipeline)", reason: "missing although the pipeline exists; rebuild the read model")
            }
            // The open deals that entered their stage before the cut-off: a walk of their index.
            var staleIDs: [DealID] = []
            let openPrefix = "tally-open/\(pipeline)/"
            let end = Self.openKeyStart(pipeline.description, since: PipelineTally.OpenDeal.limit(before: Self.staleBefore(now, days: staleAfterDays)))
            var problem: ProjectionQueryError?
            do throws(EventStoreError) {
                try reader.forEach(keyPrefix: openPrefix) { key, _ in
                    guard key.utf8.lexicographicallyPrecedes(end.utf8) else { return false }
                    guard let deal = Self.openDeal(fromKey: key.dropFirst(openPrefix.count)) else {
                        problem = .corruptValue(key: key, reason: "not an open-deal key")
                        return false
                    }
                    staleIDs.append(deal.id)
                    return true
                }
            } catch { throw .store(error) }
            if let problem { throw problem }
            var stale: [DealState] = []
            for deal in staleIDs {
                guard var state = try reader.decoded(DealState.self, "deal/\(deal)") else {
                    throw .corruptValue(key: "deal/\(deal)", reason: "missing, but the pipeline's open-deal index lists it")
                }
                state.probability = info.stage(state.stage)?.probability
                stale.append(state)
            }
            return tally.summary(pipeline, on: PipelineBoard(info), now: now, stale: stale)
        }
    }

    /// Deals that entered their stage before this are stale at `now`.
    static func staleBefore(_ now: Date, days: Int) -> Date { now.addingTimeInterval(-Double(days) * 86_400) }
}
