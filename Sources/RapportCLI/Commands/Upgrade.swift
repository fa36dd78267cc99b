import ArgumentParser
import RapportEventLog
import RapportLMDB

/// `rapport upgrade`: brings an LMDB store of an older format to the
/// current one, on request, since `verify`, `stats` and `copy` only read.
struct Upgrade: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upgrade an LMDB store of an older format to the current one.",
        discussion: """
            The upgrade rewrites the store in one transaction (a store that fails halfway is left as it was), and \
            cannot be undone: libraries that know only the older format then refuse the store. To keep the original \
            as it is, copy its directory and upgrade the copy. Commands that write (import, demo, rebuild, audit, \
            history, deal, pipeline) upgrade a store when they open it; verify, stats and copy's source never do.
            """)

    @OptionGroup var options: StoreOptions

    func run() async throws {
        try await reportingErrors {
            try options.checkBackend()
            let path = options.path
            try OpenedStore.checkLMDB(at: path, mustExist: true)
            var configuration = LMDBEventStore.Configuration()
            configuration.upgradesOlderFormats = false
            do throws(EventStoreError) {
                let store = try LMDBEventStore(path: path, configuration: configuration)
                await store.close()
                Terminal.print("\(path) is already in the current format")
                return
            } catch {
                // An older format is upgraded below; anything else is the answer.
                guard LMDBEventStore.isOlderFormatNotUpgraded(error) else { throw error }
            }
            let store = try options.open(mayUpgrade: true)
            let head = try await store.using { try await $0.headPosition() }
            Terminal.print("upgraded \(path) to the current format (\(Format.count(head.rawValue)) events)")
        }
    }
}
