import Foundation
import RapportCore
import RapportEventLog

/// The state of one generation run: what exists, what is scheduled, and the
/// random source. Every choice comes from `random`, so a seed fixes the history.
struct Simulation {
    let configuration: ScenarioConfiguration
    /// Follows ``now`` when given, so a store using it records in simulated time.
    let clock: ScenarioClock?
    let target: Int
    var writer: BulkWriter
    var random: SplitMix64
    var summary = ScenarioSummary()

    // Quotas, scaled from the per-million figures of WORKLOAD.md.
    let companyQuota: Int, contactQuota: Int, leadQuota: Int, directDealQuota: Int

    var companies: [CompanyID] = []
    var contacts: [ContactInfo] = []
    var leadsCaptured = 0
    var directDeals = 0
    var deals: [DealID: DealPlan] = [:]
    var pipelines: [PipelineInfo] = []
    var schedule = Schedule()
    let zipf: ZipfTable

    struct ContactInfo {
        let id: ContactID
        let owner: Principal
        let company: CompanyID?
        var openDeal: DealID?
    }

    struct PipelineInfo {
        let id: PipelineID
        let openStages: [String]
    }

    struct DealPlan {
        let pipeline: Int
        let owner: Principal
        let contact: ContactID
        let amount: Decimal
        var stage: Int
        var movesLeft: Int
        var movedBack = false
        let outcome: Outcome
        enum Outcome { case won, lost, open }
    }

    init(store: any EventStore, configuration: ScenarioConfiguration, clock: ScenarioClock?) {
        self.configuration = configuration
        self.clock = clock
        target = configuration.events
        writer = BulkWriter(repository: Repository(store: store), eventsPerCommit: configuration.eventsPerCommit)
        random = SplitMix64(seed: configuration.seed)
        let scale = Double(configuration.events) / 1_000_000
        companyQuota = max(2, Int((2_000 * scale).rounded()))
        contactQuota = max(10, Int((10_000 * scale).rounded()))
        leadQuota = max(4, Int((4_000 * scale).rounded()))
        // About 2,000 of the 3,000 deals per million come from converted leads.
        directDealQuota = max(1, Int((1_000 * scale).rounded()))
        zipf = ZipfTable(count: contactQuota, exponent: 1.1)
    }

    // MARK: - Helpers

    var produced: Int { writer.eventsDecided }

    /// The simulated clock: history advances with the events written.
    var now: Date {
        configuration.start.addingTimeInterval(configuration.duration * Double(produced) / Double(target))
    }

    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &random) < probability }
    mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &random)] }
    mutating func uuid() -> UUID {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
    mutating func role(_ role: Principal.Role) -> Principal { pick(ScenarioGenerator.actors.filter { $0.role == role }) }
    /// Schedules `action` a random distance ahead: between `from` and `to` of the whole history.
    mutating func later(_ from: Double, _ to: Double, _ action: Schedule.Action) {
        let offset = Int(Double(target) * Double.random(in: from...to, using: &random))
        schedule.add(at: produced + max(1, offset), action)
    }
    mutating func context(_ actor: Principal, _ channel: Channel) -> CommandContext {
        CommandContext(actor: actor, channel: channel, correlationID: uuid(), now: now)
    }
    mutating func text(_ minimum: Int, _ maximum: Int) -> String {
        let length = Int.random(in: minimum...maximum, using: &random)
        var words: [String] = []
        var count = 0
        while count < length {
            let word = pick(Vocabulary.words)
            words.append(word)
            count += word.count + 1
        }
        return words.joined(separator: " ")
    }

    // MARK: - The run

    mutating func run(progress: (@Sendable (Int, Int) -> Void)?) async throws(CRMError) -> ScenarioSummary {
        summary.start = configuration.start
        try await definePipelines()
        var reported = 0
        while produced < target {
            clock?.set(now)
            if let action = schedule.popDue(at: produced) {
                try await perform(action)
            } else {
                try await nextOperation()
            }
            if writer.eventsAppended > reported {
                reported = writer.eventsAppended
                progress?(reported, target)
            }
        }
        try await writer.flush()
        progress?(writer.eventsAppended, target)
        summary.events = writer.eventsAppended
        summary.end = now
        summary.busiestContact = contacts.first?.id
        return summary
    }

    /// Creations are spread evenly over the history; the rest is activity.
    mutating func nextOperation() async throws(CRMError) {
        let share = min(1, Double(produced) / Double(target) + 0.002)
        if companies.count < Int(Double(companyQuota) * share) { return try await createCompany() }
        if contacts.count < Int(Double(contactQuota) * share) || contacts.isEmpty { return try await createContact() }
        if leadsCaptured < Int(Double(leadQuota) * share) { return try await captureLead() }
        if directDeals < Int(Double(directDealQuota) * share) { return try await openDirectDeal() }
        if chance(0.12) { return try await createTask() }
        try await logActivity()
    }

    mutating func perform(_ action: Schedule.Action) async throws(CRMError) {
        switch action {
        case .workLead(let lead, let owner): try await workLead(lead, owner: owner)
        case .resolveLead(let lead, let owner): try await resolveLead(lead, owner: owner)
        case .advanceDeal(let deal): try await advanceDeal(deal)
        case .rescheduleTask(let task, let assignee, let due): try await rescheduleTask(task, assignee: assignee, due: due)
        case .closeTask(let task, let assignee): try await closeTask(task, assignee: assignee)
        }
    }
}
