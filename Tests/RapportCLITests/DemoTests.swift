import Foundation
import Testing

@Suite("rapport demo")
struct DemoTests {
    @Test func generatesOnceThenOnlyShowsTheTour() throws {
        let scratch = try Scratch("demo")
        defer { scratch.cleanUp() }

        let first = try scratch.rapport("demo", "--events", "3000", "--store", scratch.store, "--utc")
        #expect(first.status == 0, "\(first.errors)")
        #expect(first.errors.isEmpty, "stderr is not a terminal: no progress bar, no noise")
        #expect(first.output.contains("Generated "))
        for heading in ["What the store holds", "contacts", "deals", "The busiest contact:", "As of 2024-01-02 08:00 UTC", "then:", "now:"] {
            #expect(first.output.contains(heading), "missing \(heading) in\n\(first.output)")
        }
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
