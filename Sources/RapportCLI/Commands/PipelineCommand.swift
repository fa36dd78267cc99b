import ArgumentParser
import Foundation
import RapportCore
import RapportEventLog
import RapportLMDB
import RapportProjections

/// `rapport pipeline`: the summary of every pipeline (or one), now or as of a date.
struct PipelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Summarize the pipelines: deals, amounts and weighted amounts by stage or owner, win rate, sales cycle.",
        discussion: """
            Every pipeline, by name, or only the one --pipeline names (its id or its name). Brings the deal-states \
            read model up to date first. --as-of DATE shows what the store knew then (the events recorded up to that \
            date, from the read model's stored versions), with stale deals counted at that date. --by chooses the table's rows (conversion: \
            of the deals that were in an open stage, the share that went further); json holds \
            both breakdowns, the stage transitions and the stale deals. Amounts are per currency, never converted; \
            weighted = amount × the stage's probability. Exit code 3 when --pipeline names no pipeline.
            """)

    @OptionGroup var options: StoreOptions

    @Option(name: .customLong("as-of"), help: ArgumentHelp("What the store knew at this date-time, or at the start (00:00) of this date, local time unless --utc.", valueName: "date"))
    var asOf: String?

    @Option(help: "The table's rows: stage (default) or owner.")
    var by: String = "stage"

    @Option(help: ArgumentHelp("Only this pipeline: its id (or pipeline:ID) or its name.", valueName: "pipeline"))
    var pipeline: String?

    @Option(name: .customLong("stale-after"), parsing: .unconditional, help: ArgumentHelp("Days in one stage after which an open deal is stale.", valueName: "days"))
    var staleAfter: Int = 30

    @Option(help: "table (default) or json.")
    var format: String = "table"

    func run() async throws {
        try await reportingErrors {
            let format = try OutputFormat(parsing: format)
            let rows = try Choice.parse(by, option: "--by", among: ["stage", "owner"])
            guard staleAfter >= 0 else { throw CLIError("--stale-after must be 0 or more days", status: .usage) }
            let date = try PointInTime.date(asOf, options: options)
            try await options.open().using { store in
                let point = try await PointInTime.at(date, in: store)
                // The store's own read model, caught up: now, it answers directly; in the
                // past, from its stored figures and deal versions (not a rebuild).
                let states = DealStates()
                try await catchUp([states], in: store)
                let now = point.date ?? Date()
                let pipelines = try states.pipelines(in: store)
                var summaries = try pipelines.compactMap { (pipeline) throws -> PipelineSummary? in
                    point.isPast
                        ? try states.summary(of: pipeline.id, asOf: point.position, in: store, now: now, staleAfterDays: staleAfter)
                        : try states.summary(of: pipeline.id, in: store, now: now, staleAfterDays: staleAfter)
                }.sorted { ($0.name, $0.pipelineID) < ($1.name, $1.pipelineID) }
                if let pipeline {
                    // By id, by the name it had then, or by its name now: it may have been renamed since.
                    let namedNow = Set(pipelines.filter { matches($0) }.map(\.id))
                    summaries = summaries.filter { matches((id: $0.pipelineID, name: $0.name)) || namedNow.contains($0.pipelineID) }
                    // Nothing then, but there is one now: "not defined yet" (below).
                    if summaries.isEmpty, !(point.isPast && !namedNow.isEmpty) {
                        throw CLIError("no pipeline \"\(pipeline)\" in \(options.path)", status: .notFound)
                    }
                }
                switch format {
                case .json:
                    try OutputFormat.writeJSON(PipelineReport(
                        asOf: point.date, position: point.position, head: point.head, staleAfterDays: staleAfter,
                        pipelines: summaries.map(PipelineReport.Pipeline.init)))
                case .table:
                    if let asOf = point.describe(options.dates) { Terminal.print(asOf) }
                    if summaries.isEmpty { Terminal.print(pipeline == nil ? "no pipelines yet" : "not defined yet") }
                    for summary in summaries {
                        PipelineTable(summary: summary, staleAfterDays: staleAfter).print(byOwner: rows == "owner")
                    }
                }
            }
        }
    }

    /// Whether `--pipeline` names this pipeline: its id, or its name (case-insensitive).
    private func matches(_ candidate: (id: PipelineID, name: String)) -> Bool {
        guard let pipeline else { return true }
        if let id = try? EntityArgument.parse(pipeline, as: Pipeline.self) { return id == candidate.id }
        return candidate.name.caseInsensitiveCompare(pipeline) == .orderedSame
    }
}

/// One pipeline's summary as text: a row per stage (or owner), then the totals.
struct PipelineTable {
    let summary: PipelineSummary
    let staleAfterDays: Int

    func print(byOwner: Bool) {
        Terminal.print()
        Terminal.print("\(summary.name) (pipeline \(summary.pipelineID))")
        var table = TextTable(rightAligned: Set(1...7))
        if byOwner {
            table.add(["owner", "open", "amount", "weighted", "won", "lost", "win rate", "won amount"])
            for owner in summary.owners {
                table.add([owner.owner ?? "(none)", String(owner.open.count), Format.amounts(owner.open.total), Format.amounts(owner.open.weighted),
                           String(owner.results.won), String(owner.results.lost), Format.percent(owner.results.winRate),
                           Format.amounts(owner.results.wonAmount)])
            }
        } else {
            table.add(["stage", "deals", "amount", "weighted", "probability", "entered", "advanced", "conversion"])
            for stage in summary.stages {
                table.add([stage.key + (stage.isRetired ? " (retired)" : ""), String(stage.deals.count), Format.amounts(stage.deals.total),
                           Format.amounts(stage.deals.weighted), Format.percent(NSDecimalNumber(decimal: stage.probability).doubleValue),
                           String(stage.entered), String(stage.advanced), stage.kind == .open ? Format.percent(stage.conversionRate) : "-"])
            }
        }
        table.print(indent: "  ")
        let open = summary.open, results = summary.results
        Terminal.print("  open    \(Format.count(open.count, "deal")), \(Format.amounts(open.total)), weighted \(Format.amounts(open.weighted))")
        var closed = "  closed  \(Format.count(results.won)) won (\(Format.amounts(results.wonAmount))), \(Format.count(results.lost)) lost"
        closed += ", win rate \(Format.percent(results.winRate))"
        if let cycle = results.averageSalesCycle { closed += ", average sales cycle \(Format.days(cycle))" }
        Terminal.print(closed)
        Terminal.print("  stale   \(Format.count(summary.stale.count, "open deal")) without a stage change for \(Format.count(staleAfterDays, "day"))")
    }
}

/// The JSON of `rapport pipeline`: the library's ``PipelineSummary`` figures,
/// with the rates it computes, and the point in the log they describe.
struct PipelineReport: Encodable {
    var asOf: Date?
    var position: LogPosition
    var head: LogPosition
    var staleAfterDays: Int
    var pipelines: [Pipeline]

    struct Amounts: Encodable {
        var count: Int
        var total: [String: Decimal]
        var weighted: [String: Decimal]
        init(_ figures: AmountFigures) { (count, total, weighted) = (figures.count, figures.total, figures.weighted) }
    }

    struct Results: Encodable {
        var won: Int
        var lost: Int
        var wonAmount: [String: Decimal]
        var winRate: Double?
        var averageSalesCycleSeconds: Double?
        init(_ figures: WinFigures) {
            (won, lost, wonAmount) = (figures.won, figures.lost, figures.wonAmount)
            (winRate, averageSalesCycleSeconds) = (figures.winRate, figures.averageSalesCycle)
        }
    }

    struct Stage: Encodable {
        var key: String
        var name: String
        var kind: String
        var probability: Decimal
        var retired: Bool
        var deals: Amounts
        var entered: Int
        var advanced: Int
        var conversionRate: Double?
    }

    struct Owner: Encodable {
        var owner: String?
        var open: Amounts
        var results: Results
    }

    struct Transition: Encodable {
        var from: String
        var to: String
        var count: Int
    }

    struct Pipeline: Encodable {
        var id: PipelineID
        var name: String
        var now: Date
        var open: Amounts
        var results: Results
        var stages: [Stage]
        var owners: [Owner]
        var transitions: [Transition]
        var stale: [DealID]

        init(_ summary: PipelineSummary) {
            id = summary.pipelineID
            name = summary.name
            now = summary.now
            open = Amounts(summary.open)
            results = Results(summary.results)
            stages = summary.stages.map {
                Stage(key: $0.key, name: $0.name, kind: $0.kind.rawValue, probability: $0.probability, retired: $0.isRetired,
                      deals: Amounts($0.deals), entered: $0.entered, advanced: $0.advanced, conversionRate: $0.conversionRate)
            }
            owners = summary.owners.map { Owner(owner: $0.owner, open: Amounts($0.open), results: Results($0.results)) }
            transitions = summary.transitions.map { Transition(from: $0.from, to: $0.to, count: $0.count) }
            stale = summary.stale.map(\.id)
        }
    }
}
