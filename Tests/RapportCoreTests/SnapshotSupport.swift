import Foundation
import InMemoryLogging
import Logging
@testable import RapportCore
import RapportEventLog
import RapportLMDB
import Synchronization
import Testing

/// The stores snapshot tests run on: the log and the snapshots in memory, or
/// both in one LMDB store.
enum SnapshotBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case inMemory, lmdb

    var testDescription: String { rawValue }

    /// Runs `body` with a fresh log and a snapshot storage, then closes and removes them.
    func withStores(_ body: (any EventStore, any ReadModelStorage) async throws -> Void) async throws {
        switch self {
        case .inMemory:
            try await body(InMemoryEventStore(), InMemoryReadModelStorage())
        case .lmdb:
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("rapport-snapshots-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            let store = try LMDBEventStore(path: path)
            do {
                try await body(store, store)
            } catch {
                await store.close()
                throw error
            }
            await store.close()
        }
    }
}

/// A store that counts how many events its stream reads returned, to tell a
/// load from a snapshot from a full replay.
final class CountingStore: EventStore {
    let base: any EventStore
    private let read = Mutex(0)

    init(_ base: any EventStore) { self.base = base }

    /// Events returned by stream reads since the last call, which resets the count.
    func takeEventsRead() -> Int { read.withLock { count in defer { count = 0 }; return count } }

    func append(_ request: AppendRequest) async throws(EventStoreError) -> AppendResult { try await base.append(request) }

    func readStream(_ stream: StreamID, from version: UInt64, direction: ReadDirection, limit: Int) async throws(EventStoreError) -> [RecordedEvent] {
        let events = try await base.readStream(stream, from: version, direction: direction, limit: limit)
        read.withLock { $0 += events.count }
        return events
    }

    func streamVersion(of stream: StreamID) async throws(EventStoreError) -> UInt64 { try await base.streamVersion(of: stream) }
    func readLog(from position: LogPosition, filter: LogFilter, limit: Int) async throws(EventStoreError) -> [RecordedEvent] {
        try await base.readLog(from: position, filter: filter, limit: limit)
    }
    func headPosition() async throws(EventStoreError) -> LogPosition { try await base.headPosition() }
    func event(id: EventID) async throws(EventStoreError) -> RecordedEvent? { try await base.event(id: id) }
    func close() async { await base.close() }
}

/// Read-model storage that fails on purpose: every commit, and reads when asked to.
final class FailingStorage: ReadModelStorage {
    let failReads: Bool
    private let commits = Mutex(0)

    init(failReads: Bool) { self.failReads = failReads }

    /// How many commits were attempted.
    var commitsAttempted: Int { commits.withLock { $0 } }

    func checkpoint(of projection: String) throws(EventStoreError) -> ProjectionCheckpoint? {
        if failReads { throw .storage("the disk is on fire") }
        return nil
    }

    func read<R>(_ projection: String, _ body: (any ReadModelReader) throws(EventStoreError) -> R) throws(EventStoreError) -> R {
        if failReads { throw .storage("the disk is on fire") }
        return try InMemoryReadModelStorage().read(projection, body)
    }

    func commit(_ changes: [ReadModelChanges]) async throws(EventStoreError) {
        commits.withLock { $0 += 1 }
        throw .storage("the disk is full")
    }
}

/// The reference: `id` folded from its stored events at or before `end`,
/// read straight from the store, without the repository.
func replayed<A: Aggregate>(_ id: Identifier<A>, in store: any EventStore, through end: LogPosition = LogPosition(.max)) async throws -> (state: A, version: UInt64) {
    var state = A(id: id)
    var version: UInt64 = 0
    for try await record in store.events(in: id.streamID) where record.position <= end {
        state.apply(try EventTypeRegistry.crm.decode(record))
        version = record.streamVersion
    }
    return (state, version)
}

/// What the snapshot storage holds for `stream`: the stream versions of its
/// snapshots, newest first.
func snapshotVersions(of stream: StreamID, in storage: any ReadModelStorage) throws -> [UInt64] {
    let snapshots = AggregateSnapshots(storage: storage)
    return try snapshots.storedHeaders(of: stream).map { try SnapshotFormat.decodeHeader($0.bytes).streamVersion }
}

/// Rewrites the newest snapshot of `stream` in `storage`: `change` edits its
/// header (the header's checksum is made right again, so only the edit
/// counts), `state` replaces its state bytes.
func tamperWithNewestSnapshot(
    of stream: StreamID, in storage: any ReadModelStorage, header change: (inout SnapshotHeader) -> Void = { _ in },
    state: (([UInt8]) -> [UInt8])? = nil, moveTo version: UInt64? = nil
) async throws {
    let snapshots = AggregateSnapshots(storage: storage)
    let (slot, bytes) = try #require(try snapshots.storedHeaders(of: stream).first)
    var header = try SnapshotFormat.decodeHeader(bytes)
    let stateBytes = try #require(try snapshots.storedState(of: stream, in: slot))
    change(&header)
    let target = version.map { SnapshotSlot(version: $0) } ?? slot
    var writes: [String: [UInt8]?] = [
        AggregateSnapshots.headerPrefix(stream) + target.suffix: SnapshotFormat.encode(header),
        AggregateSnapshots.statePrefix(stream) + target.suffix: state?(stateBytes) ?? stateBytes,
    ]
    if target != slot {
        writes[AggregateSnapshots.headerPrefix(stream) + slot.suffix] = .some(nil)
        writes[AggregateSnapshots.statePrefix(stream) + slot.suffix] = .some(nil)
    }
    try await storage.commit([ReadModelChanges(projection: AggregateSnapshots.readModelName, writes: writes,
                                               checkpoint: ProjectionCheckpoint(version: 1, position: header.position))])
}

/// A logger that keeps what it is told, to check what was reported.
func recordingLogger() -> (Logger, InMemoryLogHandler) {
    let handler = InMemoryLogHandler()
    return (Logger(label: "test.snapshots", factory: { _ in handler }), handler)
}

let sales: [PipelineStage] = [
    PipelineStage(key: "qualification", name: "Qualification", probability: Decimal(string: "0.1")!, kind: .open),
    PipelineStage(key: "proposal", name: "Proposal", probability: Decimal(string: "0.4")!, kind: .open),
    PipelineStage(key: "negotiation", name: "Negotiation", probability: Decimal(string: "0.7")!, kind: .open),
    PipelineStage(key: "won", name: "Won", probability: 1, kind: .won),
    PipelineStage(key: "lost", name: "Lost", probability: 0, kind: .lost),
]

/// A random but reproducible history of one deal and one contact, written
/// through a repository: whatever the repository refuses (a move to the
/// stage the deal is in, a change to a closed deal…) is simply not recorded.
struct RandomHistory {
    let pipeline = PipelineID()
    let deal = DealID()
    let contact = ContactID()
    let people = (0..<4).map { _ in ContactID() }
    var random: SplitMix64
    var step = 0

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    func context(_ step: Int) -> CommandContext {
        CommandContext(actor: admin, channel: .api, now: Date(timeIntervalSince1970: 1_772_323_200 + Double(step) * 3_600))
    }

    /// Defines the pipeline and opens the deal and the contact.
    mutating func begin(_ repository: Repository) async throws {
        try await repository.execute(.define(name: "Sales", stages: sales), on: pipeline, context: context(0))
        try await repository.execute(.create(name: try PersonName(given: "Ada", family: "Lovelace"), owner: "user:anna"),
                                     on: contact, context: context(0))
        try await repository.openDeal(deal, title: "Acme pilot", pipeline: pipeline, amount: try Money(amount: 1_000, currency: "EUR"),
                                      context: context(0))
    }

    /// Runs one random command.
    mutating func next(_ repository: Repository) async throws {
        step += 1
        let n = Int(random.next() % 1_000)
        let ctx = context(step)
        let stages = ["qualification", "proposal", "negotiation"]
        do throws(CRMError) {
            switch random.next() % 14 {
            case 0: try await repository.execute(.rename(to: "Acme deal \(n)"), on: deal, context: ctx)
            case 1, 2: try await repository.moveDeal(deal, toStage: stages[n % 3], context: ctx)
            case 3: try await repository.execute(.changeAmount(try Money(amount: Decimal(n) + Decimal(string: "0.25")!, currency: "EUR")), on: deal, context: ctx)
            case 4: try await repository.execute(.addContact(people[n % 4], role: n % 2 == 0 ? .evaluator : .decisionMaker), on: deal, context: ctx)
            case 5: try await repository.execute(.removeContact(people[n % 4]), on: deal, context: ctx)
            case 6:
                if n % 2 == 0 {
                    try await repository.markDealWon(deal, finalAmount: try Money(amount: Decimal(n), currency: "EUR"), context: ctx)
                } else {
                    try await repository.markDealLost(deal, reason: "price \(n)", context: ctx)
                }
            case 7: try await repository.reopenDeal(deal, toStage: stages[n % 3], context: ctx)
            case 8: try await repository.execute(.addEmail("ada\(n % 7)@example.com"), on: contact, context: ctx)
            case 9: try await repository.execute(.removeEmail("ada\(n % 7)@example.com"), on: contact, context: ctx)
            case 10: try await repository.execute(.setCustomField("seats", .number(Decimal(n))), on: contact, context: ctx)
            case 11: try await repository.execute(n % 2 == 0 ? .addToSegment("s\(n % 5)") : .removeFromSegment("s\(n % 5)"), on: contact, context: ctx)
            case 12: try await repository.execute(.changeJobTitle(to: n % 3 == 0 ? nil : "Engineer \(n)"), on: contact, context: ctx)
            default:
                try await repository.execute(.recordConsent(.email, granted: n % 2 == 0, source: "form \(n)", lawfulBasis: "consent"),
                                             on: contact, context: ctx)
            }
        } catch {
            switch error {
            case .store, .concurrencyConflict: throw error
            default: break  // refused by the aggregate's rules: nothing recorded
            }
        }
    }
}
