import Foundation
import Logging
import NIOPosix
import PostgresNIO
import RapportEventLog

/// One pooled connection the store holds for the synchronous reads of
/// ``ReadModelStorage`` (`checkpoint(of:)` and `read(_:_:)`).
///
/// The kernel's read-model protocol is synchronous (a projection applies
/// events without awaiting), so a read cannot lease a connection from the
/// pool: that needs an `await`. Instead a holder task leases one connection
/// and keeps it until the store closes or the connection dies (then it leases
/// another). A read sends its statements on that connection through
/// postgres-nio's future-based interface and waits for the answer on the
/// calling thread. The answer is delivered by a NIO event-loop thread, never
/// by Swift's cooperative pool, so waiting cannot starve the task that would
/// answer it. A read on an event-loop thread itself is refused (NIO traps a
/// wait there), as when NIO runs Swift's global executor.
///
/// Reads are serialised: one at a time on the one connection. The holder is
/// started by `prepareForReading()` (the projection runner calls it before it
/// reads), which waits for the connection without blocking a thread. A read
/// never waits for a lease (that would block a thread of the cooperative pool
/// on work the pool must do): without a connection it starts the holder and
/// throws, saying to await `prepareForReading()` first.
final class ReadingConnection: @unchecked Sendable {
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var connection: PostgresConnection?
    private var holder: Task<Void, Never>?
    private var release: CheckedContinuation<Void, Never>?
    private var closed = false
    private var lastFailure: String?
    /// The COMMIT that ended the previous read, answered before the next read's statements.
    private var pendingCommit: EventLoopFuture<PostgresQueryResult>?

    /// Serialises reads: one read at a time uses the connection.
    private let inUse = NSLock()

    let client: PostgresClient
    let logger: Logger
    /// How long `ready()` waits for the holder to lease a connection.
    let connectTimeout: TimeInterval

    init(client: PostgresClient, logger: Logger, connectTimeout: TimeInterval = 15) {
        self.client = client
        self.logger = logger
        self.connectTimeout = connectTimeout
    }

    /// Starts the holder task once; later calls do nothing.
    func start() {
        condition.lock()
        defer { condition.unlock() }
        guard holder == nil, !closed else { return }
        holder = Task { [self] in await hold() }
    }

    private func hold() async {
        while !Task.isCancelled {
            do {
                try await client.withOpenConnection { connection in
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        condition.lock()
                        if closed {
                            condition.unlock()
                            continuation.resume()
                            return
                        }
                        self.connection = connection
                        self.pendingCommit = nil
                        self.lastFailure = nil
                        self.release = continuation
                        condition.broadcast()
                        condition.unlock()
                        connection.closeFuture.whenComplete { _ in self.letGo(connection) }
                    }
                }
            } catch {
                let failure = PostgresFailure.storeError(error, doing: "connecting for read-model reads", schema: "")
                record(failure: failure.description)
                logger.warning("no connection for read-model reads; retrying", metadata: ["error": "\(failure)"])
            }
            if state().closed { return }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Whether the store closed, whether an open connection is held, and the last failure to get one.
    private func state() -> (closed: Bool, held: Bool, failure: String?) {
        condition.lock()
        defer { condition.unlock() }
        return (closed, connection.map { !$0.isClosed } ?? false, lastFailure)
    }

    private func record(failure: String) {
        condition.lock()
        lastFailure = failure
        condition.broadcast()
        condition.unlock()
    }

    /// Gives `connection` back to the pool (it closed, or the store did).
    private func letGo(_ connection: PostgresConnection?) {
        condition.lock()
        guard connection == nil || self.connection === connection else {
            condition.unlock()
            return
        }
        self.connection = nil
        let release = self.release
        self.release = nil
        condition.unlock()
        release?.resume()
    }

    /// Refuses further reads (``EventStoreError/storeClosed``), gives the
    /// connection back to the pool and stops the holder.
    ///
    /// With `waitingForReads`, it first waits, blocking the calling thread,
    /// for a read in progress to end (that read's transaction is open on the
    /// connection, and it ends it while the connection is still held) and for
    /// the answer to the COMMIT that ended the last read: the pool gets the
    /// connection outside any transaction. Without (the store's deinit, when
    /// no read can be running), the COMMIT already sent still runs before
    /// whatever the next lease sends.
    func close(waitingForReads: Bool) {
        condition.lock()
        closed = true
        let holder = self.holder
        self.holder = nil
        condition.broadcast()
        condition.unlock()
        if waitingForReads {
            inUse.lock()
            condition.lock()
            let commit = pendingCommit
            pendingCommit = nil
            condition.unlock()
            _ = try? commit?.wait()
            inUse.unlock()
        }
        letGo(nil)
        holder?.cancel()
    }

    /// Returns once a connection is held (starting the holder if needed), or
    /// throws after ``connectTimeout`` or when the task is cancelled. Waits
    /// without blocking a thread.
    func ready() async throws(EventStoreError) {
        start()
        let deadline = ContinuousClock.now + .seconds(connectTimeout)
        while true {
            let (isClosed, held, failure) = state()
            if isClosed { throw .storeClosed }
            if held { return }
            guard ContinuousClock.now < deadline else {
                throw .storage("no connection to PostgreSQL for reading read models within \(Int(connectTimeout)) s\(failure.map { ": \($0)" } ?? "")")
            }
            // A cancelled task's sleep ends at once: without this the loop would spin until the deadline.
            if Task.isCancelled { throw .storage("the task was cancelled while waiting for a connection to PostgreSQL for reading read models") }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Runs `body` with the held connection, alone.
    func withConnection<R>(_ body: (PostgresConnection) throws(EventStoreError) -> R) throws(EventStoreError) -> R {
        try Self.refuseOnEventLoop()
        inUse.lock()
        defer { inUse.unlock() }
        let connection = try connected()
        return try body(connection)
    }

    /// Refuses a read on a NIO event-loop thread (an event-loop callback, or
    /// a task when NIO runs Swift's global executor): waiting there for the
    /// server's answer is what NIO traps on, as it could never come.
    static func refuseOnEventLoop() throws(EventStoreError) {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else { return }
        throw .storage(
            "read models on PostgreSQL are read synchronously, waiting for the server, and this thread runs NIO event loop \(loop), where nothing may wait (is NIO Swift's global executor?); read from a thread of your own, or a task on another executor")
    }

    /// The held connection. Never waits for one to be leased: that needs a
    /// task of Swift's cooperative pool, which the blocked caller may be
    /// starving. Without a connection it starts the holder and says to prepare.
    private func connected() throws(EventStoreError) -> PostgresConnection {
        start()
        condition.lock()
        defer { condition.unlock() }
        if closed { throw .storeClosed }
        guard let connection, !connection.isClosed else {
            let cause = lastFailure.map { " (the last attempt to connect failed: \($0))" } ?? ""
            throw .storage("the store holds no connection for reading read models yet; await prepareForReading() first (the projection runner does)\(cause)")
        }
        if let commit = pendingCommit {
            pendingCommit = nil
            condition.unlock()
            _ = try? commit.wait()
            condition.lock()
            guard !connection.isClosed else {
                throw .storage("the connection for reading read models closed; await prepareForReading() to take another")
            }
        }
        return connection
    }

    /// Sends COMMIT after a read without waiting for its answer; the next read waits for it.
    func endTransaction(on connection: PostgresConnection) {
        let commit = connection.collect("COMMIT", logger: logger)
        condition.lock()
        if self.connection === connection { pendingCommit = commit }
        condition.unlock()
    }
}
