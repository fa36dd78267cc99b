import Foundation
public import RapportEventLog

/// What ``AuditTrail/verify(in:against:progress:)`` found: whether the
/// stored audit trail says what the log says.
public struct AuditTrailReport: Sendable, Hashable {
    /// The last position the stored audit trail covers (its checkpoint);
    /// 0 when it has not been built.
    public var checkpoint: LogPosition
    /// How many entries were compared with the log before the problem, or in all.
    public var entriesChecked: UInt64
    /// The first disagreement (with the event's position when it is about
    /// one); nil when the audit trail agrees with the log.
    public var problem: VerificationProblem?

    /// Whether the audit trail agrees with the log.
    public var isSound: Bool { problem == nil }
}

extension AuditTrail {
    /// Compares the stored audit trail with the log it was built from.
    ///
    /// Every entry up to the trail's checkpoint is recomputed from its event
    /// (``entry(for:)``) and compared byte for byte with the stored entry and
    /// with its copy in the actor index; its entity and action index keys
    /// must be there, no entry may lie past the checkpoint, and no index may
    /// hold a key more than the entries it indexes. An audit
    /// answer can then be trusted as far as the log can: check the log itself
    /// with the store's own verification (`verifyLog`) first.
    ///
    /// One pass over the log, a few lookups per event, then a walk of the
    /// index keys; constant memory.
    ///
    /// ```swift
    /// let report = try await AuditTrail().verify(in: store, against: store)
    /// if let problem = report.problem { print("audit trail: \(problem.message)") }
    /// ```
    ///
    /// - Parameter progress: called after each page of events with how many
    ///   were checked and how many there are.
    /// - Throws: ``ProjectionQueryError`` when the log or the read model
    ///   cannot be read (a damaged record of the log among them);
    ///   ``ProjectionQueryError/notCaughtUp(projection:reached:asked:)`` when
    ///   the trail went back meanwhile (a rebuild started, or another version
    ///   of the projection wrote it): verify again once it is rebuilt. A runner
    ///   catching up meanwhile is fine: the trail is verified as far as the
    ///   checkpoint it had when verification began.
    public func verify(
        in storage: any ReadModelStorage, against log: any EventLogReader, progress: (@Sendable (UInt64, UInt64) -> Void)? = nil
    ) async throws(ProjectionQueryError) -> AuditTrailReport {
        // The checkpoint and the entries past it, in one read: a runner committing
        // in between would otherwise look like an entry past the checkpoint.
        var found: ProjectionCheckpoint?
        var stray: LogPosition?
        do {
            try storage.read(name) { (reader) throws(EventStoreError) in
                found = try reader.checkpoint()
                guard let found, found.version == version else { return }
                // Nothing past the checkpoint: entries there would be answers the log does not back.
                _ = try reader.forEach(base: "entry/", in: (found.position.rawValue + 1)...UInt64.max) { key, _ in
                    stray = LogPosition(UInt64(key.dropFirst("entry/".count)) ?? 0)
                    return false
                }
            }
        } catch { throw .store(error) }
        guard let stored = found else { return AuditTrailReport(checkpoint: .start, entriesChecked: 0, problem: nil) }
        var report = AuditTrailReport(checkpoint: stored.position, entriesChecked: 0, problem: nil)
        guard stored.version == version else {
            report.problem = .init(
                position: nil,
                message: "the audit trail was built by version \(stored.version) of its projection, this is version \(version); rebuild it")
            return report
        }
        let end = stored.position.rawValue
        if let stray {
            report.problem = .init(position: stray, message: "an entry past the audit trail's checkpoint (\(end))")
            return report
        }
        // Each later read is a query that requires the trail, in the state it reads, to be this version and to
        // have reached the checkpoint verified (a rebuild may have started since): what it reads is then the
        // trail verified, as far as that checkpoint, and a runner's commits meanwhile lie past it.
        var next = LogPosition(1)
        while next.rawValue <= end {
            let page: [RecordedEvent]
            do {
                page = try await log.readLog(from: next, filter: LogFilter(through: stored.position), limit: 1_000)
            } catch { throw .store(error) }
            guard let last = page.last else {
                report.problem = .init(position: next, message: "the log ends before the audit trail's checkpoint (\(end))")
                return report
            }
            try query(in: storage) { (reader, checkpoint) throws(ProjectionQueryError) in
                try requireReached(stored.position, checkpoint)
                do throws(EventStoreError) {
                    for event in page {
                        if let message = try Self.disagreement(of: event, in: reader) {
                            report.problem = .init(position: event.position, message: message)
                            return
                        }
                        report.entriesChecked += 1
                    }
                } catch { throw .store(error) }
            }
            if report.problem != nil { return report }
            progress?(report.entriesChecked, end)
            next = last.position.next
        }
        // Each event's keys are there; a key more under an index names an entry
        // the log does not back there (a query would return it). Keys past the
        // checkpoint verified are a runner's since: not counted.
        let last = Array(Key.padded(end).utf8)
        try query(in: storage) { (reader, checkpoint) throws(ProjectionQueryError) in
            try requireReached(stored.position, checkpoint)
            do throws(EventStoreError) {
                for index in ["entry", "actor", "entity", "action"] {
                    var keys: UInt64 = 0
                    try reader.forEachInPlace(keyPrefix: "\(index)/", from: "\(index)/") { key, _ in
                        // Every index key ends in its entry's position, 20 digits.
                        let through = key.count >= Key.width
                            && last.withUnsafeBytes { memcmp($0.baseAddress!, key.baseAddress! + key.count - Key.width, Key.width) >= 0 }
                        if through { keys += 1 }
                        return true
                    }
                    guard keys == report.entriesChecked else {
                        report.problem = .init(
                            position: nil,
                            message: "the \(index) index holds \(keys) keys for \(report.entriesChecked) entries: some key names an entry it should not")
                        return
                    }
                }
            } catch { throw .store(error) }
        }
        return report
    }

    /// What is wrong with the stored entry of `event` and its index keys, or nil.
    private static func disagreement(of event: RecordedEvent, in reader: any ReadModelReader) throws(EventStoreError) -> String? {
        let (entry, entity) = Self.entryAndEntity(for: event)
        let expected = Stored.encode(entry)
        let keys = Keys(of: event, entity: entity)
        guard let stored = try reader.value(forKey: keys.entry) else { return "no audit entry for this event" }
        guard stored == expected else { return "the audit entry differs from the event" }
        guard let copy = try reader.value(forKey: keys.actor) else { return "the actor index has no entry for this event" }
        guard copy == expected else { return "the actor index's entry differs from the event" }
        for key in [keys.entity, keys.action] {
            guard try reader.value(forKey: key) == Stored.marker else { return "the index key \(key) is missing" }
        }
        return nil
    }
}
