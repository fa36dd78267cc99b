public import RapportCore
public import RapportEventLog
import RapportReplay

extension DealStates {
    /// A deal's state as of `position`, built from the deal's own stream and
    /// its pipeline's stream only (each pipeline's, when the log opened it
    /// again in another): the same answer as building every deal up
    /// to `position`, at the cost of one deal. Nil when the deal was not
    /// opened by then. ``state(of:asOf:from:)`` uses it with any store.
    ///
    /// ```swift
    /// let march1 = try await store.position(asOf: marchFirst)
    /// if let then = try await states.state(of: dealID, asOf: march1, fromStreamsIn: store) {
    ///     print(then.stage, then.status, then.amount ?? "-", then.stageHistory.map(\.stage))
    /// }
    /// let now = try await states.state(of: dealID, asOf: try await store.headPosition(), fromStreamsIn: store)
    /// ```
    ///
    /// Streams are read by their canonical ids (`deal-<lower-case uuid>`, as
    /// the repository writes them). The stored read model also counts events
    /// appended directly under another spelling of the id (`deal-7BF3…`);
    /// for such a log, ask the caught-up read model
    /// (``state(of:asOf:in:)``) instead.
    ///
    /// - Complexity: O(the deal's events + its pipeline's events up to `position`).
    public func state(of deal: DealID, asOf position: LogPosition, fromStreamsIn store: any EventStreamReader) async throws -> DealState? {
        let dealEvents = try await Self.events(in: deal.streamID, upTo: position, from: store)
        guard dealEvents.first?.type == DealOpened.typeName else { return nil }
        // Every pipeline the deal was opened in: the log allows opening it again in another.
        var pipelines: [PipelineID] = []
        for event in dealEvents where event.type == DealOpened.typeName {
            if let opened = try EventTypeRegistry.crm.decode(event) as? DealOpened, !pipelines.contains(opened.pipelineID) {
                pipelines.append(opened.pipelineID)
            }
        }
        var pipelineEvents: [RecordedEvent] = []
        for pipeline in pipelines { pipelineEvents += try await Self.events(in: pipeline.streamID, upTo: position, from: store) }
        let storage = InMemoryReadModelStorage()
        try await ProjectionRunner(log: EventList(dealEvents + pipelineEvents), storage: storage, projections: [self], registry: .crm)
            .catchUp()
        return try state(of: deal, in: storage)
    }

    /// The events of `stream` recorded at positions up to `position`.
    private static func events(in stream: StreamID, upTo position: LogPosition, from store: any EventStreamReader) async throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        for try await event in store.events(in: stream) {
            guard event.position <= position else { break }
            events.append(event)
        }
        return events
    }
}
