import Foundation
import RapportCore
import RapportEventLog
import RapportProjections
import RapportReplay
import Testing

let anna = Principal(id: "user:anna", role: .salesRep)
let boris = Principal(id: "user:boris", role: .salesManager)
let root = Principal(id: "user:root", role: .admin)

/// Day 0 of every scenario: 2026-03-01T00:00:00Z.
let day0 = Date(timeIntervalSince1970: 1_772_323_200)
func day(_ n: Double) -> Date { day0.addingTimeInterval(n * 86_400) }

func context(_ actor: Principal, _ channel: Channel = .ui, day n: Double) -> CommandContext {
    CommandContext(actor: actor, channel: channel, now: day(n))
}

func dec(_ text: String) -> Decimal { Decimal(string: text)! }
func eur(_ amount: String) -> Money { try! Money(amount: dec(amount), currency: "EUR") }

let salesStages = [
    PipelineStage(key: "qualification", name: "Qualification", probability: dec("0.1"), kind: .open),
    PipelineStage(key: "proposal", name: "Proposal", probability: dec("0.4"), kind: .open),
    PipelineStage(key: "negotiation", name: "Negotiation", probability: dec("0.7"), kind: .open),
    PipelineStage(key: "won", name: "Won", probability: 1, kind: .won),
    PipelineStage(key: "lost", name: "Lost", probability: 0, kind: .lost),
]

/// A store, a repository, and the three projections kept live: caught up
/// after every command, in small batches.
struct World {
    let store: any EventStore
    let repository: Repository
    let live: any ReadModelStorage
    let runner: ProjectionRunner
    static let projections: [any Projection] = [ContactHistory(), AuditTrail(), DealStates()]

    init(store: any EventStore = InMemoryEventStore(), live: (any ReadModelStorage)? = nil, policy: any AccessPolicy = AllowAllPolicy()) throws {
        self.store = store
        self.repository = Repository(store: store, policy: policy)
        self.live = live ?? InMemoryReadModelStorage()
        self.runner = try ProjectionRunner(log: store, storage: self.live, projections: Self.projections, registry: .crm, batchSize: 3)
    }

    /// Runs a command and catches the projections up.
    @discardableResult
    func run<A: Aggregate>(_ command: Command<A>, on id: Identifier<A>, _ context: CommandContext) async throws -> AppendResult {
        let result = try await repository.execute(command, on: id, context: context)
        try await runner.wait(for: "audit-trail", toReach: result.lastPosition)
        return result
    }

    /// Runs a repository operation and catches the projections up.
    @discardableResult
    func step(_ body: (Repository) async throws -> AppendResult) async throws -> AppendResult {
        let result = try await body(repository)
        try await runner.catchUp()
        return result
    }

    func head() async throws -> LogPosition { try await store.headPosition() }
}

/// Every key and value of a projection's read model.
func snapshot(_ storage: any ReadModelStorage, _ projection: String) throws -> [String: [UInt8]] {
    try storage.read(projection) { (reader) throws(EventStoreError) in
        var all: [String: [UInt8]] = [:]
        try reader.forEach(keyPrefix: "") { key, value in
            all[key] = value
            return true
        }
        return all
    }
}

/// Every page of a paged query, concatenated.
func allPages<T>(limit: Int, _ query: (PageRequest) throws -> Page<T>) rethrows -> [T] {
    var items: [T] = []
    var page = try query(PageRequest(limit: limit))
    items += page.items
    while let next = page.continuation {
        page = try query(PageRequest(limit: limit, after: next))
        items += page.items
    }
    return items
}

/// Rebuilds every projection from scratch and checks that the live read models are identical, key by key.
func expectLiveEqualsRebuilt(_ world: World, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let rebuilt = InMemoryReadModelStorage()
    try await ProjectionRunner(log: world.store, storage: rebuilt, projections: World.projections, registry: .crm, batchSize: 1_000).catchUp()
    for projection in World.projections {
        let live = try snapshot(world.live, projection.name)
        let fresh = try snapshot(rebuilt, projection.name)
        if projection is AuditTrail { #expect(!fresh.isEmpty, "\(projection.name) is empty", sourceLocation: sourceLocation) }
        #expect(live.keys.sorted() == fresh.keys.sorted(), "\(projection.name): keys differ", sourceLocation: sourceLocation)
        for (key, value) in fresh where live[key] != value {
            Issue.record("\(projection.name): \(key) differs", sourceLocation: sourceLocation)
        }
    }
}

/// A read-model storage a query must not touch: every call records an issue.
struct UntouchableStorage: ReadModelStorage {
    func checkpoint(of projection: String) throws(EventStoreError) -> ProjectionCheckpoint? {
        Issue.record("checkpoint(of: \(projection)) was read")
        return nil
    }

    func read<R>(_ projection: String, _ body: (any ReadModelReader) throws(EventStoreError) -> R) throws(EventStoreError) -> R {
        Issue.record("\(projection) was read")
        throw .storeClosed
    }

    func commit(_ changes: [ReadModelChanges]) async throws(EventStoreError) { Issue.record("a commit") }

    func prepareForReading() async throws(EventStoreError) { Issue.record("prepared for reading") }
}

/// The argument a query refused as out of range, or nil when it did not
/// refuse one (an answer, or another error).
func refusedArgument(_ query: () throws(ProjectionQueryError) -> Void) -> (name: String, reason: String)? {
    do {
        try query()
        return nil
    } catch .invalidArgument(let name, let reason) {
        return (name, reason)
    } catch {
        return nil
    }
}
