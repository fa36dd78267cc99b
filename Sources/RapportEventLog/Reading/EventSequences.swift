/// The events of the whole log from a position on, fetched page by page so
/// memory stays flat however long the log is.
///
/// It reads what is stored when each page is fetched and ends at the head it
/// reaches; it does not wait for new events.
///
/// ```swift
/// for try await event in store.events(from: 1, filter: LogFilter(types: ["DealWon"])) {
///     print(event.position, event.streamID)
/// }
/// ```
public struct LogEventSequence: AsyncSequence, Sendable {
    /// The events, in order.
    public typealias Element = RecordedEvent
    /// Reading fails with a store error.
    public typealias Failure = EventStoreError

    let reader: any EventLogReader
    let start: LogPosition
    let filter: LogFilter
    let pageSize: Int

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: reader, next: Swift.max(start, 1), filter: filter, pageSize: Swift.max(pageSize, 1))
    }

    /// Fetches the next page when the current one is used up.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: any EventLogReader
        var next: LogPosition
        let filter: LogFilter
        let pageSize: Int
        var page: [RecordedEvent] = []
        var index = 0
        var finished = false

        init(reader: any EventLogReader, next: LogPosition, filter: LogFilter, pageSize: Int) {
            self.reader = reader
            self.next = next
            self.filter = filter
            self.pageSize = pageSize
        }

        public mutating func next() async throws(EventStoreError) -> RecordedEvent? {
            if index == page.count {
                if finished { return nil }
                page = try await reader.readLog(from: next, filter: filter, limit: pageSize)
                index = 0
                if page.count < pageSize { finished = true }
                guard let last = page.last else { return nil }
                next = last.position.next
            }
            defer { index += 1 }
            return page[index]
        }
    }
}

/// The events of one stream, fetched page by page.
///
/// ```swift
/// for try await event in store.events(in: stream) { apply(event) }
/// ```
public struct StreamEventSequence: AsyncSequence, Sendable {
    /// The events, in order.
    public typealias Element = RecordedEvent
    /// Reading fails with a store error.
    public typealias Failure = EventStoreError

    let reader: any EventStreamReader
    let stream: StreamID
    let start: UInt64
    let direction: ReadDirection
    let pageSize: Int

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: reader, stream: stream, next: start, direction: direction, pageSize: Swift.max(pageSize, 1))
    }

    /// Fetches the next page when the current one is used up.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: any EventStreamReader
        let stream: StreamID
        var next: UInt64
        let direction: ReadDirection
        let pageSize: Int
        var page: [RecordedEvent] = []
        var index = 0
        var finished = false

        init(reader: any EventStreamReader, stream: StreamID, next: UInt64, direction: ReadDirection, pageSize: Int) {
            self.reader = reader
            self.stream = stream
            self.next = next
            self.direction = direction
            self.pageSize = pageSize
        }

        public mutating func next() async throws(EventStoreError) -> RecordedEvent? {
            if index == page.count {
                if finished { return nil }
                page = try await reader.readStream(stream, from: next, direction: direction, limit: pageSize)
                index = 0
                if page.count < pageSize { finished = true }
                guard let last = page.last else { return nil }
                switch direction {
                case .forward: next = last.streamVersion + 1
                case .backward:
                    if last.streamVersion <= 1 { finished = true } else { next = last.streamVersion - 1 }
                }
            }
            defer { index += 1 }
            return page[index]
        }
    }
}

extension EventLogReader {
    /// The log's events from `position` on that pass `filter`, fetched in pages of `pageSize`.
    public func events(from position: LogPosition = 1, filter: LogFilter = .all, pageSize: Int = 512) -> LogEventSequence {
        LogEventSequence(reader: self, start: position, filter: filter, pageSize: pageSize)
    }
}

extension EventStreamReader {
    /// The events of `stream` from `version` on (or down, for ``ReadDirection/backward``),
    /// fetched in pages of `pageSize`.
    public func events(
        in stream: StreamID, from version: UInt64? = nil, direction: ReadDirection = .forward, pageSize: Int = 512
    ) -> StreamEventSequence {
        let start = version ?? (direction == .forward ? 1 : UInt64.max)
        return StreamEventSequence(reader: self, stream: stream, start: start, direction: direction, pageSize: pageSize)
    }
}
