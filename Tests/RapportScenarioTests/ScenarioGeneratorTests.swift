import Foundation
import RapportCore
import RapportEventLog
import RapportScenario
import Testing

@Suite("Scenario generator")
struct ScenarioGeneratorTests {
    /// What makes two generated logs the same history (event ids and recorded-at come from the clock).
    func signature(_ event: RecordedEvent) -> String {
        "\(event.streamID) \(event.type) \(event.metadata.actor.id) \(event.metadata.channel) \(event.tags.map(\.rawValue)) \(String(decoding: event.payload, as: UTF8.self))"
    }

    @Test func aSeedGivesTheSameHistoryWithTheWorkloadsProportions() async throws {
        var configuration = ScenarioConfiguration(events: 20_000)
        configuration.eventsPerCommit = 500
        let first = InMemoryEventStore(), second = InMemoryEventStore()
        let summary = try await ScenarioGenerator.generate(into: first, configuration: configuration)
        let again = try await ScenarioGenerator.generate(into: second, configuration: configuration)
        #expect(summary == again)
        let a = try await first.readLog(from: 1, filter: .all, limit: 100_000)
        let b = try await second.readLog(from: 1, filter: .all, limit: 100_000)
        #expect(a.count == b.count)
        #expect(zip(a, b).allSatisfy { signature($0) == signature($1) }, "same seed, same history")

        // Size and shape (WORKLOAD.md, scaled to 20,000 events: 200 contacts + converted leads, 40 companies, 80 leads, 60 deals).
        #expect(a.count >= 20_000 && a.count < 20_100)
        #expect(summary.events == a.count)
        #expect(summary.leads == 80)
        #expect((30...50).contains(summary.convertedLeads), "about half of the leads converted: \(summary.convertedLeads)")
        #expect(summary.companies >= 40 && summary.contacts >= 200)
        #expect((40...80).contains(summary.deals), "deals: \(summary.deals)")
        let closed = Double(summary.dealsWon + summary.dealsLost)
        #expect(closed > 0 && Double(summary.dealsWon) / closed > 0.2 && Double(summary.dealsWon) / closed < 0.55,
                "won share of closed deals (30 % won, 50 % lost): \(summary.dealsWon) won, \(summary.dealsLost) lost")
        #expect(summary.activities > 13_000, "the rest is activities and tasks: \(summary.activities) activities")

        // Zipf: the busiest contact has far more activity than a typical one.
        let activityTags = a.filter { $0.type == "ActivityLogged" }.flatMap { $0.tags.filter { $0.rawValue.hasPrefix("contact:") } }
        var perContact: [String: Int] = [:]
        for tag in activityTags { perContact[tag.rawValue, default: 0] += 1 }
        let counts = perContact.values.sorted(by: >)
        #expect(perContact[summary.busiestContact!.tag.rawValue] == counts.first)
        #expect(counts[0] > 20 * counts[counts.count / 2], "head \(counts[0]) vs median \(counts[counts.count / 2])")

        // Every channel and role appears, time spans three years, and every event decodes.
        #expect(Set(a.map(\.metadata.channel.rawValue)).isSuperset(of: ["phone", "email", "meeting", "sms", "chat", "web-form", "ui"]))
        #expect(Set(a.map(\.metadata.actor.role.rawValue)) == ["sales-rep", "sales-manager", "marketing", "support", "admin"])
        let occurred = a.compactMap(\.occurredAt)
        #expect(occurred.max()!.timeIntervalSince(occurred.min()!) > 2.9 * 365 * 86_400)
        for event in a { _ = try EventTypeRegistry.crm.decode(event) }
        let sizes = a.filter { $0.type == "ActivityLogged" }.map(\.payload.count)
        #expect(sizes.allSatisfy { (100...1_200).contains($0) }, "activity payloads \(sizes.min()!)...\(sizes.max()!) bytes")
    }

    @Test func withItsClockTheHistoryIsRecordedInSimulatedTime() async throws {
        var configuration = ScenarioConfiguration(events: 5_000)
        configuration.eventsPerCommit = 100
        let clock = ScenarioClock(start: configuration.start)
        let store = InMemoryEventStore(clock: clock.storeClock)
        _ = try await ScenarioGenerator.generate(into: store, configuration: configuration, clock: clock)
        let events = try await store.readLog(from: 1, filter: .all, limit: 10_000)
        let end = configuration.start.addingTimeInterval(configuration.duration)
        #expect(events.first!.recordedAt >= configuration.start && events.last!.recordedAt <= end)
        #expect(events.last!.recordedAt > configuration.start.addingTimeInterval(configuration.duration * 0.9), "recorded-at spreads over the history")
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.recordedAt <= $1.recordedAt }, "recorded-at never goes backwards")
        #expect(events.allSatisfy { $0.recordedAt >= ($0.occurredAt ?? $0.recordedAt) }, "nothing is recorded before it happened")
        // "As of" by date now lands inside the history: the last event recorded by then, and none after.
        let middle = configuration.start.addingTimeInterval(configuration.duration / 2)
        let position = try await store.position(asOf: middle)
        #expect(position.rawValue > 1_000 && position.rawValue < 4_000)
        #expect(events[Int(position.rawValue) - 1].recordedAt <= middle && events[Int(position.rawValue)].recordedAt > middle)
    }
}
