import ArgumentParser
import Foundation

/// `rapport`: run the demo, import CSV files, ask a store about contacts,
/// deals, pipelines and changes, verify it, show its statistics and rebuild
/// projections. Every failure ends with a one-line message on stderr and an
/// exit code from ``CLIError/ExitStatus``.
@main
struct Rapport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rapport",
        abstract: "The Rapport CRM core from the command line.",
        discussion: """
            The store is --store STORE, else the environment variable RAPPORT_STORE, else ./rapport-data: an LMDB directory \
            (PATH or lmdb:PATH) or a PostgreSQL URL (postgres://user[:password]@host[:port]/database[?schema=NAME]).
            Exit codes: 0 success, 1 verify found a problem, 2 unknown projection (or two registered under one name), 3 unknown contact, deal or pipeline, \
            64 usage error (bad date, format or id, unknown backend), 65 damaged or incompatible store or read model, or unusable input file, \
            66 no store or no input file, 69 command not available for the store's backend, 74 storage error.
            """,
        subcommands: [Demo.self, Import.self, History.self, DealCommand.self, PipelineCommand.self, Audit.self, Verify.self, Stats.self, Rebuild.self, Copy.self, Upgrade.self]
    )
}
