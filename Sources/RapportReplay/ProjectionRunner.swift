import Foundation
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
public enum ReplayError: Error, Sendable, CustomStringConvertible {
    /// A projection threw while applying an event; its batch was not committed.
    case projectionFailed(projection: String, position: LogPosition, reason: String)
    /// The projection did not reach the position in time.
    case timedOut(projection: String, waitedFor: LogPosition, reached: LogPosition)
    /// No projection has that name.
    case unknownProjection(String)
    /// The store failed.
    case store(EventStoreError)

    public var description: String {
        switch self {
        case .projectionFailed(let projection, let position, let reason):
            return "Projection \(projection) failed at position \(position): \(reason)."
        case .timedOut(let projection, let position, let reached):
            return "Projection \(projection) did not reach position \(position) in time (it is at \(reached))."
        case .unknownProjection(let name): return "There is no projection named \(name)."
        case .store(let error): return error.description
        }
    }
}

/// Runs projections over the log: one pass feeds all of them, each event is
/// decoded at most once, and read-model changes are committed with the
/// checkpoints in batches.
///
/// ```swift
/// let runner = ProjectionRunner(log: store, storage: store, projections: [DealCount()])
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
    public init(
        log: any EventLogReader, storage: any ReadModelStorage, projections: [any Projection],
        registry: EventTypeRegistry = EventTypeRegistry(), codec: any EventCodec = JSONEventCodec(), batchSize: Int = 5_000,
        scope: LogFilter = .all
    ) {
        precondition(Set(projections.map(\.name)).count == projections.count, "projection names must be unique")
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

    private func startingPoint(_ projection: any Projection) throws(ReplayError) -> (position: LogPosition, rebuild: Bool) {
        let stored: ProjectionCheckpoint?
        do { stored = try storage.checkpoint(of: projection.name) } catch { throw .store(error) }
        guard let stored, stored.version == projection.version else { return (.start, true) }
        return (stored.position, false)
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
    /// - Returns: the position all projections reached.
    @discardableResult
    public func catchUp(upTo limit: LogPosition? = nil, progress: (@Sendable (ReplayProgress) -> Void)? = nil) async throws(ReplayError) -> LogPosition {
        var head: LogPosition
        do {
            try await storage.prepareForReading()
            head = try await log.headPosition()
        } catch { throw .store(error) }
        if let limit { head = min(head, limit) }
        var states = try projections.map { (projection) throws(ReplayError) -> ProjectionState in
            let start = try startingPoint(projection)
            return ProjectionState(projection: projection, position: start.position, rebuild: start.rebuild)
        }
        guard let lowest = states.map(\.position).min(), lowest < head else { return head }
        // One filter for the whole pass: the union of interests (no type filter if any projection wants all).
        let types: Set<String>? = states.contains { $0.projection.interest.types == nil }
            ? nil : states.reduce(into: Set<String>()) { $0.formUnion($1.projection.interest.types!) }
        let started = Date()
        let total = head.rawValue - lowest.rawValue
        var next = lowest.next
        while next <= head {
            let batchEnd = LogPosition(min(head.rawValue, next.rawValue + UInt64(batchSize) - 1))
            var contexts = states.map { ReadModelContext(projection: $0.projection.name, storage: storage, reset: $0.rebuild) }
            var cursor = next
            while cursor <= batchEnd {
                let page: [RecordedEvent]
                do {
                    // Bounded by the batch: nothing past it is read (an index
                    // would otherwise hand over matches far beyond it).
                    let filter = LogFilter(types: types, tags: scope.tags, actors: scope.actors, through: batchEnd)
                    page = try await log.readLog(from: cursor, filter: filter, limit: min(1_024, Int(batchEnd.rawValue - cursor.rawValue) + 1))
                } catch { throw .store(error) }
                for event in page where event.position <= batchEnd {
                    var decoded: (any Event)?? = .none
                    for index in states.indices where states[index].position < event.position && states[index].projection.interest.wants(event) {
                        if case .none = decoded { decoded = .some(try? registry.decode(event, codec: codec)) }
                        do {
                            try states[index].projection.apply(event, decoded: decoded!, to: &contexts[index])
                        } catch {
                            throw .projectionFailed(projection: states[index].projection.name, position: event.position, reason: "\(error)")
                        }
                    }
                }
                guard let last = page.last, last.position < batchEnd else { break }
                cursor = last.position.next
            }
            var changes: [ReadModelChanges] = []
            for index in states.indices where states[index].position < batchEnd {
                changes.append(ReadModelChanges(
                    projection: states[index].projection.name, resetFirst: states[index].rebuild, writes: contexts[index].writes,
                    checkpoint: ProjectionCheckpoint(version: states[index].projection.version, position: batchEnd)))
                states[index].position = batchEnd
                states[index].rebuild = false
            }
            do { try await storage.commit(changes) } catch { throw .store(error) }
            let done = batchEnd.rawValue - lowest.rawValue
            let elapsed = Date().timeIntervalSince(started)
            progress?(ReplayProgress(done: done, total: total, rate: elapsed > 0 ? Double(done) / elapsed : 0))
            next = batchEnd.next
        }
        return head
    }

    /// Waits until projection `name` has applied everything up to `position`
    /// (read your own writes: pass the position an append returned).
    ///
    /// - Throws: ``ReplayError/timedOut(projection:waitedFor:reached:)`` after `timeout`.
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

    /// Follows the log until the task is cancelled, catching up every `interval`.
    public func run(every interval: Duration = .milliseconds(100)) async throws(ReplayError) {
        while !Task.isCancelled {
            try await catchUp()
            try? await Task.sleep(for: interval)
        }
    }

    private struct ProjectionState {
        let projection: any Projection
        var position: LogPosition
        var rebuild: Bool
    }
}
