import ArgumentParser
import RapportCore
import RapportEventLog
import RapportLMDB
import RapportReplay

/// `rapport rebuild`: rebuilds projections from position 1.
struct Rebuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild a projection's read model from the whole log (all of them without a name).",
        discussion: """
            Projections are registered in Sources/RapportCLI/Projections.swift. The whole log is checked first (as \
            `rapport verify` does): a damaged log stops the rebuild with exit code 65 before any read model changes. \
            Exit code 2 for an unknown name.
            """)

    @OptionGroup var options: StoreOptions

    @Argument(help: "The projection to rebuild; all registered ones when omitted.")
    var projection: String?

    @Flag(name: .long, help: "List the registered projections and their checkpoints instead.")
    var list = false

    func run() async throws {
        try await reportingErrors {
            if list { return try await listProjections() }
            let chosen = try select(from: registeredProjections)
            try await options.openAny(readModels: true).using { store in
                // A rebuild empties the read models first: check the whole log before, so that a
                // damaged record stops it while the read models are still as they were.
                let bar = ProgressBar("checking the log")
                let report = try await store.verifyLog { done, total in bar.update(done, of: total) }
                bar.finish()
                if let problem = report.problem {
                    throw CLIError("the log has a problem \(problem.place): \(problem.message); nothing was rebuilt", status: .dataError)
                }
                for projection in chosen {
                    // Empty the read model and put its checkpoint at the start: the runner then replays everything.
                    try await store.commit([ReadModelChanges(
                        projection: projection.name, resetFirst: true,
                        checkpoint: ProjectionCheckpoint(version: projection.version, position: .start))])
                }
                let reached = try await catchUp(chosen, in: store, label: "rebuilding")
                for projection in chosen {
                    Terminal.print("rebuilt \(projection.name) (version \(projection.version)) up to position \(Format.count(reached.rawValue))")
                }
            }
        }
    }

    /// The projections to rebuild: the named one, or all.
    func select(from projections: [any Projection]) throws(CLIError) -> [any Projection] {
        guard !projections.isEmpty else {
            throw CLIError("no projections are registered in this build", status: .unknownProjection)
        }
        guard let projection else { return projections }
        guard let found = projections.first(where: { $0.name == projection }) else {
            let known = projections.map(\.name).sorted().joined(separator: ", ")
            throw CLIError("unknown projection \"\(projection)\"; registered: \(known)", status: .unknownProjection)
        }
        return [found]
    }

    private func listProjections() async throws {
        guard !registeredProjections.isEmpty else {
            Terminal.print("no projections are registered")
            return
        }
        let checkpoints = try await options.openAny(readModels: true).using { store in
            try await store.prepareForReading()
            var found: [String: ProjectionCheckpoint] = [:]
            for projection in registeredProjections { found[projection.name] = try store.checkpoint(of: projection.name) }
            return found
        }
        for projection in registeredProjections.sorted(by: { $0.name < $1.name }) {
            let state: String
            if let checkpoint = checkpoints[projection.name] {
                state = checkpoint.version == projection.version
                    ? "at position \(Format.count(checkpoint.position.rawValue))"
                    : "stored version \(checkpoint.version): rebuilds on the next run"
            } else {
                state = "not built"
            }
            Terminal.print("\(projection.name)  version \(projection.version)  \(state)")
        }
    }
}
