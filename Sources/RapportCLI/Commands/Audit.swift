import ArgumentParser
import Foundation
import RapportCore
import RapportEventLog
import RapportLMDB
import RapportProjections
import RapportReplay

/// `rapport audit`: who changed what, when, through which channel.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List or export audit entries: every change, with who, when, channel and old and new values.",
        discussion: """
            Brings the audit trail up to date first. Select with at most one of --actor, --entity, --field (with --entity) \
            or --action, and narrow to a time range with --from/--to (recorded-at). Exports stream page by page \
            (constant memory): --format csv or jsonl, to --output FILE or standard output.
            """)

    @OptionGroup var options: StoreOptions

    @Option(help: "Only changes by this actor id, such as user:anna.")
    var actor: String?
    @Option(help: "Only changes to this entity, KIND:ID such as deal:0193…")
    var entity: String?
    @Option(help: "Only changes of this field of --entity, such as amount.")
    var field: String?
    @Option(help: "Only this action (event type), such as DealWon or AccessDenied.")
    var action: String?
    @Option(help: "From this date-time, or the start of this date, local time unless --utc (recorded-at).")
    var from: String?
    @Option(help: "Up to this date-time, or the end of this date, local time unless --utc (recorded-at, inclusive).")
    var to: String?
    @Option(help: "table (default), csv or jsonl.")
    var format: String = "table"
    @Option(help: "Write to this file instead of standard output.")
    var output: String?
    @Option(parsing: .unconditional, help: "With --format table: at most this many entries (1 or more).")
    var limit: Int = 50

    /// The entity kinds of the CRM's own streams, whose ids are UUIDs.
    static let crmKinds: Set<String> = [
        Contact.kind, Company.kind, Lead.kind, Deal.kind, Activity.kind, FollowUpTask.kind, Campaign.kind, Pipeline.kind,
    ]

    func selection() throws(CLIError) -> AuditSelection {
        let given = [actor != nil, entity != nil && field == nil, action != nil, field != nil].filter { $0 }.count
        guard given <= 1 else { throw CLIError("give at most one of --actor, --entity, --field or --action", status: .usage) }
        if let actor { return .actor(actor) }
        if let action { return .action(action) }
        if let entity {
            let parts = entity.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw CLIError("--entity: \"\(entity)\" is not KIND:ID, such as deal:0193…", status: .usage)
            }
            let kind = parts[0].lowercased(), id = parts[1].lowercased()
            // The CRM's entities have UUIDs: a shorter id (the table shows the first 8 characters) matches nothing.
            if Self.crmKinds.contains(kind) && UUID(uuidString: id) == nil {
                throw CLIError(
                    "--entity: \"\(parts[1])\" is not a full \(kind) id; give its whole UUID (--format csv or jsonl shows them)",
                    status: .usage)
            }
            if let field { return .field(field, kind: kind, id: id) }
            return .entity(kind: kind, id: id)
        }
        if field != nil { throw CLIError("--field needs --entity", status: .usage) }
        return .all
    }

    func run() async throws {
        try await reportingErrors {
            let selection = try selection()
            let format = try Choice.parse(format, option: "--format", among: ["table", "csv", "jsonl"])
            guard limit >= 1 else { throw CLIError("--limit must be 1 or more", status: .usage) }
            let zone = options.dates.timeZone
            let start = try from.map { (text) throws(CLIError) in try DateArgument.parse(text, option: "--from", timeZone: zone) }
            // A bare --to date includes that whole day.
            let end = try to.map { (text) throws(CLIError) in try DateArgument.parse(text, option: "--to", timeZone: zone, day: .end) }
            if let start, let end, start > end {
                throw CLIError("--from \(from!) is after --to \(to!)", status: .usage)
            }
            // Checked before the store is opened, so a bad path changes nothing there; the
            // file itself is replaced only once everything was written.
            let file = try output.map { (path) throws(CLIError) in try OutputFile(path) }
            try await options.openAny(readModels: true).using { store in
                let trail = AuditTrail()
                var query = AuditQuery(selection)
                // The range first, then the trail brought up to date: it then covers the whole range,
                // even when other processes append meanwhile.
                if start != nil || end != nil {
                    let range = try await AuditTrail.positions(from: start ?? .distantPast, through: end ?? .distantFuture, in: store)
                    // Nothing recorded in the range: position 0 holds no event, so it selects nothing, and
                    // the output is the same as for any other selection that matches nothing.
                    query.positions = range ?? LogPosition(0)...LogPosition(0)
                }
                try await catchUp([trail], in: store, label: "updating the audit trail")
                switch format {
                case "table":
                    let page = try trail.entries(query, in: store, page: PageRequest(limit: limit))
                    let dates = options.dates
                    var lines: [String] = []
                    for entry in page.items {
                        let changes = entry.changes.map { "\($0.field): \($0.oldValue ?? "∅") → \($0.newValue ?? "∅")" }.joined(separator: "; ")
                        let actor = entry.actor  // decoded when read (see AuditEntry): once
                        lines.append([String(entry.position.rawValue), dates.dateTime(entry.recordedAt), actor.id, actor.role.rawValue,
                                      entry.channel.rawValue, "\(entry.entityKind):\(entry.entityID.prefix(8))", entry.action, changes]
                            .joined(separator: "  "))
                    }
                    if page.continuation != nil { lines.append("… more: use --limit, or --format csv/jsonl for everything") }
                    if let file {
                        try file.write(Data(lines.map { $0 + "\n" }.joined().utf8))
                        try file.finish()
                        Terminal.error("wrote \(Format.count(page.items.count, "entry", plural: "entries")) to \(file.path)")
                    } else {
                        for line in lines { Terminal.print(line) }
                    }
                    if page.items.isEmpty { Terminal.error("no entries match") }
                default:
                    let exportFormat: AuditExportFormat = format == "csv" ? .csv : .jsonLines
                    if let file {
                        let count = try trail.export(query, from: store, as: exportFormat) { try file.write($0) }
                        try file.finish()
                        Terminal.error("wrote \(Format.count(count, "entry", plural: "entries")) to \(file.path)")
                    } else {
                        let count = try trail.export(query, from: store, as: exportFormat) { try Terminal.write($0) }
                        if count == 0 { Terminal.error("no entries match") }
                    }
                }
            }
        }
    }
}
