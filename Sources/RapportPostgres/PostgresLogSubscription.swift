public import RapportEventLog

/// The log's events from a position on, as they are appended: it reads what is
/// stored, then waits for more, woken by PostgreSQL's LISTEN/NOTIFY or, when a
/// notification is missed, after the store's poll interval. It does not end
/// by itself, unless the filter has a ``LogFilter/through`` position: then it
/// ends once it has delivered what matches up to that position.
///
/// Events arrive in position order, each once, with no gap: positions are
/// committed in order, so a page read up to the head holds every event up to it.
///
/// The sequence ends (returns nil) when the task iterating it is cancelled,
/// and throws ``EventStoreError/storeClosed`` once the store is closed.
///
/// ```swift
/// let follower = Task {
///     for try await event in store.subscribe(from: checkpoint.next, filter: LogFilter(types: ["DealWon"])) {
///         try await project(event)
///     }
/// }
/// // …
/// follower.cancel()
/// ```
public struct PostgresLogSubscription: AsyncSequence, Sendable {
    public typealias Element = RecordedEvent
    public typealias Failure = EventStoreError

    let store: PostgresEventStore
    let start: LogPosition
    let filter: LogFilter
    let pageSize: Int

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(store: store, next: Swift.max(start, 1), filter: filter, pageSize: Swift.max(pageSize, 1))
    }

    /// Reads pages of the log, waiting between them when it has caught up.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let store: PostgresEventStore
        var next: LogPosition
        let filter: LogFilter
        let pageSize: Int
        var page: [RecordedEvent] = []
        var index = 0

        public mutating func next() async throws(EventStoreError) -> RecordedEvent? {
            while true {
                if index < page.count {
                    defer { index += 1 }
                    return page[index]
                }
                // Past `filter.through`, nothing more can match: the sequence ends.
                if let through = filter.through, next > through { return nil }
                if Task.isCancelled { return nil }
                // Read the generation first: a notification after this point wakes the wait below.
                let seen = store.notifier.generation
                let end: LogPosition
                do throws(EventStoreError) {
                    let head = try await store.headPosition()
                    end = filter.through.map { Swift.min(head, $0) } ?? head
                    if end >= next {
                        page = try await store.readLog(from: next, through: end, filter: filter, limit: pageSize)
                        index = 0
                    }
                } catch {
                    // A read cut short by the cancellation ends the sequence quietly.
                    if Task.isCancelled && error != .storeClosed { return nil }
                    throw error
                }
                if end >= next {
                    // A short page covers everything up to `end`, matching or not.
                    next = page.count == pageSize ? page[page.count - 1].position.next : end.next
                    if !page.isEmpty { continue }
                    if let through = filter.through, next > through { return nil }
                }
                await store.notifier.wait(after: seen, timeout: store.configuration.pollInterval)
            }
        }
    }
}

extension PostgresEventStore {
    /// Follows the log from `position` on: the events stored now, then every
    /// event appended later, as it commits, filtered by `filter`.
    ///
    /// The store LISTENs on its channel (one pooled connection, from the first
    /// subscription until ``close()``) unless
    /// ``Configuration/listensForNotifications`` is false; subscriptions also
    /// poll every ``Configuration/pollInterval``, so a lost notification only
    /// delays them.
    ///
    /// ```swift
    /// for try await event in store.subscribe(from: 1) {
    ///     print(event.position, event.streamID, event.type)
    /// }
    /// ```
    public func subscribe(from position: LogPosition = 1, filter: LogFilter = .all, pageSize: Int = 512) -> PostgresLogSubscription {
        if configuration.listensForNotifications {
            notifier.startListening(
                client: client, channel: schema.channel, retryDelay: configuration.pollInterval, logger: logger)
        }
        return PostgresLogSubscription(store: self, start: position, filter: filter, pageSize: pageSize)
    }
}
