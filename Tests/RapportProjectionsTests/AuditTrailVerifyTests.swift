import Foundation
import RapportCore
import RapportEventLog
import RapportProjections
import RapportReplay
import Synchronization
import Testing

/// Read-model storage whose first read sees `first` and every later one
/// `then`: a trail that changed while it was being verified.
private final class ChangesAfterFirstRead: ReadModelStorage {
    let first: any ReadModelStorage, then: any ReadModelStorage
    private let reads = Mutex(0)

    init(first: any ReadModelStorage, then: any ReadModelStorage) {
        self.first = first
        self.then = then
    }

    func checkpoint(of projection: String) throws(EventStoreError) -> ProjectionCheckpoint? { try first.checkpoint(of: projection) }

    func read<R>(_ projection: String, _ body: (any ReadModelReader) throws(EventStoreError) -> R) throws(EventStoreError) -> R {
        let count = reads.withLock { reads in
            reads += 1
            return reads
        }
        return try (count == 1 ? first : then).read(projection, body)
    }

    func commit(_ changes: [ReadModelChanges]) async throws(EventStoreError) { try await then.commit(changes) }
}

/// The stored audit trail compared with the log: sound when built from it,
/// and each kind of tampering reported at its position.
@Suite("Audit trail verification")
struct AuditTrailVerifyTests {
    let audit = AuditTrail()

    /// A built audit trail over a few hundred events of the CRM scenario's commands.
    func built() async throws -> World {
        let w = try World(policy: RoleBasedAccessPolicy())
        let sales = PipelineID()
        try await w.run(.define(name: "Sales", stages: salesStages), on: sales, context(root, .api, day: 0))
        for index in 0..<40 {
            let contact = ContactID(), deal = DealID()
            try await w.run(.create(name: try PersonName(given: "Ada\(index)", family: "Lovelace"), email: "ada\(index)@acme.example",
                                    owner: "user:anna"), on: contact, context(anna, .webForm, day: Double(index)))
            try await w.step { try await $0.openDeal(deal, title: "Deal \(index)", pipeline: sales, amount: eur("\(1_000 + index)"),
                                                     owner: "user:anna", context: context(anna, day: Double(index))) }
            try await w.run(.changeAmount(eur("\(2_000 + index)")), on: deal, context(boris, .phone, day: Double(index + 1)))
        }
        try await w.runner.catchUp()
        return w
    }

    func tamper(_ w: World, _ writes: [String: [UInt8]?]) async throws {
        let checkpoint = try #require(try w.live.checkpoint(of: audit.name))
        try await w.live.commit([ReadModelChanges(projection: audit.name, writes: writes, checkpoint: checkpoint)])
    }

    func value(_ w: World, _ key: String) throws -> [UInt8]? {
        try w.live.read(audit.name) { (reader) throws(EventStoreError) in try reader.value(forKey: key) }
    }

    /// The stored key of position `position` under `base`.
    func key(_ base: String, _ position: UInt64) -> String { base + String(repeating: "0", count: 20 - String(position).count) + String(position) }

    /// The key of the entry at `position` in the index under `prefix`.
    func indexKey(_ w: World, under prefix: String, at position: UInt64) throws -> String? {
        try w.live.read(audit.name) { (reader) throws(EventStoreError) -> String? in
            var found: String?
            try reader.forEach(keyPrefix: prefix) { key, _ in
                if key.hasSuffix(self.key("", position)) { found = key }
                return found == nil
            }
            return found
        }
    }

    @Test func aTrailBuiltFromTheLogIsSound() async throws {
        let w = try await built()
        let head = try await w.store.headPosition()
        let report = try await audit.verify(in: w.live, against: w.store)
        #expect(report.isSound, "\(String(describing: report.problem))")
        #expect(report.checkpoint == head && report.entriesChecked == head.rawValue)
        let empty = try await audit.verify(in: InMemoryReadModelStorage(), against: w.store)
        #expect(empty.isSound && empty.checkpoint == .start && empty.entriesChecked == 0, "nothing built, nothing wrong")
    }

    @Test func aChangedEntryIsFoundAtItsPosition() async throws {
        let w = try await built()
        var bytes = try #require(try value(w, key("entry/", 57)))
        let anna = Array("user:anna".utf8)
        let at = try #require(bytes.indices.first { bytes[$0..<min($0 + anna.count, bytes.count)].elementsEqual(anna) })
        bytes[at + anna.count - 1] = UInt8(ascii: "x")  // user:annx
        try await tamper(w, [key("entry/", 57): bytes])
        let report = try await audit.verify(in: w.live, against: w.store)
        #expect(report.problem == .init(position: 57, message: "the audit entry differs from the event"))
        #expect(report.entriesChecked == 56)
    }

    @Test func missingIndexKeysAndStrayEntriesAreFound() async throws {
        let w = try await built()
        let entry = try #require(try value(w, key("entry/", 30)))
        let actorKey = try #require(try indexKey(w, under: "actor/", at: 30))
        try await tamper(w, [actorKey: nil])
        #expect(try await audit.verify(in: w.live, against: w.store).problem == .init(position: 30, message: "the actor index has no entry for this event"))
        try await tamper(w, [actorKey: entry])

        let actionKey = try #require(try indexKey(w, under: "action/", at: 31))
        try await tamper(w, [actionKey: nil])
        let missing = try await audit.verify(in: w.live, against: w.store)
        #expect(missing.problem == .init(position: 31, message: "the index key \(actionKey) is missing"))
        try await tamper(w, [actionKey: Array("1".utf8)])
        #expect(try await audit.verify(in: w.live, against: w.store).isSound, "restored")

        // A stray key: entry 31 listed under another deal's entity key, and under another actor.
        let entityKey = try #require(try indexKey(w, under: "entity/", at: 31))
        let stray = "entity/deal/\(DealID())/" + entityKey.split(separator: "/").last!
        try await tamper(w, [stray: Array("1".utf8)])
        #expect(try await audit.verify(in: w.live, against: w.store).problem?.message.hasPrefix("the entity index holds") == true)
        try await tamper(w, [stray: nil])
        let strayActor = "actor/user:mallory/" + actorKey.split(separator: "/").last!
        try await tamper(w, [strayActor: entry])
        #expect(try await audit.verify(in: w.live, against: w.store).problem?.message.hasPrefix("the actor index holds") == true)
        try await tamper(w, [strayActor: nil])
        #expect(try await audit.verify(in: w.live, against: w.store).isSound, "restored")

        let head = try await w.store.headPosition().rawValue
        try await tamper(w, [key("entry/", head + 5): entry])
        #expect(try await audit.verify(in: w.live, against: w.store).problem
            == .init(position: LogPosition(head + 5), message: "an entry past the audit trail's checkpoint (\(head))"))
    }

    @Test func aTrailOfAnotherVersionIsReported() async throws {
        let w = try await built()
        let checkpoint = try #require(try w.live.checkpoint(of: audit.name))
        try await w.live.commit([ReadModelChanges(projection: audit.name, checkpoint: ProjectionCheckpoint(version: 1, position: checkpoint.position))])
        let report = try await audit.verify(in: w.live, against: w.store)
        #expect(report.problem?.message.contains("built by version 1") == true, "\(String(describing: report.problem))")
    }

    @Test("a runner catching up during verification is not a problem; a rebuild starting then says the trail is behind")
    func verificationWhileTheTrailChanges() async throws {
        let w = try await built()
        let verified = try #require(try w.live.checkpoint(of: audit.name)).position
        // More events, and a copy of the trail caught up to them: what a runner commits during verification.
        for index in 0..<5 {
            try await w.repository.execute(.changeAmount(eur("\(3_000 + index)")), on: try #require(
                try audit.entries(.action("DealOpened"), in: w.live).items.first.flatMap { DealID($0.entityID) }), context: context(anna, day: 50))
        }
        let later = InMemoryReadModelStorage()
        _ = try await ProjectionRunner(log: w.store, storage: later, projections: [audit], registry: .crm).catchUp()
        #expect(try later.checkpoint(of: audit.name)!.position > verified)
        let report = try await audit.verify(in: ChangesAfterFirstRead(first: w.live, then: later), against: w.store)
        #expect(report.isSound, "\(String(describing: report.problem))")
        #expect(report.checkpoint == verified)
        // A rebuild that has reached one event when the pages are read.
        let rebuilding = InMemoryReadModelStorage()
        #expect(try await ProjectionRunner(log: w.store, storage: rebuilding, projections: [audit], registry: .crm).catchUp(upTo: 1) == 1)
        do {
            let report = try await audit.verify(in: ChangesAfterFirstRead(first: w.live, then: rebuilding), against: w.store)
            Issue.record("verified a trail rebuilt meanwhile: \(report)")
        } catch .notCaughtUp(let projection, let reached, let asked) {
            #expect(projection == audit.name && reached == 1 && asked == verified)
        } catch {
            Issue.record("\(error)")
        }
    }

    /// The ten queries of the three projections (each with the projection it reads), on ids found in `w`.
    private func everyQuery(in w: World) async throws -> [(String, (any ReadModelStorage) throws(ProjectionQueryError) -> Void)] {
        let contact = try #require(try ContactHistory().contactsNotContacted(forDays: 0, asOf: day(100), owner: "user:anna", in: w.live)
            .items.first?.contactID)
        let pipeline = try #require(try DealStates().pipelines(in: w.live).first?.id)
        let head = try await w.head()
        let deal = try #require(try audit.entries(.action("DealOpened"), in: w.live).items.first.flatMap { DealID($0.entityID) })
        return [
            ("audit-trail", { (s) throws(ProjectionQueryError) in _ = try AuditTrail().entries(.all, in: s) }),
            ("audit-trail", { (s) throws(ProjectionQueryError) in _ = try AuditTrail().entries(AuditQuery(.actor("user:anna"), positions: 1...head), in: s) }),
            ("contact-history", { (s) throws(ProjectionQueryError) in _ = try ContactHistory().timeline(of: contact, in: s) }),
            ("contact-history", { (s) throws(ProjectionQueryError) in _ = try ContactHistory().lastContacted(contact, in: s) }),
            ("contact-history", { (s) throws(ProjectionQueryError) in
                _ = try ContactHistory().contactsNotContacted(forDays: 0, asOf: day(100), owner: "user:anna", in: s) }),
            ("deal-states", { (s) throws(ProjectionQueryError) in _ = try DealStates().state(of: deal, in: s) }),
            ("deal-states", { (s) throws(ProjectionQueryError) in _ = try DealStates().state(of: deal, asOf: head, in: s) }),
            ("deal-states", { (s) throws(ProjectionQueryError) in _ = try DealStates().pipelines(in: s) }),
            ("deal-states", { (s) throws(ProjectionQueryError) in _ = try DealStates().summary(of: pipeline, in: s, now: day(100)) }),
            ("deal-states", { (s) throws(ProjectionQueryError) in _ = try DealStates().summary(of: pipeline, asOf: head, in: s, now: day(100)) }),
        ]
    }

    @Test("every query refuses a read model stored by another version of its projection, never reads it as this one's")
    func queriesRefuseAReadModelOfAnotherVersion() async throws {
        let w = try await built()
        let queries = try await everyQuery(in: w)
        // Each answers from the read model as built.
        for (_, query) in queries { try query(w.live) }
        for name in ["audit-trail", "contact-history", "deal-states"] {
            let checkpoint = try #require(try w.live.checkpoint(of: name))
            // Stored by an older version, not rebuilt yet (the runner rebuilds it at its next catch-up).
            try await w.live.commit([ReadModelChanges(projection: name, checkpoint: ProjectionCheckpoint(version: 1, position: checkpoint.position))])
            for (index, (projection, query)) in queries.enumerated() where projection == name {
                do {
                    try query(w.live)
                    Issue.record("query \(index) read a \(name) of version 1")
                } catch .notCaughtUp(let refused, let reached, let asked) {
                    #expect(refused == name && reached == nil && asked == checkpoint.position, "query \(index)")
                } catch {
                    Issue.record("query \(index): \(error)")
                }
            }
        }
    }

    @Test("every query refuses a read model never built, whose empty answers would read as nothing recorded; a catch-up on an empty log builds it")
    func queriesRefuseAReadModelNeverBuilt() async throws {
        let queries = try await everyQuery(in: try await built())
        let never = InMemoryReadModelStorage()
        for (index, (projection, query)) in queries.enumerated() {
            #expect(throws: ProjectionQueryError.notBuilt(projection: projection), "query \(index)") { try query(never) }
        }
        // Caught up on an empty log: built up to position 0, and every query answers (nothing).
        let empty = try World()
        try await empty.runner.catchUp()
        for name in ["audit-trail", "contact-history", "deal-states"] {
            #expect(try empty.live.checkpoint(of: name)?.position == .start)
        }
        // The queries of a position past 0 (1, 6 and 9) are refused as not caught up, as they should be.
        for (index, (_, query)) in queries.enumerated() where ![1, 6, 9].contains(index) { try query(empty.live) }
        #expect(try AuditTrail().entries(.all, in: empty.live).items.isEmpty && DealStates().pipelines(in: empty.live).isEmpty)
        // A pipeline that is not there: nil, as of the start too.
        #expect(try DealStates().summary(of: PipelineID(), asOf: .start, in: empty.live, now: day(0)) == nil)
        // A read model of another version, on an empty log: reset and marked built by the catch-up, as on any log.
        try await empty.live.commit([ReadModelChanges(projection: "deal-states", writes: ["pipeline/x": [1]],
                                                      checkpoint: ProjectionCheckpoint(version: 1, position: .start))])
        try await empty.runner.catchUp()
        #expect(try empty.live.checkpoint(of: "deal-states") == ProjectionCheckpoint(version: DealStates().version, position: .start))
        #expect(try snapshot(empty.live, "deal-states").isEmpty)
    }
}
