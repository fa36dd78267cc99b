import Foundation
import RapportEventLog
import RapportLMDB
import RapportProjections
import RapportReplay
import Testing

/// Review of the LMDB store (branch review-lmdb): a valid event whose audit
/// keys pass LMDB's 511-byte key limit.
@Suite("Review: audit trail keys on LMDB")
struct ReviewAuditKeyTests {
    @Test func theAuditTrailCatchesUpOverAStreamIDFullOfSlashes() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rapport-review-audit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try LMDBEventStore(path: path)
        // A valid stream id (255 bytes, no control characters): a document path.
        let stream = try StreamID("doc-" + String(repeating: "a/", count: 125) + "x")
        try await store.append([NewEvent(type: "DocumentFiled", metadata: EventMetadata(actor: anna, channel: .api), payload: Data("{}".utf8))], to: stream)
        // The same catch-up into memory works.
        let memory = InMemoryReadModelStorage()
        #expect(try await ProjectionRunner(log: store, storage: memory, projections: [AuditTrail()]).catchUp() == 1)
        var outcome = "caught up"
        do {
            _ = try await ProjectionRunner(log: store, storage: store, projections: [AuditTrail()]).catchUp()
        } catch {
            outcome = "\(error)"
        }
        #expect(outcome == "caught up", "stream id of \(stream.rawValue.utf8.count) bytes: \(outcome)")
        await store.close()
    }
}
