import Foundation
import RapportCore
import RapportEventLog
import RapportLMDB
import RapportProjections
import RapportReplay

// What the query commands (history, deal, pipeline) share: output formats,
// entity arguments, the point in time they answer for, the read models they read.

/// An option whose value is one of a few words, such as `--format` or `--by`.
enum Choice {
    /// `value` when it is one of `choices`; otherwise a usage error naming them.
    static func parse(_ value: String, option: String, among choices: [String]) throws(CLIError) -> String {
        guard choices.contains(value) else {
            throw CLIError("\(option): \"\(value)\" is not \(list(choices))", status: .usage)
        }
        return value
    }

    /// ["table", "csv", "jsonl"] → "table, csv or jsonl".
    static func list(_ words: [String]) -> String {
        words.count < 2 ? words.joined() : words.dropLast().joined(separator: ", ") + " or " + words.last!
    }
}

/// The output of `history`, `deal` and `pipeline`: a table for people, or
/// one JSON document on one line for programs (dates in UTC, ISO 8601 with
/// microseconds, whatever `--utc` says).
enum OutputFormat: String, CaseIterable {
    case table, json

    init(parsing text: String) throws(CLIError) {
        self.init(rawValue: try Choice.parse(text, option: "--format", among: Self.allCases.map(\.rawValue)))!
    }

    /// Writes `value` as one line of JSON on stdout.
    static func writeJSON(_ value: some Encodable) throws {
        var data = try ProjectionTimestamp.makeEncoder().encode(value)
        data.append(0x0A)
        try Terminal.write(data)
    }
}

/// A contact, deal or pipeline named on the command line: its id, with or
/// without its kind (`deal:0193…`, as `rapport audit` shows entities).
enum EntityArgument {
    static func parse<A: Aggregate>(_ text: String, as type: A.Type) throws(CLIError) -> Identifier<A> {
        var body = Substring(text.trimmingCharacters(in: .whitespaces))
        if body.lowercased().hasPrefix(A.kind + ":") { body = body.dropFirst(A.kind.count + 1) }
        guard let id = Identifier<A>(String(body)) else {
            throw CLIError("\"\(text)\" is not a \(A.kind) id; give its UUID, or \(A.kind):UUID", status: .usage)
        }
        return id
    }
}

/// The moment a query answers for: now (the head of the log), or what the
/// store knew at an `--as-of` date: the log up to the last event recorded
/// at or before it.
struct PointInTime {
    /// The `--as-of` date; nil for now.
    let date: Date?
    /// The last position the answer includes.
    let position: LogPosition
    /// The head of the log when the query ran.
    let head: LogPosition

    /// Parses an `--as-of` value (before the store is opened, so a bad date changes nothing).
    static func date(_ text: String?, options: StoreOptions) throws(CLIError) -> Date? {
        try text.map { (text) throws(CLIError) in try DateArgument.parse(text, option: "--as-of", timeZone: options.dates.timeZone) }
    }

    /// The point for `date` (nil: now) in `store`.
    static func at(_ date: Date?, in store: any EventStore & ReadModelStorage) async throws -> PointInTime {
        let head = try await store.headPosition()
        guard let date else { return PointInTime(date: nil, position: head, head: head) }
        return PointInTime(date: date, position: try await store.position(asOf: date), head: head)
    }

    /// Whether the answer leaves out events the store holds.
    var isPast: Bool { position < head }

    /// "as of 2024-03-01 00:00 UTC: the log up to position 1,234 of 3,000", or nil for now.
    func describe(_ dates: DateStyle) -> String? {
        guard let date else { return nil }
        return "as of \(dates.dateTime(date)) \(dates.zoneName(at: date)): the log up to position \(Format.count(position.rawValue)) of \(Format.count(head.rawValue))"
    }

    /// `projection`'s read model at this point. Now: the store's own read
    /// model, brought up to the head first. In the past: built in memory
    /// from events `1...position` (`Projection.readModel(asOf:from:)`, whose
    /// cost grows with the history before the date). Every as-of read of a
    /// whole read model goes through here.
    func readModel(of projection: any Projection, in store: any EventStore & ReadModelStorage) async throws -> any ReadModelStorage {
        guard isPast else {
            try await catchUp([projection], in: store)
            return store
        }
        return try await projection.readModel(asOf: position, from: store)
    }
}

/// Brings `projections`' read models in the store up to the head, with a
/// progress bar when stderr is a terminal.
@discardableResult
func catchUp(_ projections: [any Projection], in store: any EventStore & ReadModelStorage, label: String = "updating the read models") async throws -> LogPosition {
    let bar = ProgressBar(label)
    let reached = try await ProjectionRunner(log: store, storage: store, projections: projections, registry: .crm)
        .catchUp { progress in bar.update(progress.done, of: progress.total) }
    bar.finish()
    return reached
}

/// An aggregate as its own stream stood at `position`: its events up to
/// there, folded. `events` is how many there were (0: not created yet).
func loadAggregate<A: Aggregate>(_ id: Identifier<A>, asOf position: LogPosition, from store: any EventStore & ReadModelStorage) async throws -> (state: A, events: Int) {
    var state = A(id: id)
    var events = 0
    for try await record in store.events(in: id.streamID) {
        guard record.position <= position else { break }
        state.apply(try EventTypeRegistry.crm.decode(record))
        events += 1
    }
    return (state, events)
}

/// Plain-text columns: each padded to its widest cell, two spaces apart;
/// numeric columns aligned right; no trailing spaces.
struct TextTable {
    var rows: [[String]] = []
    /// Indexes of the columns aligned right.
    var rightAligned: Set<Int> = []

    mutating func add(_ row: [String]) { rows.append(row) }

    var lines: [String] {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            var line = row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned.contains(column) ? padding + cell : cell + padding
            }.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            return line
        }
    }

    func print(indent: String = "") {
        for line in lines { Terminal.print(indent + line) }
    }
}
