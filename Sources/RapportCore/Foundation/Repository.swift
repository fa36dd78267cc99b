import Foundation
public import RapportEventLog

/// Loads aggregates from an event store and runs commands on them.
///
/// Running a command loads the aggregate's stream, asks the access policy,
/// lets the command decide its events, and appends them with the version it
/// loaded, so a concurrent change surfaces as ``CRMError/concurrencyConflict(stream:expected:actual:)``
/// instead of a lost update. Every event carries the context's actor,
/// channel, correlation and causation ids, and the aggregate's tags.
///
/// ```swift
/// let repository = Repository(store: store, policy: RoleBasedAccessPolicy())
/// let id = ContactID()
/// try await repository.execute(.create(name: PersonName(given: "Ada", family: "Lovelace")), on: id, context: context)
/// let contact = try await repository.load(id).state
/// ```
///
/// With ``snapshots``, loading a long-lived aggregate reads its newest
/// snapshot and only the events after it (see ``AggregateSnapshots``):
///
/// ```swift
/// let repository = Repository(store: lmdbStore, snapshots: AggregateSnapshots(storage: lmdbStore))
/// ```
public struct Repository: Sendable {
    /// The store events are read from and appended to.
    public let store: any EventStore
    /// Who may run what.
    public let policy: any AccessPolicy
    /// How payloads are encoded.
    public let codec: any EventCodec
    /// The event types the repository can read (every aggregate's, with upcasters).
    public let registry: EventTypeRegistry
    /// Where snapshots of aggregates are kept, and when they are taken; nil: no snapshots.
    public let snapshots: AggregateSnapshots?

    /// Creates a repository over `store`. The registry defaults to every CRM
    /// event type; snapshots are off unless given.
    public init(
        store: any EventStore, policy: any AccessPolicy = AllowAllPolicy(), codec: any EventCodec = JSONEventCodec(),
        registry: EventTypeRegistry = .crm, snapshots: AggregateSnapshots? = nil
    ) {
        self.store = store
        self.policy = policy
        self.codec = codec
        self.registry = registry
        self.snapshots = snapshots
    }

    /// Loads an aggregate: the fold of every event of its stream.
    ///
    /// With ``snapshots`` and a ``SnapshottableAggregate``, it starts from the
    /// newest usable snapshot and replays only the events after it; it writes
    /// a new snapshot when ``SnapshotPolicy/interval`` events or more were
    /// replayed, and replaces an unusable one. The state is the same either way.
    ///
    /// ```swift
    /// let loaded = try await repository.load(dealID)
    /// print(loaded.state.stage, "at version", loaded.version)
    /// ```
    ///
    /// - Throws: ``CRMError/store(_:)`` when the store fails or a stored event
    ///   cannot be decoded (never because of a snapshot); ``CRMError/invalidValue(field:reason:)``
    ///   with the field `kind` when `A`'s ``Aggregate/kind`` breaks its rule.
    public func load<A: Aggregate>(_ id: Identifier<A>) async throws(CRMError) -> Loaded<A> {
        try await load(id, through: nil).loaded
    }

    /// Runs `command` on the aggregate `id` and appends its events.
    ///
    /// - Returns: what the append did (positions, to wait for projections).
    /// - Throws: the command's ``CRMError``; ``CRMError/notFound(kind:id:)`` or
    ///   ``CRMError/alreadyExists(kind:id:)``; ``CRMError/accessDenied(actor:command:entity:reason:)``;
    ///   ``CRMError/concurrencyConflict(stream:expected:actual:)``;
    ///   ``CRMError/invalidValue(field:reason:)`` with the field `kind` when
    ///   `A`'s ``Aggregate/kind`` breaks its rule (nothing is appended).
    @discardableResult
    public func execute<A: Aggregate>(_ command: Command<A>, on id: Identifier<A>, context: CommandContext) async throws(CRMError) -> AppendResult {
        var unit = UnitOfWork(repository: self, context: context)
        try await unit.execute(command, on: id)
        return try await unit.commit()
    }

    /// Runs `command`, and when another writer changed the aggregate meanwhile,
    /// reloads it and runs the command again on the fresh state, up to `attempts` times.
    @discardableResult
    public func executeRetrying<A: Aggregate>(
        _ command: Command<A>, on id: Identifier<A>, context: CommandContext, attempts: Int = 3
    ) async throws(CRMError) -> AppendResult {
        var attempt = 1
        while true {
            do throws(CRMError) {
                return try await execute(command, on: id, context: context)
            } catch {
                guard case .concurrencyConflict = error, attempt < attempts else { throw error }
                attempt += 1
            }
        }
    }

    /// Runs several commands, on several aggregates, as one atomic append:
    /// all their events are stored, or none.
    ///
    /// ```swift
    /// try await repository.transaction(context: context) { unit in
    ///     try await unit.convertLead(leadID, contact: .new(id: contactID), company: nil, deal: nil)
    ///     try await unit.execute(.changeJobTitle(to: "CTO"), on: contactID)
    ///     try await unit.execute(.open(title: "Pilot", in: sales, contacts: [DealContact(contactID: contactID, role: .decisionMaker)]), on: dealID)
    /// }
    /// ```
    @discardableResult
    public func transaction(
        context: CommandContext, _ body: (inout UnitOfWork) async throws(CRMError) -> Void
    ) async throws(CRMError) -> AppendResult {
        var unit = UnitOfWork(repository: self, context: context)
        try await body(&unit)
        return try await unit.commit()
    }

    /// Asks the access policy whether `context.actor` may run `command` on
    /// `id` (whose owner is `ownerID`); a refusal is recorded, then thrown.
    func authorize<A: Aggregate>(
        _ command: Command<A>, on id: Identifier<A>, ownerID: String?, context: CommandContext
    ) async throws(CRMError) {
        let request = AccessRequest(
            actor: context.actor, command: command.name, entityKind: A.kind, entityID: id.description,
            ownerID: ownerID, isCreation: command.target == .new, isSensitive: command.isSensitive)
        if case .deny(let reason) = policy.decide(request) {
            try await recordDenial(command: command.name, entity: id.tag, reason: reason, context: context)
            throw .accessDenied(actor: context.actor.id, command: command.name, entity: id.tag.rawValue, reason: reason)
        }
    }

    /// Records that `context.actor` was refused `command` on `entity`.
    func recordDenial(command: String, entity: Tag, reason: String, context: CommandContext) async throws(CRMError) {
        let denied = AccessDenied(command: command, entity: entity.rawValue, reason: reason, at: context.now)
        do throws(EventStoreError) {
            // An actor id too long for a tag (the log takes ids up to 255 bytes) is still in the
            // event's metadata: the refusal is recorded without the tag rather than not at all.
            let actorTag = try? Tag("actor:\(context.actor.id)")
            let event = try NewEvent(denied, metadata: context.metadata, tags: [entity] + (actorTag.map { [$0] } ?? []),
                                     occurredAt: context.now, codec: codec)
            try await store.append([event], to: try StreamID("access-denied"))
        } catch {
            throw .store(error)
        }
    }
}

/// The commands of one atomic append, across any number of aggregates.
/// Obtained from ``Repository/transaction(context:_:)``.
public struct UnitOfWork: Sendable {
    let repository: Repository
    /// Who runs the unit's commands; every event records it.
    public internal(set) var context: CommandContext
    private var parts: [StreamAppend] = []
    /// Where each stream's part is in `parts`.
    private var partIndex: [StreamID: Int] = [:]
    private(set) var states: [StreamID: any Sendable] = [:]
    private var versions: [StreamID: UInt64] = [:]
    /// The stream version each loaded aggregate's next snapshot is counted from.
    var snapshotBases: [StreamID: UInt64] = [:]
    /// While a savepoint is open: how to undo each change since.
    private var journal: [Undo]?
    /// How many parts there were when the savepoint opened.
    private var partsAtSavepoint = 0
    /// Whether a command since the savepoint appended to a part created
    /// before it that is no longer the last part: its events would land
    /// before events of later operations, out of the order things happened.
    private(set) var reordered = false

    private enum Undo: Sendable {
        case state(StreamID, (any Sendable)?)
        case version(StreamID, UInt64?)
        case partEvents(index: Int, count: Int)
        case partAdded
    }

    init(repository: Repository, context: CommandContext) {
        self.repository = repository
        self.context = context
    }

    /// The aggregate as this unit sees it: its stored state plus the events
    /// decided so far in this unit.
    public mutating func load<A: Aggregate>(_ id: Identifier<A>) async throws(CRMError) -> A {
        try requireValidKind(A.self)
        if let state = states[id.streamID] as? A { return state }
        let result = try await repository.load(id, through: nil)
        journal?.append(.state(id.streamID, states[id.streamID]))
        journal?.append(.version(id.streamID, versions[id.streamID]))
        states[id.streamID] = result.loaded.state
        versions[id.streamID] = result.loaded.version
        snapshotBases[id.streamID] = result.snapshotBase
        return result.loaded.state
    }

    /// Decides `command` on `id` and keeps its events for the commit.
    public mutating func execute<A: Aggregate>(_ command: Command<A>, on id: Identifier<A>) async throws(CRMError) {
        // Events record `now` (occurred-at, and dates such as a deal's close): the same years as any date input.
        _ = try validatedDate(context.now, field: "now")
        var state = try await load(id)
        let version = versions[id.streamID] ?? 0
        let pending = partIndex[id.streamID]
        let exists = version > 0 || pending != nil
        // Access first: a refused attempt is recorded, and learns nothing about the entity.
        try await repository.authorize(command, on: id, ownerID: state.ownerID, context: context)
        switch command.target {
        case .new where exists: throw .alreadyExists(kind: A.kind, id: id.description)
        case .existing where !exists: throw .notFound(kind: A.kind, id: id.description)
        default: break
        }
        let events = try command.decide(state, context)
        var encoded: [NewEvent] = []
        for event in events {
            let previousOwner = state.ownerID
            state.apply(event)
            var tags = [id.tag]
            if let owner = state.ownerID, let tag = try? Tag("owner:\(owner)") { tags.append(tag) }
            // A handover also carries the owner it leaves: a query by that owner sees them lose the record.
            if let previousOwner, previousOwner != state.ownerID, let tag = try? Tag("owner:\(previousOwner)") { tags.append(tag) }
            for tag in state.extraTags(for: event) where !tags.contains(tag) { tags.append(tag) }
            do throws(EventStoreError) {
                encoded.append(try NewEvent(event, metadata: context.metadata, tags: tags, occurredAt: context.now, codec: repository.codec))
            } catch {
                throw .store(error)
            }
        }
        journal?.append(.state(id.streamID, states[id.streamID]))
        states[id.streamID] = state
        guard !encoded.isEmpty else { return }  // nothing to append: the stream is only read
        pendingEventCount += encoded.count
        if let pending {
            if journal != nil && pending < partsAtSavepoint && pending != parts.count - 1 { reordered = true }
            journal?.append(.partEvents(index: pending, count: parts[pending].events.count))
            parts[pending].events += encoded
        } else {
            journal?.append(.partAdded)
            partIndex[id.streamID] = parts.count
            parts.append(StreamAppend(streamID: id.streamID, expectedVersion: .exactly(version), events: encoded))
        }
    }

    /// Starts recording changes so ``rollBackToSavepoint()`` can undo them.
    mutating func openSavepoint() {
        journal = []
        partsAtSavepoint = parts.count
        reordered = false
    }

    /// Forgets the recorded changes, keeping them.
    mutating func releaseSavepoint() { journal = nil }

    /// Undoes every change since ``openSavepoint()``.
    mutating func rollBackToSavepoint() {
        rollBack(toJournalCount: 0)
        journal = nil
    }

    /// Runs `body`, a step of several commands, all or nothing: if it throws,
    /// every change it made to the unit is undone, so a caller that catches
    /// the error commits none of the step. Steps nest, and nest inside a
    /// ``BulkWriter`` run.
    mutating func allOrNothing<Value>(
        _ body: (inout UnitOfWork) async throws(CRMError) -> Value
    ) async throws(CRMError) -> Value {
        let outer = journal != nil
        if !outer { journal = [] }
        let mark = journal?.count ?? 0
        do throws(CRMError) {
            let value = try await body(&self)
            if !outer { journal = nil }
            return value
        } catch {
            rollBack(toJournalCount: mark)
            if !outer { journal = nil }
            throw error
        }
    }

    /// Undoes the changes recorded after the first `count` of the journal.
    private mutating func rollBack(toJournalCount count: Int) {
        guard let recorded = journal, recorded.count > count else { return }
        let undo = recorded[count...]
        journal?.removeLast(recorded.count - count)
        for change in undo.reversed() {
            switch change {
            case .state(let stream, let old): states[stream] = old
            case .version(let stream, let old): versions[stream] = old
            case .partEvents(let index, let count):
                pendingEventCount -= parts[index].events.count - count
                parts[index].events.removeLast(parts[index].events.count - count)
            case .partAdded:
                let removed = parts.removeLast()
                partIndex[removed.streamID] = nil
                pendingEventCount -= removed.events.count
            }
        }
    }

    /// The number of events decided and not yet appended.
    public private(set) var pendingEventCount = 0

    /// Appends what is pending without the read-set checks and keeps going:
    /// the unit's states stay, their versions move on. For ``BulkWriter``, whose
    /// unit is the only writer of its streams. Drops cached states beyond
    /// `keepingAtMost` (they are reloaded when needed).
    mutating func commitAndContinue(keepingAtMost limit: Int) async throws(CRMError) -> AppendResult? {
        guard !parts.isEmpty else { return nil }
        let result = try await appendParts()
        for part in parts { versions[part.streamID, default: 0] += UInt64(part.events.count) }
        await takeDueSnapshots(after: result, of: parts)
        parts.removeAll(keepingCapacity: true)
        partIndex.removeAll(keepingCapacity: true)
        pendingEventCount = 0
        if states.count > limit {
            states.removeAll(keepingCapacity: true)
            versions.removeAll(keepingCapacity: true)
            snapshotBases.removeAll(keepingCapacity: true)
        }
        return result
    }

    /// Forgets every pending event and every cached state (for ``BulkWriter``
    /// after a failed append: none of them is stored, and states decided on
    /// them would no longer match the store).
    mutating func discardPending() {
        parts.removeAll()
        partIndex.removeAll()
        pendingEventCount = 0
        states.removeAll()
        versions.removeAll()
        snapshotBases.removeAll()
    }

    /// Appends `parts` in one request; a stale expected version is a concurrency conflict.
    private func appendParts() async throws(CRMError) -> AppendResult {
        do throws(EventStoreError) {
            return try await repository.store.append(AppendRequest(parts))
        } catch {
            if case .wrongExpectedVersion(let stream, let expected, let actual) = error, case .exactly(let version) = expected {
                throw .concurrencyConflict(stream: stream.rawValue, expected: version, actual: actual)
            }
            throw .store(error)
        }
    }

    /// Appends every decided event atomically. Every aggregate the unit read
    /// but did not change (a deal's pipeline, a converted lead's existing
    /// contact) must still be at the version it was read at: the append
    /// checks it, so a decision never rests on state that changed meanwhile.
    mutating func commit() async throws(CRMError) -> AppendResult {
        if !parts.isEmpty {
            for (stream, version) in versions.sorted(by: { $0.key < $1.key }) where partIndex[stream] == nil {
                parts.append(StreamAppend(streamID: stream, expectedVersion: .exactly(version), events: []))
            }
        }
        guard !parts.isEmpty else {
            let head: LogPosition
            do { head = try await repository.store.headPosition() } catch { throw .store(error) }
            return AppendResult(positions: head...head, streamVersions: [:], wasAlreadyStored: true)
        }
        let result = try await appendParts()
        await takeDueSnapshots(after: result, of: parts)
        return result
    }
}

/// Runs many operations against aggregate states kept in memory and appends
/// their events in large atomic batches: for imports, migrations and
/// generators that write a lot at once.
///
/// Each ``run(context:_:)`` is all or nothing within the writer: if its body
/// throws, none of its commands stay pending; if an append fails, nothing that
/// was pending stays (see ``flush()``). Events are appended when at least
/// ``eventsPerCommit`` are pending, and by ``flush()``. The log keeps the order
/// of the runs: when a run touches a stream that already has events pending
/// behind other runs' events, the pending batch is appended first and the run
/// decided again (so `body` may run twice; it must only decide, not count). The writer assumes it is
/// the only writer of the streams it touches while it runs; a concurrent change
/// surfaces as ``CRMError/concurrencyConflict(stream:expected:actual:)`` at the next append.
///
/// ```swift
/// var writer = BulkWriter(repository: repository)
/// for row in rows {
///     try await writer.run(context: importContext) { unit in
///         try await unit.execute(.create(name: row.name, email: row.email), on: ContactID())
///     }
/// }
/// try await writer.flush()
/// ```
public struct BulkWriter: Sendable {
    private var unit: UnitOfWork
    /// How many pending events trigger an append.
    public let eventsPerCommit: Int
    /// How many aggregate states are kept in memory between appends at most.
    public let cachedStates: Int

    /// Creates a writer over `repository` that appends once `eventsPerCommit`
    /// events are pending (a count below 1 is taken as 1).
    public init(repository: Repository, eventsPerCommit: Int = 1_000, cachedStates: Int = 100_000) {
        unit = UnitOfWork(repository: repository, context: CommandContext(actor: Principal(id: "bulk", role: .system), channel: .import))
        self.eventsPerCommit = max(1, eventsPerCommit)
        self.cachedStates = cachedStates
    }

    /// Runs `body`'s commands with `context`; appends when enough events are pending.
    ///
    /// - Throws: what a command throws (nothing of `body` stays pending), or an append's error.
    public mutating func run(
        context: CommandContext, _ body: (inout UnitOfWork) async throws(CRMError) -> Void
    ) async throws(CRMError) {
        unit.context = context
        unit.openSavepoint()
        do throws(CRMError) {
            try await body(&unit)
            if unit.reordered {
                // Appending now would put this operation's events for a stream
                // before other operations' later events: append what is
                // pending first, then decide again on the same state.
                unit.rollBackToSavepoint()
                try await flush()
                unit.openSavepoint()
                try await body(&unit)
            }
        } catch {
            unit.rollBackToSavepoint()
            throw error
        }
        unit.releaseSavepoint()
        if unit.pendingEventCount >= eventsPerCommit { try await flush() }
    }

    /// Appends everything pending.
    ///
    /// - Throws: the append's error. Nothing pending was stored then, and the
    ///   writer drops it all (with the states it kept), so it goes on from
    ///   what the store holds: a failed append is never sent again by a later
    ///   flush, and a run that threw is never stored behind the caller's back.
    @discardableResult
    public mutating func flush() async throws(CRMError) -> AppendResult? {
        let result: AppendResult?
        do throws(CRMError) {
            result = try await unit.commitAndContinue(keepingAtMost: cachedStates)
        } catch {
            unit.discardPending()
            throw error
        }
        if let result { eventsAppended += Int(result.positions.upperBound.rawValue - result.positions.lowerBound.rawValue + 1) }
        return result
    }

    /// Events appended by this writer so far.
    public private(set) var eventsAppended = 0
    /// Events decided by this writer: appended, plus pending.
    public var eventsDecided: Int { eventsAppended + unit.pendingEventCount }
}
