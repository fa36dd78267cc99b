public import Foundation
public import RapportEventLog

/// The formats audit entries export to.
public enum AuditExportFormat: Sendable, Hashable {
    /// RFC 4180 CSV (CRLF line ends, quoted where needed), with a header
    /// row, one row per field change (an entry without fields has one row
    /// with an empty `field`); see ``AuditTrail/csvColumns``.
    case csv
    /// One ``AuditEntry`` per line as JSON (decode a line with ``AuditTrail/decodeJSONLine(_:)``).
    case jsonLines
}

extension AuditTrail {
    /// The CSV columns, in order. Dates are ISO 8601 with microseconds,
    /// values JSON text; an empty cell is "none".
    public static let csvColumns = [
        "position", "recorded_at", "occurred_at", "actor_id", "actor_role", "entity_kind", "entity_id", "action",
        "field", "old_value", "new_value", "channel", "correlation_id", "causation_id", "event_id", "stream_id",
    ]

    /// Writes the entries `query` selects, in log order, page by page: at
    /// most `pageSize` entries are in memory at a time, whatever the total.
    ///
    /// ```swift
    /// FileManager.default.createFile(atPath: path, contents: nil)
    /// let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    /// let count = try audit.export(AuditQuery(.actor("user:anna")), from: store, as: .csv) { try file.write(contentsOf: $0) }
    /// try file.close()
    /// ```
    ///
    /// - Returns: the number of entries written.
    /// - Throws: ``ProjectionQueryError`` from the read model, or what `write` throws.
    @discardableResult
    public func export(
        _ query: AuditQuery, from storage: any ReadModelStorage, as format: AuditExportFormat, pageSize: Int = 1_000,
        to write: (Data) throws -> Void
    ) throws -> Int {
        if format == .csv { try write(Data((Self.csvColumns.joined(separator: ",") + "\r\n").utf8)) }
        let encoder = ProjectionTimestamp.makeEncoder()
        var count = 0
        var page = try entries(query, in: storage, page: PageRequest(limit: pageSize))
        while true {
            var chunk = Data()
            for entry in page.items {
                switch format {
                case .csv: chunk.append(contentsOf: Self.csvRows(entry).utf8)
                case .jsonLines:
                    chunk.append(try encoder.encode(entry))
                    chunk.append(0x0A)
                }
            }
            try write(chunk)
            count += page.items.count
            guard let next = page.continuation else { return count }
            page = try entries(query, in: storage, page: PageRequest(limit: pageSize, after: next))
        }
    }

    /// Writes the export to `file` (see ``export(_:from:as:pageSize:to:)``).
    ///
    /// ```swift
    /// try audit.export(AuditQuery(.all), from: store, as: .jsonLines, to: FileHandle.standardOutput)
    /// ```
    @discardableResult
    public func export(_ query: AuditQuery, from storage: any ReadModelStorage, as format: AuditExportFormat, pageSize: Int = 1_000, to file: FileHandle) throws -> Int {
        try export(query, from: storage, as: format, pageSize: pageSize) { try file.write(contentsOf: $0) }
    }

    /// Decodes one line of a JSON Lines export.
    ///
    /// ```swift
    /// let entries = try text.split(separator: "\n").map { try AuditTrail.decodeJSONLine(String($0)) }
    /// ```
    public static func decodeJSONLine(_ line: String) throws -> AuditEntry {
        try ProjectionTimestamp.makeDecoder().decode(AuditEntry.self, from: Data(line.utf8))
    }

    /// The CSV rows of one entry, each ending in CRLF.
    static func csvRows(_ entry: AuditEntry) -> String {
        // Each property is decoded when read (see AuditEntry): once here, not once per row.
        let actor = entry.actor
        let before = [
            String(entry.position.rawValue), ProjectionTimestamp.string(from: entry.recordedAt),
            entry.occurredAt.map(ProjectionTimestamp.string(from:)), actor.id, actor.role.rawValue,
            entry.entityKind, entry.entityID, entry.action,
        ].map { csvField($0 ?? "") }.joined(separator: ",")
        let after = [
            entry.channel.rawValue, entry.correlationID?.lowercasedText, entry.causationID?.lowercasedText,
            entry.eventID.description, entry.streamID,
        ].map { csvField($0 ?? "") }.joined(separator: ",")
        let changes = entry.changes
        var rows = ""
        for change in changes.isEmpty ? [nil] : changes.map(Optional.some) {
            let cells = [change?.field, change?.oldValue, change?.newValue].map { csvField($0 ?? "") }.joined(separator: ",")
            rows += before + "," + cells + "," + after + "\r\n"
        }
        return rows
    }

    /// One RFC 4180 field: quoted when it holds a comma, a quote, CR or LF (quotes doubled).
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
