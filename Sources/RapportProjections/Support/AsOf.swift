public import Foundation
public import RapportCore
public import RapportEventLog
public import RapportReplay

extension Projection {
    /// This projection's read model as of `position`: built from events
    /// `1...position` only, in memory. The cost depends on the history up to
    /// `position`, not on what came after.
    ///
    /// ```swift
    /// let past = try await DealStates().readModel(asOf: 1_200, from: store)
    /// let deal = try DealStates().state(of: dealID, in: past)
    /// ```
    ///
    /// - Parameter scope: only events with these tags or by these actors
    ///   (see ``ProjectionRunner/scope``), for a view of one entity.
    public func readModel(
        asOf position: LogPosition, from log: any EventLogReader, registry: EventTypeRegistry = .crm, scope: LogFilter = .all
    ) async throws(ReplayError) -> InMemoryReadModelStorage {
        let storage = InMemoryReadModelStorage()
        try await ProjectionRunner(log: log, storage: storage, projections: [self], registry: registry, scope: scope)
            .catchUp(upTo: position)
        return storage
    }

    /// This projection's read model as of `date`: built from the events
    /// recorded at or before it (see `position(asOf:)`).
    ///
    /// ```swift
    /// let endOfMarch = try await DealStates().readModel(asOf: april1.addingTimeInterval(-1), from: store)
    /// ```
    public func readModel(
        asOf date: Date, from log: any EventLogReader, registry: EventTypeRegistry = .crm
    ) async throws(ReplayError) -> InMemoryReadModelStorage {
        let position: LogPosition
        do { position = try await log.position(asOf: date) } catch { throw .store(error) }
        return try await readModel(asOf: position, from: log, registry: registry)
    }

    /// Runs `body` in one read of this projection's read model, with the
    /// read model's checkpoint in that same read, so that what `body` reads
    /// and the checkpoint it checks are one state (a rebuild started since
    /// the caller looked is caught).
    ///
    /// A read model never built is refused with
    /// ``ProjectionQueryError/notBuilt(projection:)``: its empty answers
    /// would read as "nothing recorded". One stored by another version of
    /// the projection (the runner rebuilds it at its next catch-up) is
    /// refused with ``ProjectionQueryError/notCaughtUp(projection:reached:asked:)``
    /// (`reached` nil, `asked` the position it was stored up to): its keys
    /// and values are not this version's to read.
    func query<R>(
        in storage: any ReadModelStorage, _ body: (any ReadModelReader, ProjectionCheckpoint) throws(ProjectionQueryError) -> R
    ) throws(ProjectionQueryError) -> R {
        try storage.query(name) { (reader) throws(ProjectionQueryError) -> R in
            let found: ProjectionCheckpoint?
            do throws(EventStoreError) { found = try reader.checkpoint() } catch { throw .store(error) }
            guard let checkpoint = found else { throw .notBuilt(projection: name) }
            guard checkpoint.version == version else {
                throw .notCaughtUp(projection: name, reached: nil, asked: checkpoint.position)
            }
            return try body(reader, checkpoint)
        }
    }

    /// Throws ``ProjectionQueryError/notCaughtUp(projection:reached:asked:)``
    /// unless `checkpoint` (this version's, read by ``query(in:_:)`` in the
    /// same read as the values) has reached `position`.
    func requireReached(_ position: LogPosition, _ checkpoint: ProjectionCheckpoint) throws(ProjectionQueryError) {
        guard checkpoint.position >= position else {
            throw .notCaughtUp(projection: name, reached: checkpoint.position, asked: position)
        }
    }
}

extension DealStates {
    /// A deal's state as of `position`. When `log` is a store whose own
    /// deal-states read model has reached `position`, one seek in it
    /// (``state(of:asOf:in:)``); else, when it can read streams (every store
    /// can), only the deal's and its pipeline's streams
    /// (``state(of:asOf:fromStreamsIn:)``); otherwise a build of every deal
    /// from events `1...position`.
    ///
    /// ```swift
    /// let then = try await states.state(of: dealID, asOf: result.lastPosition, from: store)
    /// ```
    public func state(of deal: DealID, asOf position: LogPosition, from log: any EventLogReader) async throws -> DealState? {
        if let storage = try await storedModel(reaching: position, in: log) {
            do {
                return try state(of: deal, asOf: position, in: storage)
            } catch ProjectionQueryError.notCaughtUp {
                // Rebuilt since it was checked: answered from the log below.
            }
        }
        if let streams = log as? any EventStreamReader {
            return try await state(of: deal, asOf: position, fromStreamsIn: streams)
        }
        return try state(of: deal, in: try await readModel(asOf: position, from: log))
    }

    /// A pipeline's summary as of `position`: from the store's own deal-states
    /// read model when `log` is a store whose read model has reached
    /// `position` (``summary(of:asOf:in:now:staleAfterDays:)``: the stored
    /// figures before it, the few changes after them, one seek per stale
    /// deal), else a fresh build from events `1...position`.
    ///
    /// ```swift
    /// let endOfQuarter = try await store.position(asOf: quarterEnd)
    /// let summary = try await states.summary(of: sales, asOf: endOfQuarter, from: store, now: quarterEnd)
    /// ```
    ///
    /// - Throws: ``ProjectionQueryError/invalidArgument(name:reason:)`` for a
    ///   negative `staleAfterDays`, before anything is read or built.
    public func summary(
        of pipeline: PipelineID, asOf position: LogPosition, from log: any EventLogReader, now: Date, staleAfterDays: Int = 30
    ) async throws -> PipelineSummary? {
        try requireDays(staleAfterDays, argument: "staleAfterDays")
        if let storage = try await storedModel(reaching: position, in: log) {
            do {
                return try summary(of: pipeline, asOf: position, in: storage, now: now, staleAfterDays: staleAfterDays)
            } catch ProjectionQueryError.notCaughtUp {
                // Rebuilt since it was checked: built from the log below.
            }
        }
        return try summary(of: pipeline, in: try await readModel(asOf: position, from: log), now: now, staleAfterDays: staleAfterDays)
    }

    /// The store's own deal-states read model, when `log` keeps read models
    /// too (every store does) and this version of it has reached `position`.
    private func storedModel(reaching position: LogPosition, in log: any EventLogReader) async throws -> (any ReadModelStorage)? {
        guard let storage = log as? any ReadModelStorage else { return nil }
        try await storage.prepareForReading()
        return try hasReached(position, in: storage) ? storage : nil
    }
}
