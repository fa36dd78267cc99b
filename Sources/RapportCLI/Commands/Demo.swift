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

    @Option(name: .long, parsing: .unconditional, help: "How many events to generate into an empty store.")
    var events = ScenarioConfiguration.small.events

    @Option(name: .customLong("as-of"), help: ArgumentHelp(
        "The date of the tour's time travel (default: a year into the history).", valueName: "date"))
    var asOf: String?

    /// Events per commit while generating: each commit gets one recorded-at
    /// time, so smaller commits make dates finer (at size S, 200 events span
    /// about two simulated days).
    static let eventsPerCommit = 200

    func run() async throws {
        try await reportingErrors {
            try options.checkBackend()
            guard events > 0 else { throw CLIError("--events must be positive", status: .usage) }
            let asOfDate = try asOf.map { (text) throws(CLIError) in try DateArgument.parse(text, option: "--as-of", timeZone: options.dates.timeZone) }
            let path = options.path
            // The generated history is recorded in simulated time, so that
            // --as-of dates work on it as on a store used for three years.
            var scenario = ScenarioConfiguration(events: events)
            scenario.eventsPerCommit = Self.eventsPerCommit
            let clock = ScenarioClock(start: scenario.start)
            var storeConfiguration = LMDBEventStore.Configuration()
            storeConfiguration.clock = clock.storeClock
            try await options.open(create: true, configuration: storeConfiguration).using { store in
                let existing = try await store.headPosition()
                if existing == .start {
                    let started = Date()
                    let bar = ProgressBar("generating")
                    let summary = try await ScenarioGenerator.generate(
                        into: store, configuration: scenario, clock: clock
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
