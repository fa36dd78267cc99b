public import Foundation
public import RapportEventLog

/// How far a long replay has come, for progress bars.
public struct ReplayProgress: Sendable, Hashable {
    /// Events read so far in this run.
    public var done: UInt64
    /// Events to read in this run.
    public var total: UInt64
    /// Events per second so far.
    public var rate: Double
    /// Estimated seconds left at the current rate.
    public var secondsLeft: Double? {
        rate > 0 ? Double(total - min(done, total)) / rate : nil
    }
}

/// Errors of the replay engine.
public enum ReplayError: Error, Sendable, CustomStringConvertible, LocalizedError {
    /// A projection threw while applying an event; its batch was not committed.
    case projectionFailed(projection: String, position: LogPosition, reason: String)
    /// The projection did not reach the position in time.
    case timedOut(projection: String, waitedFor: LogPosition, reached: LogPosition)
    /// No projection has that name.
    case unknownProjection(String)
    /// The store failed.
    case store(EventStoreError)
    /// The task running the catch-up was cancelled. It stopped between two
    /// batches; every batch before stays committed with its checkpoint, and
    /// the next catch-up goes on from there.
    case cancelled
    /// A projection asks for payloads of types the runner's registry does not
    /// know, so it would be handed nil for them: nothing was applied.
    case unregisteredTypes(projection: String, types: [String])
    /// Two or more of the projections given to a runner share a name (each
    /// name listed once, in order), so their read models and checkpoints
    /// would be mixed up: no runner was made.
    ///
    /// ```swift
    /// do {
    ///     _ = try ProjectionRunner(log: store, storage: store, projections: [DealCount(), DealCount()])
    /// } catch .duplicateProjectionNames(let names) {
    ///     print(names)        // ["deal-count"]
    /// }
    /// ```
    case duplicateProjectionNames([String])

    /// The same as ``description``, for `localizedDescription`.
    public var errorDescription: String? { description }

    public var description: String {
        switch self {
        case .projectionFailed(let projection, let position, let reason):
            return "Projection \(projection) failed at position \(position): \(reason)."
        case .timedOut(let projection, let position, let reached):
            return "Projection \(projection) did not reach position \(position) in time (it is at \(reached))."
        case .unknownProjection(let name): return "There is no projection named \(name)."
        case .store(let error): return error.description
        case .cancelled: return "The catch-up was cancelled; the batches committed before it stay, and the next catch-up goes on from them."
        case .unregisteredTypes(let projection, let types):
            return "Projection \(projection) decodes \(types.joined(separator: ", ")), which the runner's registry does not know; "
                + "give the runner a registry that has them (for the CRM's projections, registry: .crm)."
        case .duplicateProjectionNames(let names):
            return "Projection names must be unique in a runner (each keys its read model and checkpoint); "
                + "given more than once: \(names.joined(separator: ", "))."
        }
    }
}

/// Runs projections over the log: one pass feeds all of them, each event is
/// decoded at most once, and read-model changes are committed with the
/// checkpoints in batches.
///
/// ```swift
/// let runner = try ProjectionRunner(log: store, storage: store, projections: [DealCount()])
/// let result = try await store.append(events, to: stream)
/// try await runner.wait(for: "deal-count", toReach: result.lastPosition, timeout: .seconds(5))
/// ```
public actor ProjectionRunner {
    /// The log read.
    public nonisolated let log: any EventLogReader
    /// Where read models and checkpoints are kept.
    public nonisolated let storage: any ReadModelStorage
    /// The projections fed by this runner.
    public nonisolated let projections: [any Projection]
    /// How payloads are decoded for projections.
    public nonisolated let registry: EventTypeRegistry
    /// The codec of payloads.
    public nonisolated let codec: any EventCodec
    /// Log positions per committed batch.
    public nonisolated let batchSize: Int
    /// Only events with these tags or by these actors reach the projections
    /// (``LogFilter/tags`` and ``LogFilter/actors``; its other fields are
    /// ignored). ``LogFilter/all`` by default.
    public nonisolated let scope: LogFilter

    /// Creates a runner.
    ///
    /// Each projection's name keys its read model and checkpoint, so the
    /// names must differ. The log is read and the read models committed in
    /// batches of `batchSize` events (a size below 1 is taken as 1).
    ///
    /// ```swift
    /// let runner = try ProjectionRunner(log: store, storage: store, projections: [DealStates(), AuditTrail()], registry: .crm)
    /// ```
    ///
    /// A `scope` builds a view of part of the history, reading only that
    /// part through the store's indexes: one actor's audit trail as of a
    /// date, say, costs that actor's events, not the log's. The projections
    /// must only need events within the scope for the answers you read.
    ///
    /// ```swift
    /// let anna = LogFilter(actors: ["user:anna"])
    /// let past = InMemoryReadModelStorage()
    /// try await ProjectionRunner(log: store, storage: past, projections: [AuditTrail()], registry: .crm, scope: anna)
    ///     .catchUp(upTo: try await store.position(asOf: march1))
    /// ```
    ///
    /// - Throws: ``ReplayError/duplicateProjectionNames(_:)`` when two
    ///   projections have the same name.
    public init(
        log: any EventLogReader, storage: any ReadModelStorage, projections: [any Projection],
        registry: EventTypeRegistry = EventTypeRegistry(), codec: any EventCodec = JSONEventCodec(), batchSize: Int = 5_000,
        scope: LogFilter = .all
    ) throws(ReplayError) {
        var seen: Set<String> = [], repeated: [String] = []
        for name in projections.map(\.name) where !seen.insert(name).inserted && !repeated.contains(name) {
            repeated.append(name)
        }
        guard repeated.isEmpty else { throw .duplicateProjectionNames(repeated) }
        self.log = log
        self.storage = storage
        self.projections = projections
        self.registry = registry
        self.codec = codec
        self.batchSize = max(1, batchSize)
        self.scope = LogFilter(tags: scope.tags, actors: scope.actors)
    }

    /// Where each projection stands: its checkpoint, or nil when it must start
    /// from scratch (never run, or another version).
    public func positions() throws(ReplayError) -> [String: LogPosition] {
        var result: [String: LogPosition] = [:]
        for projection in projections { result[projection.name] = try startingPoint(projection).position }
        return result
    }

    private func startingPoint(_ projection: any Projection) throws(ReplayError) -> (position: LogPosition, rebuild: Bool, stored: ProjectionCheckpoint?) {
        let stored: ProjectionCheckpoint?
        do { stored = try storage.checkpoint(of: projection.name) } catch { throw .store(error) }
        guard let stored, stored.version == projection.version else { return (.start, true, stored) }
        return (stored.position, false, stored)
    }

    /// Brings every projection up to the current head in one pass, or only
    /// up to `limit` when given (a read model "as of" a past position: build
    /// it in its own storage, such as an `InMemoryReadModelStorage`).
    ///
    /// ```swift
    /// let past = InMemoryReadModelStorage()
    /// try await ProjectionRunner(log: store, storage: past, projections: [DealCount()]).catchUp(upTo: 1_000)
    /// ```
    ///
    /// A read model never built (or of another version) is built even when
    /// there is nothing to read: on an empty log it is stored as built up to
    /// position 0, so its queries answer empty instead of refusing it as
    /// never built.
    ///
    /// - Returns: the position all projections reached.
    /// - Throws: ``ReplayError/cancelled`` when the task is cancelled (it
    ///   stops between two batches, keeping those committed); the errors of
    ///   the store and of the projections.
    @discardableResult
    public func catchUp(upTo limit: LogPosition? = nil, progress: (@Sendable (ReplayProgress) -> Void)? = nil) async throws(ReplayError) -> LogPosition {
        // One catch-up at a time: the actor is reentrant at every await, and two
        // passes from the same checkpoint would commit the same batches twice.
        await enterCatchUp()
        defer { leaveCatchUp() }
        // Another runner of one of the projections (another process, say) committed
        // first: its batches stand, and this pass starts again from the checkpoints.
        // The same conflict twice means no runner moved the checkpoint in between: the
        // storage's checkpoints and its commits disagree, and starting again cannot help.
        var lastConflict: EventStoreError?
        while true {
            do throws(ReplayError) {
                return try await pass(upTo: limit, progress: progress)
            } catch {
                guard case .store(let conflict) = error, case .checkpointMoved = conflict, conflict != lastConflict else { throw error }
                lastConflict = conflict
            }
        }
    }

    /// One pass from the stored checkpoints up to the head (or `limit`).
    private func pass(upTo limit: LogPosition?, progress: (@Sendable (ReplayProgress) -> Void)?) async throws(ReplayError) -> LogPosition {
        var head: LogPosition
        do {
            try await storage.prepareForReading()
            head = try await log.headPosition()
        } catch { throw .store(error) }
        if let limit { head = min(head, limit) }
        // A projection handed nil for the payloads it decodes would go wrong quietly: refuse it first.
        for projection in projections {
            let unknown = (projection.interest.decoding ?? []).filter { !registry.knows($0) }.sorted()
            if !unknown.isEmpty { throw .unregisteredTypes(projection: projection.name, types: unknown) }
        }
        var states = try projections.map { (projection) throws(ReplayError) -> ProjectionState in
            let start = try startingPoint(projection)
            return ProjectionState(projection: projection, position: start.position, rebuild: start.rebuild, committed: start.stored)
        }
        guard let lowest = states.map(\.position).min(), lowest < head else {
            // Nothing to read (an empty log, or a limit of 0): a read model never built, or
            // of another version, is still marked built up to here, so that its queries answer
            // "nothing yet" instead of refusing it as never built.
            let changes = states.filter(\.rebuild).map { state in
                ReadModelChanges(
                    projection: state.projection.name, resetFirst: true,
                    checkpoint: ProjectionCheckpoint(version: state.projection.version, position: head),
                    condition: CheckpointCondition(state.committed))
            }
            if !changes.isEmpty {
                do { try await storage.commit(changes) } catch { throw .store(error) }
            }
            return head
        }
        // One filter for the whole pass: the union of interests (no type filter if any projection wants all).
        let types: Set<String>? = states.contains { $0.projection.interest.types == nil }
            ? nil : states.reduce(into: Set<String>()) { $0.formUnion($1.projection.interest.types!) }
        let started = Date()
        let total = head.rawValue - lowest.rawValue
        let storage = self.storage
        // Three batches are under way at once: batch N is committed (on the
        // store's writer) while batch N + 1 is applied and batch N + 2 is read
        // and decoded. Batch N + 1 reads N's writes from memory until that
        // commit is done; commits stay in order.
        var inFlight: BatchCommit?
        var expectedWrites = states.map { _ in 0 }
        // Keys read from storage, answered from memory when read again (a round trip each on PostgreSQL).
        let caches = states.map { _ in ReadCache() }
        let source = BatchSource(log: log, registry: registry, codec: codec, scope: scope, types: types, batchSize: batchSize, head: head)
        // Which projection wants an event of a later batch does not depend on
        // the batches before it: every event there is past their end.
        var loading: Task<Result<LoadedBatch, ReplayError>, Never>? = source.load(from: lowest.next, states: states)
        do throws(ReplayError) {
            // The last batch ends at the head, and no load follows it.
            while let current = loading {
                // Cancelled: stop between batches (the commit in flight still lands).
                if Task.isCancelled { throw .cancelled }
                let loaded = try await current.value.get()
                let batchEnd = loaded.end
                loading = batchEnd < head ? source.load(from: batchEnd.next, states: states) : nil
                var contexts = states.indices.map { index in
                    ReadModelContext(
                        projection: states[index].projection.name, storage: storage, pending: inFlight?.writes[index] ?? [:],
                        storageHidden: states[index].rebuild || inFlight?.hidesStorage[index] == true,
                        cache: caches[index], expectedWrites: expectedWrites[index])
                }
                try await apply(loaded, states: states, to: &contexts)
                for index in states.indices {
                    expectedWrites[index] = contexts[index].writes.count
                    caches[index].apply(contexts[index].writes)
                }
                var changes: [ReadModelChanges] = []
                var hidesStorage: [Bool] = []
                for index in states.indices {
                    let advances = states[index].position < batchEnd
                    // Until this commit lands, the storage of a projection it resets is stale.
                    hidesStorage.append(advances && states[index].rebuild)
                    guard advances else { continue }
                    // Committed only onto the checkpoint this pass started from, or committed last.
                    let checkpoint = ProjectionCheckpoint(version: states[index].projection.version, position: batchEnd)
                    changes.append(ReadModelChanges(
                        projection: states[index].projection.name, resetFirst: states[index].rebuild, writes: contexts[index].writes,
                        checkpoint: checkpoint, condition: CheckpointCondition(states[index].committed)))
                    states[index].position = batchEnd
                    states[index].rebuild = false
                    states[index].committed = checkpoint
                }
                if let landing = inFlight {
                    inFlight = nil
                    try await landing.land(from: lowest, total: total, started: started, progress: progress)
                }
                inFlight = BatchCommit(changes, to: storage, writes: contexts.map(\.writes), hidesStorage: hidesStorage, end: batchEnd)
            }
            if let landing = inFlight {
                inFlight = nil
                try await landing.land(from: lowest, total: total, started: started, progress: progress)
            }
        } catch {
            // Never leave a commit or a read running behind the caller's back.
            _ = await loading?.value
            _ = await inFlight?.commit.value
            throw error
        }
        return head
    }

    private var catchingUp = false
    private var waitingToCatchUp: [CheckedContinuation<Void, Never>] = []

    private func enterCatchUp() async {
        guard catchingUp else { return catchingUp = true }
        await withCheckedContinuation { waitingToCatchUp.append($0) }  // handed over by leaveCatchUp
    }

    private func leaveCatchUp() {
        if waitingToCatchUp.isEmpty { catchingUp = false } else { waitingToCatchUp.removeFirst().resume() }
    }

    /// The events of one batch and what each projection takes of them.
    private struct LoadedBatch: Sendable {
        let events: [RecordedEvent]
        let prepared: PreparedBatch
        /// The batch's last position (events may end before it: filtered out).
        let end: LogPosition
    }

    /// Reads batches and works out what the projections take of them, off
    /// the runner's actor, so a batch is read while the one before is applied.
    private struct BatchSource: Sendable {
        let log: any EventLogReader
        let registry: EventTypeRegistry
        let codec: any EventCodec
        let scope: LogFilter
        let types: Set<String>?
        let batchSize: Int
        let head: LogPosition

        /// Starts reading the batch that begins at `start`.
        func load(from start: LogPosition, states: [ProjectionState]) -> Task<Result<LoadedBatch, ReplayError>, Never> {
            Task.detached {
                do throws(ReplayError) { return .success(try await read(from: start, states: states)) } catch { return .failure(error) }
            }
        }

        /// Reads the batch's events; then which projection wants which event
        /// is worked out, and the payloads any projection needs are decoded,
        /// once each, in chunks that run side by side.
        private func read(from start: LogPosition, states: [ProjectionState]) async throws(ReplayError) -> LoadedBatch {
            let end = LogPosition(Swift.min(head.rawValue, start.rawValue + UInt64(batchSize) - 1))
            var events: [RecordedEvent] = []
            var cursor = start
            while cursor <= end {
                let page: [RecordedEvent]
                do {
                    // Bounded by the batch: nothing past it is read (an index
                    // would otherwise hand over matches far beyond it).
                    let filter = LogFilter(types: types, tags: scope.tags, actors: scope.actors, through: end)
                    page = try await log.readLog(from: cursor, filter: filter, limit: Swift.min(1_024, Int(end.rawValue - cursor.rawValue) + 1))
                } catch { throw .store(error) }
                for event in page where event.position <= end { events.append(event) }
                guard let last = page.last, last.position < end else { break }
                cursor = last.position.next
            }
            let prepared = await ProjectionRunner.prepare(events, for: states, registry: registry, codec: codec)
            return LoadedBatch(events: events, prepared: prepared, end: end)
        }
    }

    /// Applies a loaded batch to the projections that want its events: each
    /// projection applies the events it wants, in log order, in a task of
    /// its own. Projections share nothing but the decoded payloads (each has
    /// its own context), so they run in parallel on as many cores as there are.
    private func apply(_ loaded: LoadedBatch, states: [ProjectionState], to contexts: inout [ReadModelContext]) async throws(ReplayError) {
        guard !loaded.events.isEmpty else { return }
        let batch = loaded.events, prepared = loaded.prepared
        let applied = await withTaskGroup(of: (Int, Result<ReadModelContext, ReplayError>).self) { group in
            for index in states.indices where prepared.wantsAny(index) {
                let projection = states[index].projection
                let context = contexts[index]
                group.addTask {
                    (index, Self.apply(batch, prepared: prepared, projection: projection, slot: index, context: context))
                }
            }
            var results: [(Int, Result<ReadModelContext, ReplayError>)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }
        }
        for (index, result) in applied {
            switch result {
            case .success(let context): contexts[index] = context
            case .failure(let error): throw error  // the first projection in the runner's order that failed
            }
        }
    }

    /// What each projection takes of a batch, worked out once: whether it
    /// wants each event (it has not seen it and its interest takes it), and
    /// the payloads some projection wants decoded.
    private struct PreparedBatch: Sendable {
        let projections: Int
        /// Event-major: `wanted[event * projections + projection]`.
        var wanted: [Bool]
        var payloads: [Payload]

        /// One event's payload as the projections get it.
        enum Payload: Sendable {
            /// Not asked for, or of a type the registry does not know: projections get nil.
            case none
            case decoded(any Event)
            /// A registered type whose payload does not decode, and why.
            case undecodable(String)
        }

        func wants(_ event: Int, _ projection: Int) -> Bool { wanted[event * projections + projection] }

        func wantsAny(_ projection: Int) -> Bool {
            stride(from: projection, to: wanted.count, by: projections).contains { wanted[$0] }
        }
    }

    /// ``PreparedBatch`` of `events`, each payload decoded at most once, in up
    /// to as many chunks as there are cores.
    private static func prepare(
        _ events: [RecordedEvent], for states: [ProjectionState], registry: EventTypeRegistry, codec: any EventCodec
    ) async -> PreparedBatch {
        @Sendable func prepare(_ range: Range<Int>) -> PreparedBatch {
            var part = PreparedBatch(projections: states.count, wanted: [], payloads: [])
            part.wanted.reserveCapacity(range.count * states.count)
            part.payloads.reserveCapacity(range.count)
            for event in events[range] {
                var decodes = false
                for state in states {
                    let wants = state.position < event.position && state.projection.interest.wants(event)
                    part.wanted.append(wants)
                    decodes = decodes || (wants && state.projection.interest.decodes(event.type))
                }
                var payload = PreparedBatch.Payload.none
                if decodes {
                    do throws(EventStoreError) { payload = .decoded(try registry.decode(event, codec: codec)) } catch {
                        if registry.knows(event.type) { payload = .undecodable(error.description) }
                    }
                }
                part.payloads.append(payload)
            }
            return part
        }
        let chunks = Swift.min(ProcessInfo.processInfo.activeProcessorCount, Swift.max(1, events.count / 256))
        guard chunks > 1 else { return prepare(0..<events.count) }
        let size = (events.count + chunks - 1) / chunks
        return await withTaskGroup(of: (Int, PreparedBatch).self) { group in
            for chunk in 0..<chunks {
                let range = (chunk * size)..<Swift.min(events.count, (chunk + 1) * size)
                group.addTask { (chunk, prepare(range)) }
            }
            var parts = [PreparedBatch?](repeating: nil, count: chunks)
            for await (chunk, part) in group { parts[chunk] = part }
            var whole = PreparedBatch(projections: states.count, wanted: [], payloads: [])
            whole.wanted.reserveCapacity(events.count * states.count)
            whole.payloads.reserveCapacity(events.count)
            for part in parts {
                whole.wanted += part!.wanted
                whole.payloads += part!.payloads
            }
            return whole
        }
    }

    /// One projection's share of a batch: every event it wants, in log order.
    private static func apply(
        _ events: [RecordedEvent], prepared: PreparedBatch, projection: any Projection, slot: Int, context: ReadModelContext
    ) -> Result<ReadModelContext, ReplayError> {
        var context = context
        for (index, event) in events.enumerated() where prepared.wants(index, slot) {
            var decoded: (any Event)?
            if projection.interest.decodes(event.type) {
                switch prepared.payloads[index] {
                case .none: break
                case .decoded(let payload): decoded = payload
                case .undecodable(let reason):
                    // A payload the projection needs and the registry cannot read: stop here, not apply nil.
                    return .failure(.projectionFailed(projection: projection.name, position: event.position, reason: reason))
                }
            }
            do {
                try projection.apply(event, decoded: decoded, to: &context)
            } catch {
                return .failure(.projectionFailed(projection: projection.name, position: event.position, reason: "\(error)"))
            }
        }
        return .success(context)
    }

    /// One batch's commit, running while the next batch is applied.
    private struct BatchCommit {
        let commit: Task<Result<Void, EventStoreError>, Never>
        /// Each projection's writes in the batch (by the runner's projection order).
        let writes: [[String: [UInt8]?]]
        /// Whether the commit resets each projection's read model (its committed state is stale until it lands).
        let hidesStorage: [Bool]
        let end: LogPosition

        init(_ changes: [ReadModelChanges], to storage: any ReadModelStorage, writes: [[String: [UInt8]?]], hidesStorage: [Bool], end: LogPosition) {
            commit = Task {
                do throws(EventStoreError) { try await storage.commit(changes) } catch { return .failure(error) }
                return .success(())
            }
            self.writes = writes
            self.hidesStorage = hidesStorage
            self.end = end
        }

        /// Waits for the commit, then reports progress.
        func land(
            from lowest: LogPosition, total: UInt64, started: Date, progress: (@Sendable (ReplayProgress) -> Void)?
        ) async throws(ReplayError) {
            if case .failure(let error) = await commit.value { throw .store(error) }
            let done = end.rawValue - lowest.rawValue
            let elapsed = Date().timeIntervalSince(started)
            progress?(ReplayProgress(done: done, total: total, rate: elapsed > 0 ? Double(done) / elapsed : 0))
        }
    }

    /// Waits until projection `name` has applied everything up to `position`
    /// (read your own writes: pass the position an append returned).
    ///
    /// - Throws: ``ReplayError/timedOut(projection:waitedFor:reached:)`` after `timeout`;
    ///   ``ReplayError/cancelled`` when the task is cancelled.
    public func wait(for name: String, toReach position: LogPosition, timeout: Duration = .seconds(10)) async throws(ReplayError) {
        guard let projection = projections.first(where: { $0.name == name }) else { throw .unknownProjection(name) }
        let deadline = ContinuousClock.now + timeout
        do { try await storage.prepareForReading() } catch { throw .store(error) }
        while true {
            let reached = try startingPoint(projection)
            if !reached.rebuild && reached.position >= position { return }
            try await catchUp()
            let after = try startingPoint(projection)
            if !after.rebuild && after.position >= position { return }
            guard ContinuousClock.now < deadline else {
                throw .timedOut(projection: name, waitedFor: position, reached: after.rebuild ? .start : after.position)
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Follows the log until the task is cancelled, catching up every
    /// `interval`; a catch-up under way when it is cancelled stops between
    /// two batches.
    public func run(every interval: Duration = .milliseconds(100)) async throws(ReplayError) {
        while !Task.isCancelled {
            do { try await catchUp() } catch {
                if case .cancelled = error { return }
                throw error
            }
            try? await Task.sleep(for: interval)
        }
    }

    private struct ProjectionState {
        let projection: any Projection
        var position: LogPosition
        var rebuild: Bool
        /// The stored checkpoint when the pass started, then the last one committed.
        var committed: ProjectionCheckpoint?
    }
}
