import ArgumentParser
import Foundation
import RapportLMDB

/// `rapport stats`: what the store holds.
struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what the store holds: events, streams, tags, event types, size, projection checkpoints.")

    @OptionGroup var options: StoreOptions

    @Option(name: .long, parsing: .unconditional, help: "How many event types to list (0 or more).")
    var types = 10

    func run() async throws {
        try await reportingErrors {
            guard types >= 0 else { throw CLIError("--types must be 0 or more", status: .usage) }
            let path = options.path
            let (statistics, census, checkpoints) = try await options.open(mayUpgrade: false).using { store in
                let statistics = try store.statistics()
                let census = try Census.take(of: store, detailed: false, progress: ProgressBar("counting types"))
                return (statistics, census, try store.checkpoints())
            }
            let dataFile = URL(fileURLWithPath: path).appendingPathComponent("data.mdb").path
            let size = ((try? FileManager.default.attributesOfItem(atPath: dataFile))?[.size] as? NSNumber)?.int64Value ?? 0

            Terminal.print("store:        \(path)")
            Terminal.print("events:       \(Format.count(statistics.events))")
            Terminal.print("head:         position \(Format.count(statistics.head.rawValue))")
            Terminal.print("streams:      \(Format.count(statistics.streams))")
            Terminal.print("tags:         \(Format.count(statistics.tags))")
            Terminal.print("size on disk: \(Format.bytes(size)) (data.mdb)")
            Terminal.print("types:        \(census.types.count)")
            let top = census.topTypes(types)
            let width = top.map(\.type.count).max() ?? 0
            for (type, events) in top {
                Terminal.print("  \(type.padding(toLength: width, withPad: " ", startingAt: 0))  \(Format.count(events))")
            }
            if census.types.count > top.count { Terminal.print("  … and \(census.types.count - top.count) more") }
            if checkpoints.isEmpty {
                Terminal.print("projections:  none")
            } else {
                Terminal.print("projections:  \(checkpoints.count)")
                for (name, checkpoint) in checkpoints.sorted(by: { $0.key < $1.key }) {
                    Terminal.print("  \(name)  version \(checkpoint.version) at position \(Format.count(checkpoint.position.rawValue))")
                }
            }
        }
    }
}
