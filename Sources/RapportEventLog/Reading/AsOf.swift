public import Foundation

extension EventLogReader {
    /// The position of the last event recorded at or before `date`;
    /// ``LogPosition/start`` when none was. "What did we know as of `date`" is
    /// the log up to this position.
    ///
    /// Stores keep recorded-at times non-decreasing along the log, so this is a
    /// binary search: O(log n) single-event reads.
    ///
    /// ```swift
    /// let march1 = ISO8601DateFormatter().date(from: "2026-03-01T00:00:00Z")!
    /// let known = try await store.position(asOf: march1)
    /// let history = try await store.readLog(from: 1, filter: .all, limit: Int(known.rawValue))
    /// ```
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
