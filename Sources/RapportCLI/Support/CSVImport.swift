import Crypto
import Foundation
import RapportCore
import RapportEventLog
import RapportLMDB

/// What every CSV import shares: reading the file, mapping its header row,
/// deterministic ids, counting and reporting.
struct CSVImport {
    /// The file's name, as given.
    let file: String
    /// Column index by field, for the known fields present.
    let columns: [String: Int]
    /// The data records (after the header).
    let records: [CSVRecord]
    /// Headers no field maps to.
    let unknownHeaders: [String]
    /// How many fields the header has: every row must have as many.
    let fieldCount: Int

    var imported = 0
    var alreadyPresent = 0
    var rejected = 0

    /// Reads `file` and maps its header row; `aliases` maps each accepted
    /// (normalised) header to its field.
    init(file: String, aliases: [String: String]) throws(CLIError) {
        self.file = file
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CLIError("cannot read \(file): no such file, or not readable", status: .noInput)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CLIError("\(file) is not UTF-8 text", status: .dataError)
        }
        var records = CSVReader.records(in: text)
        guard !records.isEmpty else { throw CLIError("\(file) is empty: it needs a header row", status: .dataError) }
        let header = records.removeFirst()
        guard case .success(let names) = header.fields else {
            throw CLIError("\(file): the header row cannot be read", status: .dataError)
        }
        var columns: [String: Int] = [:]
        var unknown: [String] = []
        for (index, name) in names.enumerated() {
            let normalised = Self.normalise(name)
            if let field = aliases[normalised] {
                if columns[field] == nil { columns[field] = index }
            } else if !normalised.isEmpty {
                unknown.append(name)
            }
        }
        self.columns = columns
        self.records = records
        self.unknownHeaders = unknown
        self.fieldCount = names.count
    }

    /// "Given Name" → "given_name".
    static func normalise(_ header: String) -> String {
        header.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            .replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: "-", with: "_")
    }

    /// The trimmed value of `field` in `row`, or nil when the column is missing or the cell empty.
    func value(_ field: String, in row: [String]) -> String? {
        guard let index = columns[field], index < row.count else { return nil }
        let value = row[index].trimmingCharacters(in: .whitespacesAndNewlines)
        return value.isEmpty ? nil : value
    }

    /// Who the imported events are recorded as: `import:<file name>`, a system principal, channel import.
    var context: CommandContext {
        CommandContext(actor: Principal(id: "import:\(URL(fileURLWithPath: file).lastPathComponent)", role: .system), channel: .import)
    }

    /// Reports unknown headers (not fatal).
    func reportUnknownHeaders() {
        if !unknownHeaders.isEmpty {
            Terminal.print("ignored unknown column\(unknownHeaders.count == 1 ? "" : "s"): \(unknownHeaders.joined(separator: ", "))")
        }
    }

    /// Reports a rejected row.
    mutating func reject(line: Int, _ reason: String) {
        rejected += 1
        Terminal.print("line \(line): rejected: \(reason)")
    }

    /// The closing summary.
    func printSummary(kind: String) {
        Terminal.print("\(file): imported \(imported) \(kind), skipped (already present) \(alreadyPresent), rejected \(rejected)")
    }

    /// A name-based UUID (version 5 layout, SHA-256 instead of SHA-1) of `name`:
    /// the same row content gives the same id, so importing a file twice
    /// finds its rows already present.
    static func stableUUID(_ name: String) -> UUID {
        var bytes = Array(SHA256.hash(data: Data(("rapport-import|" + name).utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    /// A company's id: from its domain when it has one, else from its name.
    static func companyID(domain: String?, name: String) -> CompanyID {
        if let domain { return CompanyID(stableUUID("company|domain:" + domain.lowercased())) }
        return CompanyID(stableUUID("company|name:" + name.lowercased()))
    }

    /// A contact's id: from its email address when it has one, else from its name.
    static func contactID(email: EmailAddress?, name: PersonName) -> ContactID {
        if let email { return ContactID(stableUUID("contact|email:" + email.value.lowercased())) }
        return ContactID(stableUUID("contact|name:" + name.full.lowercased()))
    }
}

/// One row read for import: the id of the record it makes, and the commands
/// that make it.
struct CSVImportRow<A: Aggregate> {
    let id: Identifier<A>
    let commands: (inout UnitOfWork) async throws(CRMError) -> Void
}

extension CSVImport {
    /// Imports every data record through `prepare`, which reads one row.
    ///
    /// - A record that cannot be read, that has not the header's number of
    ///   fields, or that `prepare` or its commands refuse, is reported with
    ///   its line and skipped.
    /// - A row whose id an earlier row already had, or that is in the store
    ///   already, is counted as already present (imports are idempotent).
    /// - A storage failure stops the import; what was appended stays.
    ///
    /// Events are appended in commits of 1,000.
    mutating func importRows<A: Aggregate>(
        into repository: Repository, kind: String, _ prepare: (CSVImport, [String]) throws(CRMError) -> CSVImportRow<A>
    ) async throws(CRMError) {
        var writer = BulkWriter(repository: repository, eventsPerCommit: 1_000)
        var firstLine: [Identifier<A>: Int] = [:]
        // The rows whose events the writer holds, not appended yet (a failed append drops them
        // all), each with its line and the later lines skipped as the same.
        var waiting: [Identifier<A>: (line: Int, duplicates: [Int])] = [:]
        let context = self.context
        for record in records {
            let fields: [String]
            switch record.fields {
            case .failure(let error):
                reject(line: record.line, error.reason)
                continue
            case .success(let row): fields = row
            }
            // RFC 4180: every record has the header's fields. One more or less is a stray
            // comma or line break, and would put values in the wrong columns.
            guard fields.count == fieldCount else {
                reject(line: record.line, "the row has \(fields.count) fields, the header \(fieldCount); quote values that hold commas or line breaks")
                continue
            }
            let appendedBefore = writer.eventsAppended
            do throws(CRMError) {
                let row = try prepare(self, fields)
                if let line = firstLine[row.id] {
                    alreadyPresent += 1
                    Terminal.print("line \(record.line): skipped: the same \(kind) as line \(line)")
                    // Counted as present only if that line's batch is stored.
                    waiting[row.id]?.duplicates.append(record.line)
                    continue
                }
                if try await repository.load(row.id).exists {
                    firstLine[row.id] = record.line
                    alreadyPresent += 1
                    continue
                }
                try await writer.run(context: context, row.commands)
                // Only now: a row its commands refused must not make a corrected row after it "the same".
                firstLine[row.id] = record.line
                imported += 1
                if writer.eventsAppended > appendedBefore { waiting.removeAll() }
                if writer.eventsDecided > writer.eventsAppended { waiting[row.id] = (record.line, []) }
            } catch {
                settleWaiting(after: error, appendedBefore: appendedBefore, writer: writer, kind: kind, &waiting, &firstLine)
                if case .store = error { throw error }
                reject(line: record.line, error.description)
            }
        }
        let appendedBefore = writer.eventsAppended
        do throws(CRMError) {
            try await writer.flush()
        } catch {
            settleWaiting(after: error, appendedBefore: appendedBefore, writer: writer, kind: kind, &waiting, &firstLine)
            if case .store = error { throw error }
        }
    }

    /// After a failed run or flush: the rows waiting in the writer were
    /// stored if it appended since (a run re-decided behind an append), and
    /// were dropped with the failed append if it holds nothing now. Dropped
    /// rows are no longer counted as imported, and are reported as rejected.
    private mutating func settleWaiting<A: Aggregate>(
        after error: CRMError, appendedBefore: Int, writer: BulkWriter, kind: String,
        _ waiting: inout [Identifier<A>: (line: Int, duplicates: [Int])], _ firstLine: inout [Identifier<A>: Int]
    ) {
        if writer.eventsAppended > appendedBefore {
            waiting.removeAll()
        } else if writer.eventsDecided == writer.eventsAppended {
            for (id, row) in waiting.sorted(by: { $0.value.line < $1.value.line }) {
                firstLine[id] = nil
                imported -= 1
                reject(line: row.line, "not stored: the append of its batch failed (\(error.description))")
                for duplicate in row.duplicates {
                    alreadyPresent -= 1
                    reject(line: duplicate, "not stored: the same \(kind) as line \(row.line), whose batch failed")
                }
            }
            waiting.removeAll()
        }
    }
}

/// The companies in a store by domain and by name, to link imported contacts to.
struct CompanyDirectory {
    var byDomain: [String: CompanyID] = [:]
    var byName: [String: CompanyID] = [:]

    /// Reads every company's creation, renames and domain changes from the log.
    static func load(from store: LMDBEventStore) async throws -> CompanyDirectory {
        var directory = CompanyDirectory()
        var names: [CompanyID: String] = [:]
        var domains: [CompanyID: String] = [:]
        var created: [CompanyID] = []  // in log order
        let filter = LogFilter(types: [CompanyCreated.typeName, CompanyRenamed.typeName, CompanyFieldChanged.typeName])
        for try await record in store.events(from: 1, filter: filter, pageSize: 4_096) {
            guard let id = CompanyID(String(record.streamID.rawValue.dropFirst("company-".count))) else { continue }
            switch try EventTypeRegistry.crm.decode(record) {
            case let creation as CompanyCreated:
                if names[id] == nil { created.append(id) }
                names[id] = creation.name
                domains[id] = creation.details[.domain]
            case let renamed as CompanyRenamed:
                names[id] = renamed.to
            case let changed as CompanyFieldChanged where changed.field == .domain:
                domains[id] = changed.to
            default:
                break
            }
        }
        // Two companies of one name (or domain): the one created first, the same on every run.
        for id in created {
            if let name = names[id]?.lowercased(), directory.byName[name] == nil { directory.byName[name] = id }
            if let domain = domains[id]?.lowercased(), directory.byDomain[domain] == nil { directory.byDomain[domain] = id }
        }
        return directory
    }
}
