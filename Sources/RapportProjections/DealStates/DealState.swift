public import Foundation
public import RapportCore
public import RapportEventLog

/// A deal's stay in one stage.
///
/// ```swift
/// for visit in deal.stageHistory { print(visit.stage, visit.enteredAt, visit.leftAt ?? "now", visit.movedBack) }
/// ```
public struct StageVisit: Hashable, Sendable, Codable {
    /// The stage key.
    public var stage: String
    /// When the deal entered it (the event's occurred-at time).
    public var enteredAt: Date
    /// When it left; nil while it is still there.
    public var leftAt: Date?
    /// Whether it entered this stage by moving back on the board.
    public var movedBack: Bool
    /// The position of the event that moved it here.
    public var position: LogPosition

    /// How long the deal stayed (or, still there, has stayed by `now`).
    public func duration(until now: Date) -> TimeInterval {
        max(0, (leftAt ?? now).timeIntervalSince(enteredAt))
    }
}

/// The state of one deal, as the ``DealStates`` projection keeps it.
///
/// ```swift
/// let deal = try states.state(of: dealID, in: store)!
/// print(deal.stage, deal.status, deal.amount ?? "-", deal.probability ?? "-", deal.owner ?? "-")
/// print(deal.timeInStages(until: Date()))      // seconds per stage key
/// ```
public struct DealState: Hashable, Sendable, Codable {
    /// The deal.
    public var id: DealID
    /// Its title.
    public var title: String
    /// The pipeline it is in.
    public var pipelineID: PipelineID
    /// The current stage key (won or lost stage when closed).
    public var stage: String
    /// Open, won or lost.
    public var status: DealStatus
    /// The expected amount.
    public var amount: Money?
    /// The amount it was won with.
    public var finalAmount: Money?
    /// Its owner's principal id.
    public var owner: String?
    /// The company it is with.
    public var companyID: CompanyID?
    /// When it is expected to close.
    public var expectedCloseDate: Date?
    /// When it was opened.
    public var openedAt: Date
    /// When it was won or lost; nil while open.
    public var closedAt: Date?
    /// Why it was lost.
    public var lostReason: String?
    /// Every stage it has been in, oldest first; the last is the current one.
    public var stageHistory: [StageVisit]
    /// The current stage's default probability in its pipeline (filled in by
    /// the queries from the pipeline's definition at the time of the read model).
    public var probability: Decimal?

    /// When it last moved (entered its current stage).
    public var lastMovedAt: Date { stageHistory.last?.enteredAt ?? openedAt }

    /// How many times it moved back on the board.
    public var movesBack: Int { stageHistory.filter(\.movedBack).count }

    /// The amount that counts in totals: the final amount of a won deal, the expected amount otherwise.
    public var effectiveAmount: Money? { status == .won ? finalAmount ?? amount : amount }

    /// Seconds spent in each stage (all visits added up), the current stage counted until `now`.
    public func timeInStages(until now: Date) -> [String: TimeInterval] {
        stageHistory.reduce(into: [:]) { $0[$1.stage, default: 0] += $1.duration(until: now) }
    }
}

/// A pipeline as the deal-states projection keeps it.
struct PipelineInfo: Codable, Hashable {
    var name: String
    var stages: [PipelineStage]
    var retired: [PipelineStage] = []

    func stage(_ key: String) -> PipelineStage? {
        stages.first { $0.key == key } ?? retired.last { $0.key == key }
    }

    mutating func apply(_ event: any Event) {
        switch event {
        case let e as PipelineRenamed: name = e.to
        case let e as PipelineStageAdded: stages.insert(e.stage, at: min(max(e.index, 0), stages.count))
        case let e as PipelineStageRenamed:
            if let index = stages.firstIndex(where: { $0.key == e.key }) { stages[index].name = e.to }
        case let e as PipelineStageProbabilityChanged:
            if let index = stages.firstIndex(where: { $0.key == e.key }) { stages[index].probability = e.to }
        case let e as PipelineStagesReordered:
            let byKey = Dictionary(stages.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
            stages = e.to.compactMap { byKey[$0] }
        case let e as PipelineStageRemoved:
            if let index = stages.firstIndex(where: { $0.key == e.stage.key }) { retired.append(stages.remove(at: index)) }
        default: break
        }
    }
}
