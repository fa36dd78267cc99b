import ArgumentParser
import Foundation
import RapportEventLog
import RapportLMDB
import RapportScenario

/// `rapport demo`: fills an empty store with the CRM scenario, then shows a short tour.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate the CRM scenario into an empty store, then show a short tour of it.",
        discussion: """
            An empty (or new) store gets the deterministic CRM scenario of --events events (size S, 100,000, \
            by default). A store that already holds events is left as it is: only the tour is shown.
            """)

    @OptionGroup var options: StoreOptions

    @Option(name: .long, help: "How many events to generate into an empty store.")
    var events = ScenarioConfiguration.small.events

    @Option(name: .customLong("as-of"), help: ArgumentHelp(
        "The date of the tour's time travel (default: a year into the history).", valueName: "date"))
    var asOf: String?

    func run() async throws {
        try await reportingErrors {
            try options.checkBackend()
            guard events > 0 else { throw CLIError("--events must be positive", status: .usage) }
            let asOfDate = try asOf.map { (text) throws(CLIError) in try DateArgument.parse(text, option: "--as-of", timeZone: options.dates.timeZone) }
            let path = options.path
            try await options.open(create: true).using { store in
                let existing = try await store.headPosition()
                if existing == .start {
                    let started = Date()
                    let bar = ProgressBar("generating")
                    let summary = try await ScenarioGenerator.generate(
                        into: store, configuration: ScenarioConfiguration(events: events)
                    ) { done, total in bar.update(UInt64(done), of: UInt64(total)) }
                    bar.finish()
                    let seconds = Date().timeIntervalSince(started)
                    Terminal.print("Generated \(Format.count(summary.events)) events into \(path) in \(Format.seconds(seconds)).")
                } else {
                    Terminal.print("The store at \(path) already holds \(Format.count(existing.rawValue)) events; nothing was generated.")
                }
                try await Tour(store: store, dates: options.dates, asOf: asOfDate).show()
            }
        }
    }
}
