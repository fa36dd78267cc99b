import Foundation
import Logging
@testable import RapportCore
import RapportEventLog
import Testing

@Suite("Snapshots")
struct SnapshotTests {
    // MARK: snapshots change nothing but the cost

    @Test(arguments: SnapshotBackend.allCases, [1, 2, 3] as [UInt64])
    func aSnapshotBasedLoadEqualsAFullReplay(backend: SnapshotBackend, seed: UInt64) async throws {
        try await backend.withStores { store, storage in
            // Given a repository that snapshots every 5 events and keeps 3
            let snapshots = AggregateSnapshots(storage: storage, policy: SnapshotPolicy(every: 5, keep: 3))
            let repository = Repository(store: store, snapshots: snapshots)
            var history = RandomHistory(seed: seed)
            try await history.begin(repository)
            // When a random history is written, command after command
            for _ in 0..<120 {
                try await history.next(repository)
                // Then every load equals the fold of the stored events
                let deal = try await repository.load(history.deal)
                let expected = try await replayed(history.deal, in: store)
                #expect(deal.state == expected.state && deal.version == expected.version)
                let contact = try await repository.load(history.contact)
                let expectedContact = try await replayed(history.contact, in: store)
                #expect(contact.state == expectedContact.state && contact.version == expectedContact.version)
            }
            // and snapshots were written and kept three at a time.
            let versions = try snapshotVersions(of: history.deal.streamID, in: storage)
            #expect(versions.count == 3 && versions == versions.sorted(by: >))
            let dealVersion = try await store.streamVersion(of: history.deal.streamID)
            #expect(dealVersion - versions[0] < 5)
        }
    }

    @Test(arguments: SnapshotBackend.allCases)
    func aLoadReadsOnlyTheEventsAfterTheNewestSnapshot(backend: SnapshotBackend) async throws {
        try await backend.withStores { base, storage in
            let store = CountingStore(base)
            let repository = Repository(store: store, snapshots: AggregateSnapshots(storage: storage, policy: SnapshotPolicy(every: 10)))
            // Given a contact with 103 events
            let contact = try await contactWithEvents(103, repository)
            // When it is loaded
            _ = store.takeEventsRead()
            let loaded = try await repository.load(contact)
            // Then only the snapshot's covered event and those after it were read
            #expect(loaded.version == 103)
            #expect(store.takeEventsRead() <= 10)
            #expect(loaded.state == (try await replayed(contact, in: base)).state)
            // while a repository without snapshots replays all of them, to the same state.
            let plain = try await Repository(store: store).load(contact)
            #expect(store.takeEventsRead() == 103)
            #expect(plain.state == loaded.state)
        }
    }

    @Test func snapshotsAreTakenOnlyOnceAnIntervalOfEventsIsReached() async throws {
        let store = InMemoryEventStore(), storage = InMemoryReadModelStorage()
        let repository = Repository(store: store, snapshots: AggregateSnapshots(storage: storage, policy: SnapshotPolicy(every: 10, keep: 2)))
        // Given a contact with 9 events: no snapshot yet
        let contact = try await contactWithEvents(9, repository)
        #expect(try snapshotVersions(of: contact.streamID, in: storage) == [])
        // When the command that makes 10 events commits, it is snapshotted
        try await repository.execute(.addToSegment("s10"), on: contact, context: context())
        #expect(try snapshotVersions(of: contact.streamID, in: storage) == [10])
        // and again 10 events later; older ones beyond the two kept are removed.
        for n in 11...35 { try await repository.execute(.addToSegment("s\(n)"), on: contact, context: context()) }
        #expect(try snapshotVersions(of: contact.streamID, in: storage) == [30, 20])
    }

    @Test("an interval as large as UInt64.max means no new snapshot, and loads, appends and bulk writes still work")
    func theLargestIntervalNeverOverflows() async throws {
        let store = InMemoryEventStore(), storage = InMemoryReadModelStorage()
        // Given a contact snapshotted under the default policy
        let contact = try await contactWithEvents(100, Repository(store: store, snapshots: AggregateSnapshots(storage: storage)))
        #expect(try snapshotVersions(of: contact.streamID, in: storage) == [100])
        // When a repository that never snapshots again loads it, appends to it and bulk-writes to it
        // (before, each of these trapped adding the interval to a version)
        let never = Repository(store: store, snapshots: AggregateSnapshots(storage: storage, policy: SnapshotPolicy(every: .max)))
        #expect(try await never.load(contact).version == 100)
        try await never.execute(.addToSegment("more"), on: contact, context: context())
        var writer = BulkWriter(repository: never, eventsPerCommit: 1)
        try await writer.run(context: context()) { unit throws(CRMError) in try await unit.execute(.addToSegment("bulk"), on: contact) }
        try await writer.flush()
        // Then it loads as a full replay does, and no snapshot was added.
        #expect(try await never.load(contact).state == (try await replayed(contact, in: store)).state)
        #expect(try snapshotVersions(of: contact.streamID, in: storage) == [100])
    }

    @Test func anAggregateLoadedWithoutARecentSnapshotIsSnapshottedByTheLoad() async throws {
        let store = InMemoryEventStore(), storage = InMemoryReadModelStorage()
        // Given a contact written without snapshots
        let contact = try await contactWithEvents(42, Repository(store: store))
        // When a repository with snapshots loads it
        let repository = Repository(store: store, snapshots: AggregateSnapshots(storage: storage, policy: SnapshotPolicy(every: 10)))
        _ = try await repository.load(contact)
        // Then the load left a snapshot of all 42 events.
        #expect(try snapshotVersions(of: contact.streamID, in: storage) == [42])
    }

    @Test func theBulkWriterTakesSnapshotsToo() async throws {
        let store = InMemoryEventStore(), storage = InMemoryReadModelStorage()
        let repository = Repository(store: store, snapshots: AggregateSnapshots(storage: storage, policy: SnapshotPolicy(every: 10)))
        let contact = ContactID()
        // Given a bulk writer appending every 7 events
        var writer = BulkWriter(repository: repository, eventsPerCommit: 7)
        try await writer.run(context: context()) { unit throws(CRMError) in
            try await unit.execute(.create(name: try PersonName(given: "Ada", family: "Lovelace")), on: contact)
        }
        // When it writes 30 more events for the contact
        for n in 1...30 {
            try await writer.run(context: context()) { unit throws(CRMError) in try await unit.execute(.addToSegment("s\(n)"), on: contact) }
        }
        try await writer.flush()
        // Then the contact has snapshots, and loads as a full replay does.
        #expect(try snapshotVersions(of: contact.streamID, in: storage).first ?? 0 >= 21)
        #expect(try await repository.load(contact).state == (try await replayed(contact, in: store)).state)
    }

    // MARK: as of a past position or date

    @Test(arguments: SnapshotBackend.allCases)
    func asOfAPositionEqualsATruncatedReplay(backend: SnapshotBackend) async throws {
        try await backend.withStores { base, storage in
            let store = CountingStore(base)
            // Given a random history written with snapshots every 4 events, all kept
            let repository = Repository(store: store, snapshots: AggregateSnapshots(storage: storage, policy: SnapshotPolicy(every: 4, keep: 1_000)))
            let plain = Repository(store: store)
            var history = RandomHistory(seed: 7)
            try await history.begin(repository)
            for _ in 0..<150 { try await history.next(repository) }
            let head = try await store.headPosition().rawValue
            var random = SplitMix64(seed: 99)
            // When the deal and the contact are loaded as of every tenth position and random ones
            let positions = Array(stride(from: 0, through: head, by: 10)) + (0..<20).map { _ in random.next() % (head + 1) } + [head]
            for raw in positions {
                let position = LogPosition(raw)
                // Then each equals the fold of the events at or before the position
                let expected = try await replayed(history.deal, in: base, through: position)
                _ = store.takeEventsRead()
                let deal = try await repository.load(history.deal, asOf: position)
                let read = store.takeEventsRead()
                #expect(deal.state == expected.state && deal.version == expected.version, "deal as of \(position)")
                // reading at most two pages of a snapshot interval's events (plus the covered one)
                #expect(read <= 2 * (4 + 1) || expected.version < 4, "read \(read) events for version \(expected.version)")
                let contact = try await repository.load(history.contact, asOf: position)
                let expectedContact = try await replayed(history.contact, in: base, through: position)
                #expect(contact.state == expectedContact.state && contact.version == expectedContact.version, "contact as of \(position)")
                // and so does a repository without snapshots.
                #expect(try await plain.load(history.deal, asOf: position).state == expected.state)
            }
        }
    }

    @Test func asOfADateIsAsOfTheLastPositionRecordedByThen() async throws {
        let store = InMemoryEventStore(), storage = InMemoryReadModelStorage()
        let repository = Repository(store: store, snapshots: AggregateSnapshots(storage: storage, policy: SnapshotPolicy(every: 3)))
        let contact = try await contactWithEvents(10, repository)
        let events = try await store.readStream(contact.streamID, from: 1, direction: .forward, limit: 100)
        // Before anything was recorded the contact did not exist
        let before = try await repository.load(contact, asOf: events[0].recordedAt.addingTimeInterval(-60))
        #expect(before.version == 0 && !before.state.exists)
        // at each event's recorded-at time it is what the log held by then
        for event in events {
            let known = try await store.position(asOf: event.recordedAt)
            let loaded = try await repository.load(contact, asOf: event.recordedAt)
            #expect(loaded.state == (try await replayed(contact, in: store, through: known)).state)
        }
        // and later it is the present.
        #expect(try await repository.load(contact, asOf: Date().addingTimeInterval(3_600)).version == 10)
    }

    @Test func asOfWritesNoSnapshot() async throws {
        let store = InMemoryEventStore(), storage = InMemoryReadModelStorage()
        let contact = try await contactWithEvents(30, Repository(store: store))
        let repository = Repository(store: store, snapshots: AggregateSnapshots(storage: storage, policy: SnapshotPolicy(every: 5)))
        _ = try await repository.load(contact, asOf: LogPosition(20))
        #expect(try snapshotVersions(of: contact.streamID, in: storage) == [])
    }

    // MARK: a snapshot is never trusted blindly

    @Test(arguments: SnapshotBackend.allCases, Tampering.allCases)
    func anUnusableSnapshotIsIgnoredAndReplaced(backend: SnapshotBackend, tampering: Tampering) async throws {
        try await backend.withStores { base, storage in
            let store = CountingStore(base)
            let (logger, log) = recordingLogger()
            let repository = Repository(store: store, snapshots: AggregateSnapshots(storage: storage, policy: SnapshotPolicy(every: 10, keep: 1), logger: logger))
            // Given a contact with 25 events and one snapshot, of the first 20
            let contact = try await contactWithEvents(25, repository)
            #expect(try snapshotVersions(of: contact.streamID, in: storage) == [20])
            // that is damaged, stale or foreign in one way
            try await tampering.apply(to: contact.streamID, in: storage, store: base)
            // When the contact is loaded
            _ = store.takeEventsRead()
            let loaded = try await repository.load(contact)
            // Then it was replayed in full, to the right state
            #expect(store.takeEventsRead() >= 25)
            #expect(loaded.state == (try await replayed(contact, in: base)).state && loaded.version == 25)
            // the reason was reported
            #expect(log.entries.contains { $0.level == .notice && "\($0.message)".hasPrefix("ignored a snapshot") })
            // and a sound snapshot replaced the bad one: the next load reads only it.
            #expect(try snapshotVersions(of: contact.streamID, in: storage) == [25])
            _ = try await repository.load(contact)
            #expect(store.takeEventsRead() == 1)
        }
    }

    /// The ways a stored snapshot can be unusable.
    enum Tampering: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case stateBitFlipped, stateNotDecodable, otherSchemaVersion, otherEventTypes, beyondTheStream, otherEventID
        case otherPosition, headerBitFlipped, anotherAggregatesState

        var testDescription: String { rawValue }

        func apply(to stream: StreamID, in storage: any ReadModelStorage, store: any EventStore) async throws {
            switch self {
            case .stateBitFlipped:
                try await tamperWithNewestSnapshot(of: stream, in: storage, state: { var s = $0; s[s.count / 2] ^= 0x04; return s })
            case .stateNotDecodable:
                // A state that passes its checksum but is not a contact.
                let garbage = Array(#"{"id":"not a uuid"}"#.utf8)
                try await tamperWithNewestSnapshot(of: stream, in: storage, header: {
                    $0.stateLength = UInt32(garbage.count)
                    $0.stateChecksum = garbage.withUnsafeBytes { rapportCRC32C($0) }
                }, state: { _ in garbage })
            case .otherSchemaVersion:
                try await tamperWithNewestSnapshot(of: stream, in: storage, header: { $0.schemaVersion = Contact.snapshotSchemaVersion + 1 })
            case .otherEventTypes:
                try await tamperWithNewestSnapshot(of: stream, in: storage, header: { $0.eventTypes ^= 1 })
            case .beyondTheStream:
                // Claims 100 events, as a snapshot from another copy of the log could.
                try await tamperWithNewestSnapshot(of: stream, in: storage, header: { $0.streamVersion = 100 }, moveTo: 100)
            case .otherEventID:
                try await tamperWithNewestSnapshot(of: stream, in: storage, header: { $0.eventID = EventID() })
            case .otherPosition:
                try await tamperWithNewestSnapshot(of: stream, in: storage, header: { $0.position = LogPosition($0.position.rawValue + 1) })
            case .headerBitFlipped:
                let snapshots = AggregateSnapshots(storage: storage)
                let (slot, bytes) = try #require(try snapshots.storedHeaders(of: stream).first)
                var flipped = bytes
                flipped[20] ^= 0x01
                try await storage.commit([ReadModelChanges(
                    projection: AggregateSnapshots.readModelName, writes: [AggregateSnapshots.headerPrefix(stream) + slot.suffix: flipped],
                    checkpoint: ProjectionCheckpoint(version: 1, position: 1))])
            case .anotherAggregatesState:
                // Another contact's snapshot at the same version, stored under this one's key.
                let other = ContactID()
                let state = try SnapshotFormat.encodeState(Contact(id: other))
                try await tamperWithNewestSnapshot(of: stream, in: storage, header: {
                    $0.stateLength = UInt32(state.count)
                    $0.stateChecksum = state.withUnsafeBytes { rapportCRC32C($0) }
                }, state: { _ in state })
            }
        }
    }

    @Test func anOlderUsableSnapshotIsUsedWhenTheNewestIsNot() async throws {
        let base = InMemoryEventStore(), storage = InMemoryReadModelStorage()
        let store = CountingStore(base)
        let repository = Repository(store: store, snapshots: AggregateSnapshots(storage: storage, policy: SnapshotPolicy(every: 10)))
        // Given snapshots at 10 and 20 of a 25-event contact, the newest damaged
        let contact = try await contactWithEvents(25, repository)
        try await tamperWithNewestSnapshot(of: contact.streamID, in: storage, state: { Array($0.dropLast()) })
        // When it is loaded
        _ = store.takeEventsRead()
        let loaded = try await repository.load(contact)
        // Then the load started from the snapshot at 10, and replaced the damaged one by one at 25.
        #expect(store.takeEventsRead() == 16)
        #expect(loaded.state == (try await replayed(contact, in: base)).state)
        #expect(try snapshotVersions(of: contact.streamID, in: storage) == [25, 10])
    }

    // MARK: snapshots never fail a command

    @Test(arguments: [false, true])
    func aFailingSnapshotStorageNeverFailsACommand(failReads: Bool) async throws {
        let store = InMemoryEventStore()
        let storage = FailingStorage(failReads: failReads)
        let (logger, log) = recordingLogger()
        let repository = Repository(store: store, snapshots: AggregateSnapshots(storage: storage, policy: SnapshotPolicy(every: 3), logger: logger))
        // Given storage where every snapshot write fails (and, in one run, every read)
        // When 20 commands run
        let contact = try await contactWithEvents(20, repository)
        // Then all of them were recorded
        #expect(try await store.streamVersion(of: contact.streamID) == 20)
        // snapshots were attempted, and every failure was logged as a warning
        let failedWrites = log.entries.filter { $0.level == .warning && "\($0.message)".hasPrefix("cannot write a snapshot") }.count
        #expect(failedWrites > 0)
        #expect(storage.commitsAttempted == (failReads ? 0 : failedWrites))  // listing the old snapshots fails first
        if failReads { #expect(log.entries.contains { $0.level == .warning && "\($0.message)".hasPrefix("cannot read snapshots") }) }
        // but not by every command: once per interval of events.
        #expect(failedWrites <= 20 / 3)
        // and loads still equal a full replay.
        #expect(try await repository.load(contact).state == (try await replayed(contact, in: store)).state)
    }

    @Test func aRepositoryWithoutSnapshotsWritesNone() async throws {
        let store = InMemoryEventStore(), storage = InMemoryReadModelStorage()
        let contact = try await contactWithEvents(30, Repository(store: store))
        #expect(try snapshotVersions(of: contact.streamID, in: storage) == [])
        #expect(try storage.checkpoint(of: AggregateSnapshots.readModelName) == nil)
    }

    // MARK: the format

    @Test func aHeaderReadsBackAsWritten() throws {
        let header = SnapshotHeader(schemaVersion: 3, eventTypes: 0xDEAD_BEEF, streamVersion: 10_000, position: 123_456,
                                    eventID: EventID(), stateLength: 77, stateChecksum: 42)
        let bytes = SnapshotFormat.encode(header)
        #expect(bytes.count == SnapshotFormat.headerSize)
        #expect(try SnapshotFormat.decodeHeader(bytes) == header)
        #expect(throws: SnapshotProblem.damagedHeader("63 bytes, not 64")) { try SnapshotFormat.decodeHeader(Array(bytes.dropLast())) }
        var other = bytes
        other[4] = 2  // a future format version, with a matching checksum
        other.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: rapportCRC32C(UnsafeRawBufferPointer(rebasing: raw[0..<60])).littleEndian, toByteOffset: 60, as: UInt32.self)
        }
        #expect(throws: SnapshotProblem.damagedHeader("format version 2, this library reads 1")) { try SnapshotFormat.decodeHeader(other) }
    }

    @Test func theEventTypesFingerprintFollowsTheAggregatesEventTypes() {
        #expect(SnapshotFormat.eventTypesFingerprint(of: Contact.self) == SnapshotFormat.eventTypesFingerprint(of: Contact.self))
        #expect(SnapshotFormat.eventTypesFingerprint(of: Contact.self) != SnapshotFormat.eventTypesFingerprint(of: Deal.self))
    }

    @Test func slotsSortNewestFirstAndNameTheirVersion() {
        let slots = [1, 9, 10, 100, UInt64.max - 1].map { SnapshotSlot(version: $0) }
        #expect(slots.map(\.version) == [1, 9, 10, 100, UInt64.max - 1])
        #expect(slots.sorted { $0.suffix < $1.suffix }.map(\.version) == [UInt64.max - 1, 100, 10, 9, 1])
        #expect(SnapshotSlot(suffix: "x").version == nil)
    }

    @Test func everyCRMAggregateRoundTripsThroughItsSnapshotState() throws {
        func roundTrip<A: SnapshottableAggregate & Equatable>(_ state: A) throws {
            #expect(try SnapshotFormat.decodeState(A.self, from: try SnapshotFormat.encodeState(state)) == state)
        }
        var deal = Deal(id: DealID())
        deal.apply(DealOpened(title: "Pilot", pipelineID: PipelineID(), stage: "proposal", amount: try Money(amount: Decimal(string: "1234.56")!, currency: "EUR"),
                              expectedCloseDate: Date(timeIntervalSince1970: 1_772_323_200.5), ownerID: "user:anna", companyID: CompanyID(),
                              contacts: [DealContact(contactID: ContactID(), role: .evaluator)]))
        try roundTrip(deal)
        var contact = Contact(id: ContactID())
        contact.apply(ContactConsentRecorded(channel: .email, granted: true, source: "form", lawfulBasis: "consent", at: Date(timeIntervalSince1970: 1.25)))
        contact.apply(ContactCustomFieldSet(field: "seats", from: nil, to: .number(Decimal(string: "0.1")!)))
        try roundTrip(contact)
        try roundTrip(Company(id: CompanyID()))
        try roundTrip(Lead(id: LeadID()))
        try roundTrip(Pipeline(id: PipelineID()))
        try roundTrip(Activity(id: ActivityID()))
        try roundTrip(FollowUpTask(id: TaskID()))
        try roundTrip(Campaign(id: CampaignID()))
    }

    /// A contact created by `repository` with `count` events in all.
    func contactWithEvents(_ count: Int, _ repository: Repository) async throws -> ContactID {
        let contact = ContactID()
        try await repository.execute(.create(name: try PersonName(given: "Ada", family: "Lovelace")), on: contact, context: context())
        for n in 1..<count { try await repository.execute(.addToSegment("s\(n)"), on: contact, context: context()) }
        return contact
    }
}
