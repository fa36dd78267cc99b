import ArgumentParser
import Foundation
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
    @Option(help: "From this date or date-time (recorded-at).")
    var from: String?
    @Option(help: "Up to this date or date-time (recorded-at), inclusive.")
    var to: String?
    @Option(help: "table (default), csv or jsonl.")
    var format: String = "table"
    @Option(help: "Write to this file instead of standard output.")
    var output: String?
    @Option(help: "With --format table: at most this many entries.")
    var limit: Int = 50

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
            if let field { return .field(field, kind: parts[0], id: parts[1].lowercased()) }
            return .entity(kind: parts[0], id: parts[1].lowercased())
        }
        if field != nil { throw CLIError("--field needs --entity", status: .usage) }
        return .all
    }

    func run() async throws {
        try await reportingErrors {
            let selection = try selection()
            let format = try Choice.parse(format, option: "--format", among: ["table", "csv", "jsonl"])
            let zone = options.dates.timeZone
            let start = try from.map { (text) throws(CLIError) in try DateArgument.parse(text, option: "--from", timeZone: zone) }
            let end = try to.map { (text) throws(CLIError) in try DateArgument.parse(text, option: "--to", timeZone: zone) }
            try await options.openAny(readModels: true).using { store in
                let trail = AuditTrail()
                try await catchUp([trail], in: store, label: "updating the audit trail")
                var query = AuditQuery(selection)
                if start != nil || end != nil {
                    let range = try await AuditTrail.positions(from: start ?? .distantPast, through: end ?? .distantFuture, in: store)
                    guard let range else { return }  // nothing recorded in the range
                    query.positions = range
                }
                switch format {
                case "table":
                    let page = try trail.entries(query, in: store, page: PageRequest(limit: max(1, limit)))
                    let dates = options.dates
                    for entry in page.items {
                        let changes = entry.changes.map { "\($0.field): \($0.oldValue ?? "∅") → \($0.newValue ?? "∅")" }.joined(separator: "; ")
                        Terminal.print([String(entry.position.rawValue), dates.dateTime(entry.recordedAt), entry.actor.id, entry.actor.role.rawValue,
                                        entry.channel.rawValue, "\(entry.entityKind):\(entry.entityID.prefix(8))", entry.action, changes]
                            .joined(separator: "  "))
                    }
                    if page.continuation != nil { Terminal.print("… more: use --limit, or --format csv/jsonl for everything") }
                default:
                    let exportFormat: AuditExportFormat = format == "csv" ? .csv : .jsonLines
                    if let output {
                        guard FileManager.default.createFile(atPath: output, contents: nil), let file = FileHandle(forWritingAtPath: output) else {
                            throw CLIError("--output: cannot write \(output)", status: .ioError)
                        }
                        defer { try? file.close() }
                        let count = try trail.export(query, from: store, as: exportFormat, to: file)
                        FileHandle.standardError.write(Data("wrote \(count) entries to \(output)\n".utf8))
                    } else {
                        try trail.export(query, from: store, as: exportFormat, to: FileHandle.standardOutput)
                    }
                }
            }
        }
    }
}
