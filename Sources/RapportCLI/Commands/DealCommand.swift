import ArgumentParser
import Foundation
import RapportCore
import RapportEventLog
import RapportLMDB
import RapportProjections

/// `rapport deal ID [--as-of DATE]`: one deal's state and stage history.
struct DealCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deal",
        abstract: "Show a deal: title, status, stage, amount, owner and stage history, now or as of a date.",
        discussion: """
            --as-of DATE shows what the store knew then: the events recorded up to that date. The deal is built \
            from its own stream and its pipeline's, so the cost does not grow with the log. Exit code 3 when no \
            deal has the id; a deal opened after the date is "not opened yet" (exit code 0).
            """)

    @OptionGroup var options: StoreOptions

    @Argument(help: ArgumentHelp("The deal's id, or deal:ID.", valueName: "deal"))
    var deal: String

    @Option(name: .customLong("as-of"), help: ArgumentHelp("What the store knew at this date-time, or at the start (00:00) of this date, local time unless --utc.", valueName: "date"))
    var asOf: String?

    @Option(help: "table (default) or json.")
    var format: String = "table"

    func run() async throws {
        try await reportingErrors {
            let format = try OutputFormat(parsing: format)
            let id = try EntityArgument.parse(deal, as: Deal.self)
            let date = try PointInTime.date(asOf, options: options)
            try await options.open().using { store in
                let point = try await PointInTime.at(date, in: store)
                let states = DealStates()
                let state = try await states.state(of: id, asOf: point.position, fromStreamsIn: store)
                var pipeline: Pipeline?
                if let state {
                    pipeline = try await loadAggregate(state.pipelineID, asOf: point.position, from: store).state
                } else {
                    let existsLater = point.isPast ? try await states.state(of: id, asOf: point.head, fromStreamsIn: store) != nil : false
                    guard existsLater else { throw CLIError("no deal \(id) in \(options.path)", status: .notFound) }
                }
                switch format {
                case .json:
                    try OutputFormat.writeJSON(DealReport(
                        asOf: point.date, position: point.position, head: point.head, pipelineName: pipeline?.name, deal: state))
                case .table:
                    DealCard(id: id, state: state, pipeline: pipeline, point: point, dates: options.dates).print()
                }
            }
        }
    }
}

/// The JSON of `rapport deal`: the library's ``DealState`` (absent when the
/// deal was not opened yet), and the point in the log it describes.
struct DealReport: Encodable {
    var asOf: Date?
    var position: LogPosition
    var head: LogPosition
    var pipelineName: String?
    var deal: DealState?
}

/// A deal as a few lines of text, for `rapport deal` and the demo's tour.
struct DealCard {
    let id: DealID
    let state: DealState?
    let pipeline: Pipeline?
    let point: PointInTime
    let dates: DateStyle

    /// "open, stage proposal, 12000 EUR", "won, stage won, 11500 EUR" or "not opened yet".
    static func summary(_ deal: DealState?) -> String {
        guard let deal else { return "not opened yet" }
        var parts = ["\(deal.status)", "stage \(deal.stage)"]
        if let amount = deal.effectiveAmount { parts.append("\(amount)") }
        if let reason = deal.lostReason { parts.append("lost: \(reason)") }
        return parts.joined(separator: ", ")
    }

    func print() {
        guard let deal = state else {
            Terminal.print("deal \(id): not opened yet")
            if let asOf = point.describe(dates) { Terminal.print(asOf) }
            return
        }
        Terminal.print("\"\(deal.title)\" (deal \(id))")
        if let asOf = point.describe(dates) { Terminal.print(asOf) }
        var fields = TextTable()
        fields.add(["status", "\(deal.status)"])
        var stage = "\(deal.stage) (\(stageName(deal.stage))"
        if let probability = deal.probability { stage += ", probability \(Format.percent(NSDecimalNumber(decimal: probability).doubleValue))" }
        fields.add(["stage", stage + ")"])
        fields.add(["amount", deal.amount.map { "\(Format.amount($0.amount)) \($0.currency)" } ?? "-"])
        if let final = deal.finalAmount { fields.add(["won with", "\(Format.amount(final.amount)) \(final.currency)"]) }
        if let reason = deal.lostReason { fields.add(["lost because", reason]) }
        fields.add(["owner", deal.owner ?? "-"])
        fields.add(["pipeline", "\(pipeline?.name ?? "?") (pipeline \(deal.pipelineID))"])
        if let company = deal.companyID { fields.add(["company", company.description]) }
        if let close = deal.expectedCloseDate { fields.add(["expected close", dates.date(close)]) }
        fields.add(["opened", dates.dateTime(deal.openedAt)])
        if let closed = deal.closedAt { fields.add(["closed", dates.dateTime(closed)]) }
        fields.print(indent: "  ")

        Terminal.print("  stage history, times in \(dates.zoneName):")
        var history = TextTable(rightAligned: [3])
        for (index, visit) in deal.stageHistory.enumerated() {
            let current = index == deal.stageHistory.count - 1
            let stay = current && deal.status != .open ? "" : Format.days(visit.duration(until: point.date ?? Date()))
            let note = [visit.movedBack ? "moved back" : nil, current && deal.status == .open ? "so far" : nil].compactMap { $0 }
            history.add([dates.dateTime(visit.enteredAt), visit.stage, stageName(visit.stage), stay, note.joined(separator: ", ")])
        }
        history.print(indent: "    ")
    }

    /// The stage's name in the pipeline, as the pipeline stood then.
    private func stageName(_ key: String) -> String {
        guard let pipeline else { return key }
        return (pipeline.stages + pipeline.retiredStages).first { $0.key == key }?.name ?? key
    }
}
