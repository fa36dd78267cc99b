import RapportEventLog
import RapportTesting
import Testing

@Suite("In-memory store conformance")
struct InMemoryConformanceTests {
    static let suite = ConformanceSuite { StoreUnderTest(store: InMemoryEventStore()) }

    @Test(arguments: ConformanceSuite.checkNames)
    func conformance(_ check: String) async throws {
        try await Self.suite.run(check)
    }
}

@Suite("In-memory store clock")
struct InMemoryClockTests {
    @Test func recordedAtFollowsTheStoreClock() async throws {
        try await StoreClockCheck.run { clock in StoreUnderTest(store: InMemoryEventStore(clock: clock)) }
    }
}
