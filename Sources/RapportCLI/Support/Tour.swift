import Foundation
import RapportCore
import RapportEventLog
import RapportLMDB
import RapportProjections
import RapportReplay

/// The demo's tour of a store: what it holds, the busiest contact and its
/// recent history, one actor's month, the pipeline summaries, and one deal
/// as of a past date.
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
        try await showActorMonth(census)
        try await showPipelines()
        try await showTimeTravel(census)
    }

    /// The tour's actor: the first sales rep of the generated scenario.
    static let actor = "user:rep-1"

    /// Everything one actor did in the month before the tour's date, read
    /// through the actor index (no scan of the log).
    private func showActorMonth(_ census: Census) async throws {
        guard let first = census.firstOccurred else { return }
        let end = asOf ?? first.addingTimeInterval(365 * 86_400)
        let start = end.addingTimeInterval(-30 * 86_400)
        let from = try await store.position(asOf: start).next
        let through = try await store.position(asOf: end)
        var types: [String: Int] = [:]
        var total = 0
        if from <= through {
            for try await event in store.events(from: from, filter: LogFilter(actors: [Self.actor], through: through)) {
                types[event.type, default: 0] += 1
                total += 1
            }
        }
        Terminal.print()
        Terminal.print("What \(Self.actor) did from \(dates.date(start)) to \(dates.date(end)): \(Format.count(total)) changes")
        for (type, count) in types.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }).prefix(5) {
            Terminal.print("    \(type.padding(toLength: 28, withPad: " ", startingAt: 0)) \(Format.count(count))")
        }
        Terminal.print("  (rapport audit --actor \(Self.actor) --from \(dates.date(start)) --to \(dates.date(end)) lists each change)")
    }

    /// Each pipeline now: open deals by count and amount, wins and losses.
    private func showPipelines() async throws {
        let states = DealStates()
        _ = try await catchUp([states], in: store, label: "updating deal states")
        Terminal.print()
        Terminal.print("The pipelines now")
        for (id, name) in try states.pipelines(in: store) {
            guard let summary = try states.summary(of: id, in: store, now: Date()) else { continue }
            // Formatted as `rapport pipeline` formats them.
            let amounts = Format.amounts(summary.open.total)
            let rate = Format.percent(summary.results.winRate)
            Terminal.print("  \(name): \(Format.count(summary.open.count)) open (\(amounts)), "
                + "\(Format.count(summary.results.won)) won, \(Format.count(summary.results.lost)) lost, win rate \(rate)")
        }
        Terminal.print("  (rapport pipeline --by stage shows the stages)")
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
        Terminal.print("As of \(dates.dateTime(date)) \(dates.zoneName(at: date)): the log up to position \(Format.count(position.rawValue)) of \(Format.count(head.rawValue))")
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
