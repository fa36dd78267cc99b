import ArgumentParser
import RapportEventLog

/// `rapport verify`: checks every record, link, head and index of the store.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the whole store: checksums, hash chain, positions, links, heads, id index.",
        discussion: "Prints \"sound: N events\" and exits 0, or the first problem with its position and exits 1.")

    @OptionGroup var options: StoreOptions

    func run() async throws {
        try await reportingErrors {
            let report = try await options.openAny().using { store in
                let bar = ProgressBar("verifying")
                defer { bar.finish() }
                return try await store.verifyLog { done, total in bar.update(done, of: total) }
            }
            if let problem = report.problem {
                let place = problem.position.map { "at position \($0)" } ?? "in the indexes"
                Terminal.print("problem \(place): \(problem.message)")
                Terminal.print("checked \(Format.count(report.eventsChecked)) of \(Format.count(report.head.rawValue)) events")
                throw ExitCode(CLIError.ExitStatus.problemFound.rawValue)
            }
            Terminal.print("sound: \(Format.count(report.eventsChecked)) events")
        }
    }
}
