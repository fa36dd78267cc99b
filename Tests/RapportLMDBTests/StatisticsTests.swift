import Foundation
import RapportEventLog
import RapportLMDB
import Testing

@Suite("LMDB statistics and checkpoints")
struct StatisticsTests {
    @Test func countsEventsStreamsTagsAndCheckpoints() async throws {
        let path = temporaryStorePath("statistics")
        defer { removeStore(path) }
        let store = try LMDBEventStore(path: path)
        let empty = try store.statistics()
        #expect(empty.events == 0 && empty.head == .start && empty.streams == 0 && empty.tags == 0 && empty.projections == 0)
        #expect(try store.checkpoints().isEmpty)

        for index in 0..<7 {
            try await store.append([testEvent(tags: [try Tag("t:\(index % 2)"), try Tag("all")])], to: try StreamID("s-\(index % 3)"))
        }
        try await store.commit([
            ReadModelChanges(projection: "alpha", writes: ["k": [1]], checkpoint: ProjectionCheckpoint(version: 2, position: 5)),
            ReadModelChanges(projection: "beta", checkpoint: ProjectionCheckpoint(version: 1, position: 7)),
        ])
        let statistics = try store.statistics()
        #expect(statistics.events == 7)
        #expect(statistics.head == 7)
        #expect(statistics.streams == 3)
        #expect(statistics.tags == 3)
        #expect(statistics.projections == 2)
        #expect(statistics.mapSize > 0)
        #expect(try store.checkpoints() == [
            "alpha": ProjectionCheckpoint(version: 2, position: 5), "beta": ProjectionCheckpoint(version: 1, position: 7),
        ])
        await store.close()
    }
}
