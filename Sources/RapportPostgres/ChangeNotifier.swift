import Logging
import PostgresNIO
import Synchronization

/// Wakes the subscriptions of a store when the log may have grown.
///
/// A listener task holds one pooled connection that LISTENs on the store's
/// channel; every notification (and every (re)start of the listener, when
/// notifications may have been missed) increases ``generation`` and wakes the
/// waiters. Waiters also wake after their poll interval, so a lost
/// notification or a dead listener only delays a subscription, never stalls it.
final class ChangeNotifier: Sendable {
    private struct State: Sendable {
        var generation: UInt64 = 0
        var nextWaiter: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var listener: Task<Void, Never>?
        var closed = false
    }

    private let state = Mutex(State())

    /// Increases with every notification; read it before reading the log, then
    /// wait for it to change.
    var generation: UInt64 { state.withLock { $0.generation } }

    /// Records a change and wakes every waiter.
    func signal() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation &+= 1
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when ``generation`` differs from `seen`, after `timeout`, when the
    /// task is cancelled, or when the notifier is closed.
    func wait(after seen: UInt64, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForChange(after: seen) }
            group.addTask { try? await Task.sleep(for: timeout) }
            _ = await group.next()
            group.cancelAll()
        }
    }

    private func waitForChange(after seen: UInt64) async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter &+= 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    // A cancellation that came before this registration has
                    // already set the flag; one that comes after finds the waiter.
                    if state.closed || state.generation != seen || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Starts the listener once; later calls do nothing.
    func startListening(client: PostgresClient, channel: String, retryDelay: Duration, logger: Logger) {
        state.withLock { state in
            guard state.listener == nil, !state.closed else { return }
            state.listener = Task { [self] in
                await listen(client: client, channel: channel, retryDelay: retryDelay, logger: logger)
            }
        }
    }

    private func listen(client: PostgresClient, channel: String, retryDelay: Duration, logger: Logger) async {
        while !Task.isCancelled {
            do {
                try await client.withOpenConnection { connection in
                    try await connection.listen(on: channel) { notifications in
                        logger.debug("listening for appends", metadata: ["channel": "\(channel)"])
                        // Anything committed before LISTEN took effect was not notified.
                        signal()
                        for try await _ in notifications { signal() }
                    }
                }
            } catch {
                if Task.isCancelled { break }
                logger.warning("LISTEN for appends failed; subscriptions poll until it is back", metadata: [
                    "channel": "\(channel)", "error": "\(PostgresFailure.storeError(error, doing: "listening", schema: ""))",
                ])
            }
            try? await Task.sleep(for: retryDelay)
        }
    }

    /// Stops the listener and wakes every waiter for good.
    func close() {
        let (listener, waiters) = state.withLock { state -> (Task<Void, Never>?, [CheckedContinuation<Void, Never>]) in
            state.closed = true
            state.generation &+= 1
            defer {
                state.waiters = [:]
                state.listener = nil
            }
            return (state.listener, Array(state.waiters.values))
        }
        listener?.cancel()
        for waiter in waiters { waiter.resume() }
    }
}
