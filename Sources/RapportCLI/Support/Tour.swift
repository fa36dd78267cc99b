import Foundation
import RapportCore
import RapportEventLog
import RapportLMDB
import RapportProjections

/// The demo's tour of a store: what it holds, the busiest contact and its
/// recent history, and one deal as of a past date.
struct Tour {
    let store: LMDBEventStore
    let dates: DateStyle
    let asOf: Date?

    /// How many of the busiest contact's latest events are listed.
    static let historyLength = 8

    func show() async throws {
        let census = try Census.take(of: store, detailed: true, progress: ProgressBar("reading"))
        printCounts(census)
        try await showBusiestContact(census)
        try await showTimeTravel(census)
    }

    private func printCounts(_ census: Census) {
        let total = census.types.values.reduce(0, +)
        Terminal.print()
        Terminal.print("What the store holds")
        Terminal.print("  events      \(Format.count(total)) of \(census.types.count) types")
        Terminal.print("  contacts    \(Format.count(census.count("ContactCreated")))")
        Terminal.print("  companies   \(Format.count(census.count("CompanyCreated")))")
        Terminal.print("  leads       \(Format.count(census.count("LeadCaptured"))) (\(Format.count(census.count("LeadConverted"))) converted, \(Format.count(census.count("LeadDisqualified"))) disqualified)")
        Terminal.print("  deals       \(Format.count(census.count("DealOpened"))) (\(Format.count(census.count("DealWon"))) won, \(Format.count(census.count("DealLost"))) lost)")
        Terminal.print("  activities  \(Format.count(census.count("ActivityLogged")))")
        Terminal.print("  tasks       \(Format.count(census.count("TaskCreated"))) (\(Format.count(census.count("TaskCompleted"))) completed)")
        if let first = census.firstOccurred, let last = census.lastOccurred {
            Terminal.print("  history     \(dates.date(first)) to \(dates.date(last))")
        }
    }

    private func showBusiestContact(_ census: Census) async throws {
        guard let (tagName, count) = census.eventsPerContact.max(by: { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }),
              let id = ContactID(String(tagName.dropFirst("contact:".count)))
        else { return }
        let contact = try await Repository(store: store).load(id).state
        let name = contact.name?.full ?? "(unnamed)"
        let email = contact.emails.first.map { " <\($0)>" } ?? ""
        Terminal.print()
        Terminal.print("The busiest contact: \(name)\(email), \(Format.count(count)) events (contact \(id))")
        let history = try await store.readLog(from: 1, filter: LogFilter(tags: [id.tag]), limit: count)
        Terminal.print("  latest \(min(Self.historyLength, history.count)), times in \(dates.zoneName):")
        // Log order is commit order: a bulk writer groups a batch's events by stream, so order by when they happened.
        let latest = history.enumerated().sorted {
            ($0.element.occurredAt ?? $0.element.recordedAt, $0.offset) < ($1.element.occurredAt ?? $1.element.recordedAt, $1.offset)
        }.suffix(Self.historyLength).map(\.element)
        for event in latest {
            let when = dates.dateTime(event.occurredAt ?? event.recordedAt)
            Terminal.print("    \(when)  \(event.type.padding(toLength: 28, withPad: " ", startingAt: 0)) by \(event.metadata.actor.id) via \(event.metadata.channel)")
        }
    }

    private func showTimeTravel(_ census: Census) async throws {
        guard let first = census.firstOccurred else { return }
        let date = asOf ?? first.addingTimeInterval(365 * 86_400)
        let position = try await store.position(asOf: date)
        let head = try await store.headPosition()
        Terminal.print()
        Terminal.print("As of \(dates.dateTime(date)) \(dates.zoneName): the log up to position \(Format.count(position.rawValue)) of \(Format.count(head.rawValue))")
        // A deal open then and won later shows the most; else any deal opened by then; else the first deal.
        let stream = census.dealOrder.first { census.deals[$0]!.opened <= position.rawValue && (census.deals[$0]!.won ?? 0) > position.rawValue }
            ?? census.dealOrder.last { census.deals[$0]!.opened <= position.rawValue }
            ?? census.dealOrder.first
        guard let stream, let id = DealID(String(stream.dropFirst("deal-".count))) else {
            Terminal.print("  (no deals)")
            return
        }
        let states = DealStates()
        let then = try await states.state(of: id, asOf: position, fromStreamsIn: store)
        let now = try await states.state(of: id, asOf: head, fromStreamsIn: store)
        Terminal.print("  deal \(now.map { "\"\($0.title)\"" } ?? id.description) (deal \(id))")
        Terminal.print("    then: \(DealCard.summary(then))")
        Terminal.print("    now:  \(DealCard.summary(now))")
    }
}
