public import Foundation

/// Where a store takes the recorded-at time of the events it commits.
///
/// Stores use ``system`` unless told otherwise. Whatever the clock says, a
/// store never lets recorded-at go backwards along the log: an event is
/// recorded at the clock's time or at its predecessor's, whichever is later.
/// That is what makes ``EventLogReader/position(asOf:)`` a binary search.
///
/// Another clock is for tests, for deterministic demos and for importing a
/// history that was recorded elsewhere with its original times:
///
/// ```swift
/// var configuration = LMDBEventStore.Configuration()
/// let simulated = Mutex(Date(timeIntervalSince1970: 1_672_646_400))
/// configuration.clock = StoreClock { simulated.withLock { $0 } }
/// ```
///
/// The PostgreSQL store takes recorded-at from the database server's clock
/// and has no such option.
public struct StoreClock: Sendable {
    private let read: @Sendable () -> Date

    /// A clock that answers `now()`.
    public init(_ now: @escaping @Sendable () -> Date) {
        read = now
    }

    /// The machine's clock.
    public static let system = StoreClock { Date() }

    /// The current time by this clock.
    public func now() -> Date { read() }

    /// The current time in whole microseconds since 1970, as records store it.
    /// A date a record cannot represent is replaced: one before 1970 by 1970,
    /// a later one (or not a number) by the machine's clock. The stores never
    /// record a time earlier than their last record's, whatever the clock says.
    package func nowMicros() -> Int64 {
        let date = read()
        guard RecordFormat.isRepresentable(date) else { return date.timeIntervalSince1970 < 0 ? 0 : RecordFormat.nowMicros() }
        return RecordFormat.micros(date)
    }
}
