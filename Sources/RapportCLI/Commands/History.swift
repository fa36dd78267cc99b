import ArgumentParser
import Foundation
import RapportCore
import RapportEventLog
import RapportLMDB
import RapportProjections

/// `rapport history CONTACT`: a contact's timeline, newest first.
struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a contact's history: every event that touched the contact, its company or its deals, newest first.",
        discussion: """
            Brings the contact-history read model up to date first. --as-of DATE shows what the store knew then \
            (the events recorded up to that date, built in memory: the cost grows with the history before the date). \
            Exit code 3 when no contact has the id; a contact created after the date is "not known yet" (exit code 0).
            """)

    /// The channels `--channel` accepts: the CRM's.
    static let channels: [Channel] = [.ui, .api, .import, .phone, .email, .sms, .chat, .meeting, .webForm, .automation]

    @OptionGroup var options: StoreOptions

    @Argument(help: ArgumentHelp("The contact's id, or contact:ID.", valueName: "contact"))
    var contact: String

    @Option(name: .customLong("as-of"), help: ArgumentHelp("What the store knew at this date-time, or at the start (00:00) of this date, local time unless --utc.", valueName: "date"))
    var asOf: String?

    @Option(help: ArgumentHelp(
        "Only entries on this channel: the one a change came through, or an activity's (phone for a call).", valueName: "channel"))
    var channel: String?

    @Option(help: "table (default) or json.")
    var format: String = "table"

    @Option(parsing: .unconditional, help: "With --format table: at most this many entries, 1 or more (json has them all).")
    var limit: Int = 50

    func run() async throws {
        try await reportingErrors {
            let format = try OutputFormat(parsing: format)
            guard limit >= 1 else { throw CLIError("--limit must be 1 or more", status: .usage) }
            let id = try EntityArgument.parse(contact, as: Contact.self)
            let date = try PointInTime.date(asOf, options: options)
            let channel = try channel.map { (text) throws(CLIError) in
                Channel(try Choice.parse(text, option: "--channel", among: Self.channels.map(\.rawValue)))
            }
            try await options.open().using { store in
                guard try await store.streamVersion(of: id.streamID) > 0 else {
                    throw CLIError("no contact \(id) in \(options.path)", status: .notFound)
                }
                let point = try await PointInTime.at(date, in: store)
                let (person, events) = try await loadAggregate(id, asOf: point.position, from: store)
                let history = ContactHistory()
                let filter = TimelineFilter(channels: channel.map { [$0] })
                var report = HistoryReport(
                    contact: id, name: person.name?.full, asOf: point.date, position: point.position, head: point.head,
                    known: events > 0, mergedInto: person.mergedInto, lastContacted: nil, entries: [])
                var more = false
                if report.known {
                    let model = try await point.readModel(of: history, in: store)
                    report.lastContacted = try history.lastContacted(id, in: model)
                    var page = try history.timeline(of: id, in: model, filter: filter, page: PageRequest(limit: format == .table ? limit : 1_000))
                    report.entries = page.items
                    while format == .json, let next = page.continuation {
                        page = try history.timeline(of: id, in: model, filter: filter, page: PageRequest(limit: 1_000, after: next))
                        report.entries += page.items
                    }
                    more = page.continuation != nil
                }
                switch format {
                case .json: try OutputFormat.writeJSON(report)
                case .table: report.print(person: person, point: point, dates: options.dates, more: more)
                }
            }
        }
    }
}

/// The JSON of `rapport history`: the library's ``TimelineEntry`` values,
/// newest first, and the point in the log they describe.
struct HistoryReport: Encodable {
    var contact: ContactID
    var name: String?
    var asOf: Date?
    var position: LogPosition
    var head: LogPosition
    /// Whether the contact existed at that point.
    var known: Bool
    /// The contact this one was merged into, if it was by then.
    var mergedInto: ContactID?
    var lastContacted: LastContact?
    var entries: [TimelineEntry]

    func print(person: Contact, point: PointInTime, dates: DateStyle, more: Bool) {
        guard known else {
            Terminal.print("contact \(contact): not known yet")
            if let asOf = point.describe(dates) { Terminal.print(asOf) }
            return
        }
        let email = person.emails.first.map { " <\($0)>" } ?? ""
        Terminal.print("\(name ?? "(unnamed)")\(email) (contact \(contact))")
        if let asOf = point.describe(dates) { Terminal.print(asOf) }
        if let survivor = mergedInto { Terminal.print("merged into contact \(survivor)") }
        let last = lastContacted?.at.map { "\(dates.dateTime($0)) (\(lastContacted?.activityType ?? "activity"))" }
        Terminal.print("last contacted: \(last ?? "never")")
        guard !entries.isEmpty else {
            Terminal.print("no entries")
            return
        }
        Terminal.print("newest first, times in \(dates.zoneName):")
        var table = TextTable()
        for entry in entries {
            var entity = "\(entry.entityKind):\(entry.entityID.prefix(8))"
            if let type = entry.activityType { entity += " \(type)" }
            table.add([dates.dateTime(entry.date), entry.type, entity, "via \(entry.via.rawValue)", entry.actor.id, entry.channel.rawValue])
        }
        table.print()
        if more { Terminal.print("… more: use --limit, or --format json for everything") }
    }
}
