public import Foundation
public import RapportCore

/// Counts and amounts of a set of deals. Amounts are summed per currency
/// (never converted): `total["EUR"]`.
///
/// ```swift
/// let eur = summary.open.total["EUR"] ?? 0
/// let expected = summary.open.weighted["EUR"] ?? 0     // Σ amount × stage probability
/// ```
public struct AmountFigures: Hashable, Sendable {
    /// Number of deals (with or without an amount).
    public var count = 0
    /// Sum of the amounts (won deals: the final amount), per currency.
    public var total: [String: Decimal] = [:]
    /// Sum of amount × the stage's default probability, per currency.
    public var weighted: [String: Decimal] = [:]

    public init() {}
}

/// Wins, losses and cycle lengths of a set of deals.
public struct WinFigures: Hashable, Sendable {
    /// Deals won (currently won).
    public var won = 0
    /// Deals lost (currently lost).
    public var lost = 0
    /// Sum of won deals' final amounts, per currency.
    public var wonAmount: [String: Decimal] = [:]
    /// Seconds from opened to won, added over won deals (whole microseconds each).
    var cycleTotal: TimeInterval = 0

    public init() {}

    /// won / (won + lost); nil when none is closed.
    public var winRate: Double? { won + lost == 0 ? nil : Double(won) / Double(won + lost) }
    /// The average time from opened to won, in seconds; nil without wins.
    public var averageSalesCycle: TimeInterval? { won == 0 ? nil : cycleTotal / Double(won) }
}

/// One stage of a pipeline summary.
public struct StageFigures: Hashable, Sendable {
    public var key: String
    public var name: String
    public var kind: PipelineStage.Kind
    /// The stage's default probability.
    public var probability: Decimal
    /// Whether the stage was removed from the pipeline (deals may still be in it).
    public var isRetired: Bool
    /// The deals in this stage now.
    public var deals: AmountFigures
    /// Deals that were ever in this stage.
    public var entered: Int
    /// Deals that, after being in this stage, moved further along the board
    /// (a later open stage, or won).
    public var advanced: Int
    /// advanced / entered; nil when no deal entered.
    public var conversionRate: Double? { entered == 0 ? nil : Double(advanced) / Double(entered) }
}

/// One owner's part of a pipeline summary.
public struct OwnerFigures: Hashable, Sendable {
    /// The owner; nil for deals without one.
    public var owner: String?
    /// Their open deals.
    public var open: AmountFigures
    /// Their closed deals.
    public var results: WinFigures
}

/// How many deals moved from one stage directly to another.
public struct StageTransition: Hashable, Sendable {
    public var from: String
    public var to: String
    public var count: Int
}

/// A pipeline's figures: by stage, by owner and overall.
///
/// ```swift
/// let summary = try states.summary(of: sales, in: store, now: Date(), staleAfterDays: 30)!
/// for stage in summary.stages { print(stage.key, stage.deals.count, stage.deals.weighted, stage.conversionRate ?? "-") }
/// print(summary.results.winRate ?? "-", summary.results.averageSalesCycle.map { $0 / 86_400 } ?? "-", "days")
/// ```
public struct PipelineSummary: Hashable, Sendable {
    public var pipelineID: PipelineID
    public var name: String
    /// The "now" the summary was computed for (stale deals, time in stage).
    public var now: Date
    /// Every stage in board order, then retired stages that still hold deals.
    public var stages: [StageFigures]
    /// Every owner with a deal in the pipeline, ordered by id (nil first).
    public var owners: [OwnerFigures]
    /// All open deals.
    public var open: AmountFigures
    /// All closed deals.
    public var results: WinFigures
    /// Direct moves between stages (opening is not a move), ordered by from, then to.
    public var transitions: [StageTransition]
    /// Open deals that have not changed stage for the given number of days, longest-idle first.
    public var stale: [DealState]
}
