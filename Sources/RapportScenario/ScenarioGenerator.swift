public import Foundation
public import RapportCore
public import RapportEventLog
import Synchronization

/// The size and shape of a generated CRM history (`shared/WORKLOAD.md`, "The CRM scenario").
///
/// ```swift
/// let summary = try await ScenarioGenerator.generate(into: store, configuration: .small)
/// ```
public struct ScenarioConfiguration: Sendable, Hashable {
    /// How many events to generate (about; the last operation may add a few more).
    public var events: Int
    /// The seed of every random choice: the same seed gives the same history.
    public var seed: UInt64 = 42
    /// When the simulated history starts.
    public var start = Date(timeIntervalSince1970: 1_672_646_400)  // 2023-01-02T08:00:00Z
    /// How long the simulated history lasts (three years).
    public var duration: TimeInterval = 3 * 365 * 86_400
    /// Events per atomic append.
    public var eventsPerCommit = 1_000

    public init(events: Int) { self.events = max(events, 100) }

    /// Size S: 100,000 events (tests and CI smoke).
    public static let small = ScenarioConfiguration(events: 100_000)
    /// Size M: 1,000,000 events (benchmarks).
    public static let medium = ScenarioConfiguration(events: 1_000_000)
    /// Size L: 10,000,000 events (scale runs).
    public static let large = ScenarioConfiguration(events: 10_000_000)
}

/// What a generated history holds, with ids useful for examples and queries.
public struct ScenarioSummary: Sendable, Hashable {
    public var events = 0
    public var companies = 0
    public var contacts = 0
    public var leads = 0
    public var convertedLeads = 0
    public var disqualifiedLeads = 0
    public var deals = 0
    public var dealsWon = 0
    public var dealsLost = 0
    public var activities = 0
    public var tasks = 0
    /// The two pipelines.
    public var pipelines: [PipelineID] = []
    /// The contact with the most activity (rank 1 of the Zipf distribution).
    public var busiestContact: ContactID?
    /// A deal that was won.
    public var aWonDeal: DealID?
    /// When the simulated history starts and ends.
    public var start = Date.distantPast
    public var end = Date.distantPast
}

/// Generates the CRM scenario of `shared/WORKLOAD.md`, deterministically from
/// its seed: 20 actors with roles; per 1,000,000 events about 10,000 contacts,
/// 2,000 companies, 4,000 leads (about half converted into contact + company
/// + deal), 3,000 deals moving through the stages of two pipelines (forward
/// mostly, sometimes back; about 30 % won, 50 % lost with a reason, the rest
/// open); the rest activities on every channel and tasks created, rescheduled
/// and completed; activity per contact following a Zipf distribution
/// (s = 1.1); timestamps spread over three simulated years.
///
/// Every event goes through the CRM's own commands (validation, tags,
/// metadata), appended in atomic batches by a ``BulkWriter``.
///
/// ```swift
/// let store = try LMDBEventStore(path: path)
/// let summary = try await ScenarioGenerator.generate(into: store, configuration: .small) { done, total in
///     print(done, "/", total)
/// }
/// ```
public enum ScenarioGenerator {
    /// The 20 actors: 10 sales reps, 3 sales managers, 3 marketing, 3 support, 1 admin.
    public static let actors: [Principal] =
        (1...10).map { Principal(id: "user:rep-\($0)", role: .salesRep) }
        + (1...3).map { Principal(id: "user:manager-\($0)", role: .salesManager) }
        + (1...3).map { Principal(id: "user:marketing-\($0)", role: .marketing) }
        + (1...3).map { Principal(id: "user:support-\($0)", role: .support) }
        + [Principal(id: "user:admin", role: .admin)]

    /// Generates a history into `store` (which should be empty).
    ///
    /// - Parameters:
    ///   - clock: when given, set to the simulated time as the history
    ///     advances. Give the same clock's ``ScenarioClock/storeClock`` to the
    ///     store, and recorded-at follows the simulation: "as of" questions by
    ///     date then work on the generated history as on a real one.
    ///   - progress: called after each append with (events written, events wanted).
    public static func generate(
        into store: any EventStore, configuration: ScenarioConfiguration, clock: ScenarioClock? = nil,
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) async throws(CRMError) -> ScenarioSummary {
        var simulation = Simulation(store: store, configuration: configuration, clock: clock)
        return try await simulation.run(progress: progress)
    }
}

/// The simulated time of a generated history, as a ``StoreClock``.
///
/// A generated history covers three simulated years but is written in
/// seconds. With this clock, each commit is recorded at the simulated time
/// it was made, so recorded-at spreads over the history the way it would
/// have in real use:
///
/// ```swift
/// let configuration = ScenarioConfiguration.small
/// let clock = ScenarioClock(start: configuration.start)
/// var storeConfiguration = LMDBEventStore.Configuration()
/// storeConfiguration.clock = clock.storeClock
/// let store = try LMDBEventStore(path: path, configuration: storeConfiguration)
/// try await ScenarioGenerator.generate(into: store, configuration: configuration, clock: clock)
/// let march1 = try await store.position(asOf: someDateInTheHistory)
/// ```
public final class ScenarioClock: Sendable {
    private let time: Mutex<Date>

    /// A clock that reads `start` until the simulation moves it.
    public init(start: Date) {
        time = Mutex(start)
    }

    /// The simulated time now.
    public var now: Date { time.withLock { $0 } }

    /// This clock for a store's configuration.
    public var storeClock: StoreClock { StoreClock { [self] in now } }

    /// Moves the clock to `date` (the simulation only moves it forward).
    func set(_ date: Date) { time.withLock { $0 = date } }
}
