import Foundation
import RapportEventLog
import RapportLMDB
import RapportProjections
import Testing

/// What an auditor types wrong, or at the edges: each gets a clear answer,
/// never a silent empty one, and a bad input changes nothing.
@Suite("rapport audit inputs and store checks")
struct AuditorInputTests {
    /// A demo store of 2,000 events for one test, removed when it ends.
    struct Demo {
        let scratch: Scratch

        init() throws {
            scratch = try Scratch("auditor")
            let run = try scratch.rapport("demo", "--events", "2000", "--store", scratch.store)
            #expect(run.status == 0, "\(run.errors)")
        }

        var store: String { scratch.store }

        func audit(_ arguments: String...) throws -> Run { try audit(arguments) }

        func audit(_ arguments: [String]) throws -> Run {
            try scratch.rapport(["audit", "--store", scratch.store, "--utc"] + arguments)
        }
    }

    /// The CSV rows of an export, header left out (rows end in CRLF).
    func rows(_ run: Run) -> [Substring] { Array(run.output.split(whereSeparator: \.isNewline).dropFirst()) }

    @Test func aBareToDateIncludesThatWholeDay() throws {
        let demo = try Demo()
        defer { demo.scratch.cleanUp() }
        let all = rows(try demo.audit("--format", "csv"))
        // The day of an entry in the middle of the log, and every entry recorded that day (UTC).
        let day = String(all[all.count / 2].split(separator: ",")[1].prefix(10))
        let sameDay = all.filter { $0.split(separator: ",")[1].hasPrefix(day) }
        #expect(!sameDay.isEmpty)
        let run = try demo.audit("--from", day, "--to", day, "--format", "csv")
        #expect(run.status == 0, "\(run.errors)")
        #expect(rows(run) == sameDay, "--from D --to D is all of day D")
        #expect(try demo.audit("--from", "2024-02-29", "--limit", "1").status == 0, "a leap day is a day")
    }

    /// Checked before the store is opened: no store is needed, and none is made.
    @Test(arguments: ["2024-02-30", "2023-02-29", "0000-01-01", "2024-00-10", "2024-03-01T24:30:00Z", "2024-03-01T10:61:00Z"])
    func aDayOrTimeThatDoesNotExistIsRefused(date: String) throws {
        let scratch = try Scratch("no-such-day")
        defer { scratch.cleanUp() }
        let run = try scratch.rapport("audit", "--store", scratch.store, "--from", date)
        #expect(run.status == 64)
        #expect(run.errorLines.count == 1)
        #expect(run.errors.contains("is not a date"), "\(run.errors)")
        #expect(!FileManager.default.fileExists(atPath: scratch.store))
    }

    @Test func wrongRangesLimitsAndIdsAreUsageErrors() throws {
        let scratch = try Scratch("audit-usage")
        defer { scratch.cleanUp() }
        func audit(_ arguments: String...) throws -> Run { try scratch.rapport(["audit", "--store", scratch.store] + arguments) }
        let backwards = try audit("--from", "2024-03-02", "--to", "2024-03-01")
        #expect(backwards.status == 64 && backwards.errors == "rapport: --from 2024-03-02 is after --to 2024-03-01\n")
        // A negative number is the option's value, not an unknown option.
        for limit in [["--limit=0"], ["--limit", "-1"], ["--limit=-1"]] {
            let run = try scratch.rapport(["audit", "--store", scratch.store] + limit)
            #expect(run.status == 64 && run.errors == "rapport: --limit must be 1 or more\n", "\(limit): \(run.errors)")
        }
        let types = try scratch.rapport("stats", "--store", scratch.store, "--types", "-2")
        #expect(types.status == 64 && types.errors == "rapport: --types must be 0 or more\n", "\(types.errors)")
        // The table shows 8 characters of an id; they are not an id.
        let short = try audit("--entity", "deal:d71bc149")
        #expect(short.status == 64)
        #expect(short.errors.contains("is not a full deal id"), "\(short.errors)")
        #expect(!FileManager.default.fileExists(atPath: scratch.store))
    }

    @Test func anEmptyAnswerSaysSoAndExportsItsHeader() throws {
        let demo = try Demo()
        defer { demo.scratch.cleanUp() }
        for arguments in [["--from", "2040-01-01"], ["--to", "2001-01-01"], ["--actor", "user:nobody"]] {
            let csv = try demo.scratch.rapport(["audit", "--store", demo.store, "--format", "csv"] + arguments)
            #expect(csv.status == 0)
            #expect(csv.output.hasPrefix("position,recorded_at,"), "\(arguments): the header, as for any export")
            #expect(rows(csv).isEmpty)
            #expect(csv.errors == "no entries match\n", "\(arguments)")
            let table = try demo.scratch.rapport(["audit", "--store", demo.store] + arguments)
            #expect(table.status == 0 && table.output.isEmpty && table.errors == "no entries match\n", "\(arguments)")
        }
    }

    @Test func aFieldQueryShowsOnlyThatField() throws {
        let demo = try Demo()
        defer { demo.scratch.cleanUp() }
        let opened = rows(try demo.audit("--action", "DealOpened", "--format", "csv"))
        let deal = String(try #require(opened.first).split(separator: ",")[6])
        // The kind in any case, the id in full.
        let run = try demo.audit("--entity", "DEAL:\(deal.uppercased())", "--field", "amount", "--format", "csv")
        #expect(run.status == 0, "\(run.errors)")
        let fields = rows(run).map { $0.split(separator: ",", omittingEmptySubsequences: false)[8] }
        #expect(!fields.isEmpty && fields.allSatisfy { $0 == "amount" }, "\(fields)")
        let table = try demo.audit("--entity", "deal:\(deal)", "--field", "amount")
        #expect(!table.outputLines.isEmpty)
        #expect(table.outputLines.allSatisfy { $0.contains("  amount: ") && !$0.contains("; ") }, "one change per line: the amount's")
    }

    @Test func theTableGoesToOutputTooAndOutputErrorsSayWhy() throws {
        let demo = try Demo()
        defer { demo.scratch.cleanUp() }
        let path = demo.scratch.path("table-\(UUID().uuidString).txt")
        let run = try demo.audit("--limit", "3", "--output", path)
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.isEmpty)
        #expect(run.errors == "wrote 3 entries to \(path)\n")
        let written = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(written.count == 4 && written.last!.hasPrefix("… more"))
        let missing = try demo.audit("--format", "csv", "--output", "/nonexistent-\(UUID().uuidString)/x.csv")
        #expect(missing.status == 74 && missing.errors.contains("(no directory /nonexistent-"), "\(missing.errors)")
        let directory = try demo.audit("--format", "csv", "--output", demo.scratch.directory.path)
        #expect(directory.status == 74 && directory.errors.contains("is a directory"), "\(directory.errors)")
    }

    @Test func asOfLabelsTheZoneOfThatDate() throws {
        let demo = try Demo()
        defer { demo.scratch.cleanUp() }
        let opened = rows(try demo.audit("--action", "DealOpened", "--format", "csv"))
        let deal = String(try #require(opened.first).split(separator: ",")[6])
        let berlin = TimeZone(identifier: "Europe/Berlin")!
        for date in ["2024-01-15", "2024-07-15"] {
            let run = try demo.scratch.rapport(["deal", deal, "--as-of", date, "--store", demo.store], environment: ["TZ": "Europe/Berlin"])
            #expect(run.status == 0, "\(run.errors)")
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withFullDate, .withDashSeparatorInDate]
            formatter.timeZone = berlin
            let expected = berlin.abbreviation(for: formatter.date(from: date)!)!
            #expect(run.output.contains("as of \(date) 00:00 \(expected):"), "\(date): \(run.output)")
        }
    }

    @Test func readingCommandsNeitherCreateNorRepairAStore() throws {
        let scratch = try Scratch("empty-data")
        defer { scratch.cleanUp() }
        try FileManager.default.createDirectory(atPath: scratch.store, withIntermediateDirectories: true)
        let data = scratch.store + "/data.mdb"
        _ = FileManager.default.createFile(atPath: data, contents: nil)
        for command in ["verify", "stats", "audit"] {
            let run = try scratch.rapport(command, "--store", scratch.store)
            #expect(run.status == 65, "\(command): \(run.errors)")
            #expect(run.errors == "rapport: \(data) is empty: not a store (damaged, or its creation was interrupted)\n")
        }
        #expect(try FileManager.default.attributesOfItem(atPath: data)[.size] as? NSNumber == 0, "the file is left as it was")

        let file = try scratch.write("plain-file", "not a store")
        for command in ["verify", "stats", "audit", "history"] {
            var arguments = [command, "--store", file]
            if command == "history" { arguments.insert("0193a1f2-7c41-7def-8a11-5e3f0c9b2a10", at: 1) }
            let run = try scratch.rapport(arguments)
            #expect(run.status == 65 && run.errors == "rapport: \(file) is a file, not a store directory\n", "\(command): \(run.errors)")
        }
        let empty = try scratch.rapport("verify", "--store", "")
        #expect(empty.status == 64 && empty.errors.contains("the store is empty"), "\(empty.errors)")
        let list = try scratch.rapport("rebuild", "--list", "--store", scratch.path("nothing-here"))
        #expect(list.status == 66 && list.output.isEmpty, "\(list.output)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("nothing-here")))
    }

    @Test func aRebuildOverADamagedLogChangesNothing() throws {
        let scratch = try Scratch("rebuild-damaged")
        defer { scratch.cleanUp() }
        try StoreCommandTests.smallStore(scratch)
        #expect(try scratch.rapport("rebuild", "--store", scratch.store).status == 0)
        let before = try scratch.rapport("rebuild", "--list", "--store", scratch.store)
        #expect(before.output.contains("audit-trail  version \(AuditTrail().version)  at position 5"), "\(before.output)")
        #expect(try damage(store: scratch.store, marker: "MARKER-COMPANY-7Q") >= 1)

        let run = try scratch.rapport("rebuild", "--store", scratch.store)
        #expect(run.status == 65)
        #expect(run.errors.contains("the log has a problem at position 3") && run.errors.hasSuffix("nothing was rebuilt\n"), "\(run.errors)")
        let after = try scratch.rapport("rebuild", "--list", "--store", scratch.store)
        #expect(after.output == before.output, "every read model is where it was")
    }

    @Test func verifyChecksTheAuditTrailAgainstTheLog() async throws {
        let demo = try Demo()
        defer { demo.scratch.cleanUp() }
        let before = try demo.scratch.rapport("verify", "--audit-trail", "--store", demo.store)
        #expect(before.status == 0, "\(before.errors)")
        #expect(before.outputLines.last == "audit trail: not built yet (`rapport audit` builds it)")
        #expect(try demo.audit("--limit", "1").status == 0)
        let sound = try demo.scratch.rapport("verify", "--audit-trail", "--store", demo.store)
        #expect(sound.status == 0 && sound.output == "sound: 2,000 events\naudit trail sound: 2,000 entries, up to position 2,000\n", "\(sound.output)")

        // An entry changed behind the projection's back: the log is sound, the audit trail is not.
        let store = try LMDBEventStore(path: demo.store)
        let trail = AuditTrail()
        let checkpoint = try #require(try store.checkpoint(of: trail.name))
        let key = "entry/00000000000000001234"
        var bytes = try #require(try store.read(trail.name) { (reader) throws(EventStoreError) in try reader.value(forKey: key) })
        bytes[bytes.count - 20] ^= 0x01
        try await store.commit([ReadModelChanges(projection: trail.name, writes: [key: bytes], checkpoint: checkpoint)])
        await store.close()
        let tampered = try demo.scratch.rapport("verify", "--audit-trail", "--store", demo.store)
        #expect(tampered.status == 1)
        #expect(tampered.outputLines.first == "sound: 2,000 events")
        #expect(tampered.outputLines.last?.hasPrefix("audit trail problem at position 1234: the audit entry differs from the event") == true,
                "\(tampered.output)")
    }
}
