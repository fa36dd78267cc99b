import Foundation
import RapportEventLog
import RapportReplay

/// A projection whose read model detects any event applied twice, skipped or
/// out of order: per stream, a running digest of the positions applied, and
/// a count. Shared by the probe and the crash test.
struct ChainedProjection: Projection {
    let name = "chained"
    let version = 1
    let interest = ProjectionInterest.everything

    func apply(_ event: RecordedEvent, decoded: (any Event)?, to model: inout ReadModelContext) throws {
        let key = "stream/\(event.streamID)"
        var digest = try model.get(UInt64.self, key) ?? 1_469_598_103_934_665_603
        digest = (digest ^ event.position.rawValue) &* 1_099_511_628_211
        try model.set(digest, key)
        try model.set((try model.get(Int.self, "count") ?? 0) + 1, "count")
    }
}
