import RapportEventLog

/// A handful of recorded events, in log order, served as a log: what a
/// projection runner reads when a read model needs only a few streams
/// (their positions and recorded-at times stay those of the real log).
struct EventList: EventLogReader {
    /// The events, ordered by position.
    let events: [RecordedEvent]

    init(_ events: [RecordedEvent]) {
        self.events = events.sorted { $0.position < $1.position }
    }

    func readLog(from position: LogPosition, filter: LogFilter, limit: Int) async throws(EventStoreError) -> [RecordedEvent] {
        let first = events.firstIndex { $0.position >= position } ?? events.endIndex
        return Array(events[first...].lazy.filter(filter.matches).prefix(max(0, limit)))
    }

    func headPosition() async throws(EventStoreError) -> LogPosition {
        events.last?.position ?? .start
    }

    func event(id: EventID) async throws(EventStoreError) -> RecordedEvent? {
        events.first { $0.id == id }
    }
}
