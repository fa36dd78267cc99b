import Foundation
import RapportLMDB
import Testing

/// Opens the store at `path`, runs `body`, closes it.
private func withStore<R>(_ path: String, _ body: (LMDBEventStore) async throws -> R) async throws -> R {
    let store = try LMDBEventStore(path: path)
    do {
        let result = try await body(store)
        await store.close()
        return result
    } catch {
        await store.close()
        throw error
    }
}

@Suite("rapport demo")
struct DemoTests {
    @Test func generatesOnceThenOnlyShowsTheTour() async throws {
        let scratch = try Scratch("demo")
        defer { scratch.cleanUp() }

        let first = try scratch.rapport("demo", "--events", "3000", "--store", scratch.store, "--utc")
        #expect(first.status == 0, "\(first.errors)")
        #expect(first.errors.isEmpty, "stderr is not a terminal: no progress bar, no noise")
        #expect(first.output.contains("Generated "))
        for heading in ["What the store holds", "contacts", "deals", "The busiest contact:", "As of 2024-01-02 08:00 UTC", "then:", "now:"] {
            #expect(first.output.contains(heading), "missing \(heading) in\n\(first.output)")
        }
        // The actor's month, checked against a plain scan of the log by recorded-at.
        let end = Date(timeIntervalSince1970: 1_704_182_400)  // 2024-01-02T08:00:00Z, a year into the history
        let start = end.addingTimeInterval(-30 * 86_400)
        let expected = try await withStore(scratch.store) { store in
            try await store.readLog(from: 1, filter: .all, limit: 10_000).filter {
                $0.metadata.actor.id == "user:rep-1" && $0.recordedAt > start && $0.recordedAt <= end
            }.count
        }
        #expect(expected > 0)
        #expect(first.output.contains("What user:rep-1 did from 2023-12-03 to 2024-01-02: \(expected) changes"), "\(first.output)")
        #expect(first.output.contains("The pipelines now") && first.output.contains("win rate"))
        let statsBefore = try scratch.rapport("stats", "--store", scratch.store)
        #expect(statsBefore.status == 0)
        let events = try #require(statsBefore.outputLines.first { $0.hasPrefix("events:") })

        let second = try scratch.rapport("demo", "--events", "3000", "--store", scratch.store, "--utc")
        #expect(second.status == 0, "\(second.errors)")
        #expect(!second.output.contains("Generated "))
        #expect(second.output.contains("already holds"))
        #expect(second.output.contains("The busiest contact:"))
        let statsAfter = try scratch.rapport("stats", "--store", scratch.store)
        #expect(statsAfter.outputLines.first { $0.hasPrefix("events:") } == events, "the second run generated nothing")
    }

    @Test func theStoreComesFromTheEnvironmentWhenNoOptionIsGiven() throws {
        let scratch = try Scratch("demo-env")
        defer { scratch.cleanUp() }
        let run = try scratch.rapport("demo", "--events", "300", "--as-of", "2023-06-01", environment: ["RAPPORT_STORE": scratch.store])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("into \(scratch.store)"))
        #expect(run.output.contains("As of 2023-06-01 00:00 UTC"))
        #expect(FileManager.default.fileExists(atPath: scratch.store + "/data.mdb"))
    }
}
