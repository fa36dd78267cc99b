import Foundation
import RapportEventLog
import RapportLMDB
import RapportTesting
import Testing

@Suite("LMDB store conformance")
struct LMDBConformanceTests {
    static let suite = ConformanceSuite {
        let path = temporaryStorePath("conformance")
        return StoreUnderTest(
            store: try LMDBEventStore(path: path),
            reopen: { try LMDBEventStore(path: path) },
            destroy: { removeStore(path) })
    }

    @Test(arguments: ConformanceSuite.checkNames)
    func conformance(_ check: String) async throws {
        try await Self.suite.run(check)
    }
}

@Suite("LMDB store clock")
struct LMDBClockTests {
    @Test func recordedAtFollowsTheStoreClock() async throws {
        try await StoreClockCheck.run { clock in
            let path = temporaryStorePath("clock")
            var configuration = LMDBEventStore.Configuration()
            configuration.clock = clock
            return StoreUnderTest(store: try LMDBEventStore(path: path, configuration: configuration), destroy: { removeStore(path) })
        }
    }
}
