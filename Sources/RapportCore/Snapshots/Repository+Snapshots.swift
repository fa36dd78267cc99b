public import Foundation
public import RapportEventLog

extension Repository {
    /// Loads an aggregate as it was at log position `position`: the fold of
    /// its events at or before that position.
    ///
    /// With ``snapshots`` it starts from the newest usable snapshot at or
    /// before `position` and reads only the stream's events after it, up to
    /// `position`; without, it replays the stream from its first event up to
    /// `position`. Either way the cost depends on the aggregate's history
    /// before `position`, not on the size of the log. Loading as of a past
    /// position writes no snapshot.
    ///
    /// ```swift
    /// let won = try await repository.markDealWon(deal, finalAmount: amount, context: context)
    /// let before = try await repository.load(deal, asOf: LogPosition(won.positions.lowerBound.rawValue - 1))
    /// print(before.state.status)   // open: the deal as it was just before it was won
    /// ```
    ///
    /// - Returns: the state, and the stream version it had at `position` (0: it did not exist yet).
    /// - Throws: ``CRMError/store(_:)`` when the store fails or a stored event cannot be decoded.
    public func load<A: Aggregate>(_ id: Identifier<A>, asOf position: LogPosition) async throws(CRMError) -> Loaded<A> {
        try await load(id, through: position).loaded
    }

    /// Loads an aggregate as it was known at `date`: as of the last position
    /// recorded at or before `date` (``EventLogReader/position(asOf:)``).
    ///
    /// ```swift
    /// let endOfQuarter = ISO8601DateFormatter().date(from: "2026-03-31T23:59:59Z")!
    /// let deal = try await repository.load(dealID, asOf: endOfQuarter).state
    /// print(deal.stage, deal.amount as Any)
    /// ```
    ///
    /// - Throws: ``CRMError/store(_:)`` when the store fails or a stored event cannot be decoded.
    public func load<A: Aggregate>(_ id: Identifier<A>, asOf date: Date) async throws(CRMError) -> Loaded<A> {
        let position: LogPosition
        do { position = try await store.position(asOf: date) } catch { throw .store(error) }
        return try await load(id, through: position).loaded
    }
}

/// An aggregate as loaded, and the stream version from which the next
/// snapshot is counted (the newest snapshot's, or 0).
struct LoadResult<A: Aggregate>: Sendable {
    var loaded: Loaded<A>
    var snapshotBase: UInt64
}

extension Repository {
    /// Loads `id` with its events up to `end` (nil: all of them), from a
    /// snapshot when the repository keeps them and the aggregate has them.
    func load<A: Aggregate>(_ id: Identifier<A>, through end: LogPosition?) async throws(CRMError) -> LoadResult<A> {
        try requireValidKind(A.self)
        if let snapshots, let type = A.self as? any SnapshottableAggregate.Type {
            return try await load(id, as: type, through: end, snapshots: snapshots)
        }
        var state = A(id: id)
        guard case .replayed(let replayed) = try await fold(into: &state, stream: id.streamID, after: nil, through: end) else {
            preconditionFailure("a replay from the first event checks no snapshot")
        }
        return LoadResult(loaded: Loaded(state: state, version: replayed.version), snapshotBase: 0)
    }

    /// Loads the newest snapshot's state for `id` and replays the rest (a load
    /// of the whole stream replaces missing, unusable or due snapshots).
    private func load<A: Aggregate, S: SnapshottableAggregate>(
        _ requested: Identifier<A>, as type: S.Type, through end: LogPosition?, snapshots: AggregateSnapshots
    ) async throws(CRMError) -> LoadResult<A> {
        let id = Identifier<S>(requested.uuid)
        let stream = id.streamID
        var ignored = IgnoredSnapshots(snapshots: snapshots, stream: stream)
        var start: (state: S, replayed: Replayed, base: UInt64)?

        var headers: [(slot: SnapshotSlot, bytes: [UInt8])] = []
        do { headers = try snapshots.storedHeaders(of: stream) } catch {
            snapshots.logger.warning("cannot read snapshots; replaying the stream",
                                     metadata: ["stream": "\(stream)", "error": "\(error)"])
        }
        for (slot, bytes) in headers {
            // The snapshot's header and state, if they may be used.
            let header: SnapshotHeader
            var state: S
            do throws(SnapshotProblem) {
                header = try SnapshotFormat.decodeHeader(bytes)
                try Self.check(header, in: slot, for: S.self)
                if let end, header.position > end { continue }
                let stateBytes: [UInt8]?
                do { stateBytes = try snapshots.storedState(of: stream, in: slot) } catch {
                    snapshots.logger.warning("cannot read a snapshot; replaying the stream",
                                             metadata: ["stream": "\(stream)", "error": "\(error)"])
                    break
                }
                try SnapshotFormat.check(stateBytes, against: header)
                state = try SnapshotFormat.decodeState(S.self, from: stateBytes!)
                guard state.id == id else { throw .notInLog("it holds the state of \(state.id)") }
            } catch {
                ignored.note(slot, error)
                continue
            }
            // The events after it, once the log is found to hold the event it covers.
            switch try await fold(into: &state, stream: stream, after: header, through: end) {
            case .replayed(let replayed):
                start = (state, replayed, header.streamVersion)
            case .snapshotNotInLog(let problem):
                ignored.note(slot, problem)
                continue
            }
            break
        }

        let loaded: (state: S, replayed: Replayed, base: UInt64)
        if let start {
            loaded = start
        } else {
            var state = S(id: id)
            guard case .replayed(let replayed) = try await fold(into: &state, stream: stream, after: nil, through: end) else {
                preconditionFailure("a replay from the first event checks no snapshot")
            }
            loaded = (state, replayed, 0)
        }
        let (state, replayed) = (loaded.state, loaded.replayed)
        var base = loaded.base

        // Only a load of the present writes: a snapshot when one is due, and
        // without the unusable ones it met. A failed write is logged, and not
        // tried again before another interval's events.
        if end == nil {
            let due = snapshots.policy.isDue(replayed.version, after: base)
                && snapshots.failedWrites.mayWrite(stream, at: replayed.version, policy: snapshots.policy)
            if due || !ignored.slots.isEmpty {
                await writeSnapshot(due ? (state, replayed) : nil, of: stream, dropping: ignored.slots, snapshots)
            }
            if due { base = replayed.version }
        }
        return LoadResult(loaded: Loaded(state: state as! A, version: replayed.version), snapshotBase: base)
    }

    /// Loads `state`'s aggregate anew, which writes a snapshot when one is
    /// due; returns the version the next one is counted from. Never throws:
    /// a failure is logged.
    func refreshSnapshot<S: SnapshottableAggregate>(of state: S) async -> UInt64? {
        do throws(CRMError) {
            return try await load(state.id, through: nil).snapshotBase
        } catch {
            snapshots?.logger.warning("cannot load an aggregate to snapshot it",
                                      metadata: ["stream": "\(state.id.streamID)", "error": "\(error)"])
            return nil
        }
    }

    /// Stores a snapshot of `snapshot` (when given) and removes `dropping`.
    /// A failure is logged, never thrown.
    private func writeSnapshot<S: SnapshottableAggregate>(
        _ snapshot: (state: S, replayed: Replayed)?, of stream: StreamID, dropping: Set<SnapshotSlot>, _ snapshots: AggregateSnapshots
    ) async {
        do {
            var new: (header: SnapshotHeader, state: [UInt8])?
            if let (state, replayed) = snapshot, let last = replayed.last {
                let bytes = try SnapshotFormat.encodeState(state)
                guard let length = UInt32(exactly: bytes.count) else {
                    throw SnapshotProblem.damagedState("\(bytes.count) bytes: a snapshot holds at most 4 GiB")
                }
                let header = SnapshotHeader(
                    schemaVersion: S.snapshotSchemaVersion, eventTypes: SnapshotFormat.eventTypesFingerprint(of: S.self),
                    streamVersion: replayed.version, position: last.position, eventID: last.id,
                    stateLength: length, stateChecksum: bytes.withUnsafeBytes { rapportCRC32C($0) })
                new = (header, bytes)
            }
            try await snapshots.store(new, of: stream, dropping: dropping)
            if new != nil { snapshots.failedWrites.recordSuccess(stream) }
        } catch {
            if let snapshot { snapshots.failedWrites.recordFailure(stream, at: snapshot.replayed.version) }
            snapshots.logger.warning("cannot write a snapshot; the aggregate loads by replaying its stream",
                                     metadata: ["stream": "\(stream)", "error": "\(error)"])
        }
    }

    /// Whether a header read from `slot` may be used for `S` now.
    private static func check<S: SnapshottableAggregate>(_ header: SnapshotHeader, in slot: SnapshotSlot, for type: S.Type) throws(SnapshotProblem) {
        guard slot.version == header.streamVersion else {
            throw .damagedHeader("stored under version \(slot.version.map(String.init) ?? slot.suffix), says \(header.streamVersion)")
        }
        guard header.schemaVersion == S.snapshotSchemaVersion else {
            throw .otherSchema(found: header.schemaVersion, current: S.snapshotSchemaVersion)
        }
        guard header.eventTypes == SnapshotFormat.eventTypesFingerprint(of: S.self) else { throw .otherEventTypes }
    }
}

// MARK: - Replay

/// How far a replay went: the stream version and the last event folded.
struct Replayed: Sendable {
    var version: UInt64
    var last: (position: LogPosition, id: EventID)?
}

/// The outcome of a replay that starts from a snapshot.
enum FoldOutcome: Sendable {
    case replayed(Replayed)
    /// The stream's event at the snapshot's version is not the one it covers.
    case snapshotNotInLog(SnapshotProblem)
}

extension Repository {
    /// Folds `stream`'s events into `state`: after the event `snapshot`
    /// covers (which must be in the log, with its id and position), or from
    /// the first; up to `end` (nil: to the stream's last event).
    func fold<A: Aggregate>(
        into state: inout A, stream: StreamID, after snapshot: SnapshotHeader?, through end: LogPosition?
    ) async throws(CRMError) -> FoldOutcome {
        var replayed = Replayed(version: snapshot?.streamVersion ?? 0, last: snapshot.map { ($0.position, $0.eventID) })
        var confirming = snapshot
        // After a snapshot, most loads need fewer than an interval of events:
        // read pages of that size, so a load as of a past position reads
        // little beyond it.
        let pageSize = Int(Swift.min(snapshot == nil ? 512 : Swift.min(snapshots?.policy.interval ?? 511, 511) + 1, 512))
        do throws(EventStoreError) {
            for try await record in store.events(in: stream, from: snapshot?.streamVersion ?? 1, pageSize: pageSize) {
                if let covered = confirming {
                    guard record.streamVersion == covered.streamVersion, record.id == covered.eventID, record.position == covered.position else {
                        return .snapshotNotInLog(.notInLog(
                            "version \(record.streamVersion) is event \(record.id) at position \(record.position), "
                                + "the snapshot covers version \(covered.streamVersion), event \(covered.eventID) at \(covered.position)"))
                    }
                    confirming = nil
                    continue
                }
                if let end, record.position > end { break }
                state.apply(try registry.decode(record, codec: codec))
                replayed.version = record.streamVersion
                replayed.last = (record.position, record.id)
            }
        } catch {
            throw .store(error)
        }
        if let covered = confirming {
            return .snapshotNotInLog(.notInLog("the stream has no version \(covered.streamVersion)"))
        }
        return .replayed(replayed)
    }
}

/// The unusable snapshots one load met, reported as they are met.
private struct IgnoredSnapshots {
    let snapshots: AggregateSnapshots
    let stream: StreamID
    private(set) var slots: Set<SnapshotSlot> = []

    init(snapshots: AggregateSnapshots, stream: StreamID) {
        self.snapshots = snapshots
        self.stream = stream
    }

    mutating func note(_ slot: SnapshotSlot, _ problem: SnapshotProblem) {
        slots.insert(slot)
        snapshots.logger.notice("ignored a snapshot: \(problem)",
                                metadata: ["stream": "\(stream)", "snapshot": "\(slot.version.map(String.init) ?? slot.suffix)"])
    }
}

// MARK: - Units of work

extension UnitOfWork {
    /// After an append: snapshots every aggregate of the append that has, by
    /// now, at least an interval of events beyond its newest snapshot. Never
    /// throws; the append's result stands whatever happens here.
    mutating func takeDueSnapshots(after result: AppendResult, of appended: [StreamAppend]) async {
        guard let snapshots = repository.snapshots, !result.wasAlreadyStored else { return }
        for part in appended where !part.events.isEmpty {
            guard let version = result.streamVersions[part.streamID],
                  snapshots.policy.isDue(version, after: snapshotBases[part.streamID] ?? 0),
                  snapshots.failedWrites.mayWrite(part.streamID, at: version, policy: snapshots.policy),
                  let state = states[part.streamID] as? any SnapshottableAggregate
            else { continue }
            // Snapshots are taken of what a load of the stored events gives, never of the decided state.
            snapshotBases[part.streamID] = await repository.refreshSnapshot(of: state) ?? version
        }
    }
}
