import ArgumentParser
import RapportEventLog
import RapportProjections

/// `rapport verify`: checks every record, link, head and index of the store,
/// and with `--audit-trail` the stored audit trail against the log.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the whole store: checksums, hash chain, positions, links, heads, id index.",
        discussion: """
            Prints "sound: N events" and exits 0, or the first problem with its position and exits 1. \
            --audit-trail then also compares every stored audit entry (what `rapport audit` answers from) with the \
            entry recomputed from its event, and checks the audit trail's indexes.
            """)

    @OptionGroup var options: StoreOptions

    @Flag(name: .customLong("audit-trail"), help: "Also check the stored audit trail against the log.")
    var auditTrail = false

    func run() async throws {
        try await reportingErrors {
            // It only reads: a store of an older format is refused, not upgraded.
            try await options.openAny(readModels: auditTrail, mayUpgrade: false).using { store in
                let bar = ProgressBar("verifying")
                let report = try await store.verifyLog { done, total in bar.update(done, of: total) }
                bar.finish()
                if let problem = report.problem {
                    Terminal.print("problem \(problem.place): \(problem.message)")
                    Terminal.print("checked \(Format.count(report.eventsChecked)) of \(Format.count(report.head.rawValue)) events")
                    throw ExitCode(CLIError.ExitStatus.problemFound.rawValue)
                }
                Terminal.print("sound: \(Format.count(report.eventsChecked)) events")
                guard auditTrail else { return }
                try await store.prepareForReading()
                let trailBar = ProgressBar("checking the audit trail")
                let trail = try await AuditTrail().verify(in: store, against: store) { done, total in trailBar.update(done, of: total) }
                trailBar.finish()
                if let problem = trail.problem {
                    let place = problem.position.map { " at position \($0)" } ?? ""
                    Terminal.print("audit trail problem\(place): \(problem.message); `rapport rebuild audit-trail` recomputes it from the log")
                    throw ExitCode(CLIError.ExitStatus.problemFound.rawValue)
                }
                if trail.checkpoint == .start {
                    Terminal.print("audit trail: not built yet (`rapport audit` builds it)")
                } else {
                    Terminal.print("audit trail sound: \(Format.count(trail.entriesChecked)) entries, up to position \(Format.count(trail.checkpoint.rawValue))")
                }
            }
        }
    }
}

extension VerificationProblem {
    /// Where a problem of the log's own check is: "at position 26", or "in the indexes".
    var place: String { position.map { "at position \($0)" } ?? "in the indexes" }
}
