public import RapportEventLog
import Foundation
import Synchronization

/// Checks that a store takes recorded-at from its ``StoreClock`` and never
/// lets recorded-at go backwards along the log, whatever the clock says.
///
/// For backends whose configuration accepts a clock. Give it a factory that
/// opens a new, empty store with the clock it is handed:
///
/// ```swift
/// @Test func recordedAtFollowsTheClock() async throws {
///     try await StoreClockCheck.run { clock in
///         StoreUnderTest(store: InMemoryEventStore(clock: clock))
///     }
/// }
/// ```
public enum StoreClockCheck {
    /// Runs the check.
    ///
    /// - Throws: ``ConformanceFailure`` when recorded-at does not follow the
    ///   clock or goes backwards, or the error the store threw.
    public static func run(_ makeStore: @Sendable (StoreClock) async throws -> StoreUnderTest) async throws {
        let time = Mutex(Date(timeIntervalSince1970: 1_700_000_000))
        let subject = try await makeStore(StoreClock { time.withLock { $0 } })
        let context = CheckContext(name: "recorded-at follows the store clock", subject: subject)
        do {
            try await check(context, setTime: { date in time.withLock { $0 = date } })
        } catch {
            await context.finish()
            throw error
        }
        await context.finish()
    }

    private static func check(_ c: CheckContext, setTime: (Date) -> Void) async throws {
        let target = stream("clocked-1")
        let first = Date(timeIntervalSince1970: 1_700_000_000)
        try await c.store.append([makeEvent()], to: target)
        setTime(first.addingTimeInterval(86_400))
        try await c.store.append([makeEvent(), makeEvent()], to: target)
        // A clock set back in time: the store records at its last time instead.
        setTime(first.addingTimeInterval(-86_400))
        try await c.store.append([makeEvent()], to: target)
        let times = try await c.store.readLog(from: 1, filter: .all, limit: 10).map(\.recordedAt)
        try c.expectEqual(times, [first, first + 86_400, first + 86_400, first + 86_400], "recorded-at of four events")
        try c.expectEqual(try await c.store.position(asOf: first), LogPosition(1), "position as of the first day")
        try c.expectEqual(try await c.store.position(asOf: first - 1), LogPosition.start, "position as of before the first event")
        try c.expectEqual(try await c.store.position(asOf: first + 86_400), LogPosition(4), "position as of the second day")
    }
}
