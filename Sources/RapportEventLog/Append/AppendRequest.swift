/// Events for one stream within an ``AppendRequest``, with the version the
/// caller expects that stream to have.
///
/// A part with no events appends nothing to its stream but still has its
/// expected version checked: use it for a stream your decision read but does
/// not change (the request as a whole needs at least one event).
///
/// ```swift
/// AppendRequest([
///     StreamAppend(streamID: deal, expectedVersion: .exactly(4), events: [moved]),
///     StreamAppend(streamID: pipeline, expectedVersion: .exactly(2), events: []),   // must be unchanged
/// ])
/// ```
public struct StreamAppend: Sendable, Hashable {
    /// The stream to append to.
    public var streamID: StreamID
    /// What the stream's version must be for the append to go ahead.
    public var expectedVersion: ExpectedVersion
    /// The events, in order.
    public var events: [NewEvent]

    /// Creates the part of a request that appends to one stream.
    public init(streamID: StreamID, expectedVersion: ExpectedVersion = .any, events: [NewEvent]) {
        self.streamID = streamID
        self.expectedVersion = expectedVersion
        self.events = events
    }
}

/// One atomic append: events for one or several streams, all stored or none.
///
/// Positions are assigned in the order of ``streams`` and, within each, in
/// the order of its events, with no other caller's event in between.
///
/// ```swift
/// // Lead conversion: three streams, one transaction.
/// let request = AppendRequest([
///     StreamAppend(streamID: lead, expectedVersion: .exactly(3), events: [converted]),
///     StreamAppend(streamID: contact, expectedVersion: .noStream, events: [contactCreated]),
///     StreamAppend(streamID: deal, expectedVersion: .noStream, events: [dealOpened]),
/// ])
/// let result = try await store.append(request)
/// ```
public struct AppendRequest: Sendable, Hashable {
    /// The parts, each for a different stream.
    public var streams: [StreamAppend]
    /// An optional condition across streams.
    public var condition: AppendCondition?

    /// Creates a request.
    public init(_ streams: [StreamAppend], condition: AppendCondition? = nil) {
        self.streams = streams
        self.condition = condition
    }

    /// The number of events in the request.
    public var eventCount: Int { streams.reduce(0) { $0 + $1.events.count } }
}

/// What an append did.
///
/// ```swift
/// let result = try await store.append([event], to: stream)
/// print(result.positions)              // 41...41
/// print(result.streamVersions[stream]) // 3
/// ```
public struct AppendResult: Sendable, Hashable {
    /// The positions of the request's events, first to last. They are contiguous.
    public var positions: ClosedRange<LogPosition>
    /// Each stream's version after the append. When the events were already
    /// stored (``wasAlreadyStored``), only the streams that received events are
    /// listed: a part without events (a version check only) is left out.
    public var streamVersions: [StreamID: UInt64]
    /// True when every event's id was already stored by an earlier append of
    /// the same events: nothing was written and ``positions`` are the stored ones.
    public var wasAlreadyStored: Bool

    public init(positions: ClosedRange<LogPosition>, streamVersions: [StreamID: UInt64], wasAlreadyStored: Bool) {
        self.positions = positions
        self.streamVersions = streamVersions
        self.wasAlreadyStored = wasAlreadyStored
    }

    /// The position of the last event appended: wait for projections to reach it
    /// to read your own writes.
    public var lastPosition: LogPosition { positions.upperBound }
}
