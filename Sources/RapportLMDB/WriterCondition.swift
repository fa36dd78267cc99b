#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A mutex and a condition variable whose timed waits run on the monotonic
/// clock, so that a step of the wall clock (NTP, an administrator) can neither
/// cut a wait short nor stretch it. Foundation's `NSCondition.wait(until:)`
/// takes a `Date`, a wall-clock time.
final class WriterCondition: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if !canImport(Darwin)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    /// Wakes the waiting thread, if any (there is at most one: the writer).
    func signal() { pthread_cond_signal(condition) }
    /// Waits, the mutex held, until signalled (or woken spuriously).
    func wait() { pthread_cond_wait(condition, mutex) }

    /// The monotonic clock, in nanoseconds.
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// Waits, the mutex held, until signalled or until the monotonic clock
    /// reaches `deadline` (nanoseconds, as ``now()``); false once it has.
    func wait(until deadline: UInt64) -> Bool {
        let now = Self.now()
        guard deadline > now else { return false }
        #if canImport(Darwin)
        let remaining = deadline - now
        var relative = timespec(tv_sec: Int(remaining / 1_000_000_000), tv_nsec: Int(remaining % 1_000_000_000))
        return pthread_cond_timedwait_relative_np(condition, mutex, &relative) != ETIMEDOUT
        #else
        var absolute = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        return pthread_cond_timedwait(condition, mutex, &absolute) != ETIMEDOUT
        #endif
    }
}
