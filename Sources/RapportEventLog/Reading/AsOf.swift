public import Foundation

extension EventLogReader {
    /// The binary search of ``EventLogReader/position(asOf:)`` over
    /// ``EventLogReader/readLog(from:filter:limit:)``: O(log n) single-event reads.
    public func position(asOf date: Date) async throws(EventStoreError) -> LogPosition {
        var low: UInt64 = 0  // recorded at or before `date` (0: before the log)
        var high = try await headPosition().rawValue + 1  // after `date`
        while high - low > 1 {
            let middle = low + (high - low) / 2
            guard let event = try await readLog(from: LogPosition(middle), filter: .all, limit: 1).first else {
                high = middle
                continue
            }
            if event.recordedAt <= date { low = middle } else { high = middle }
        }
        return LogPosition(low)
    }
}
