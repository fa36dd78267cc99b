import Foundation
import RapportEventLog
import RapportLMDB
import RapportProjections
import Testing

@Suite("rapport audit and rebuild")
struct AuditCommandTests {
    @Test func auditQueriesAndExportsMatchTheLibrary() async throws {
        let scratch = try Scratch("audit")
        defer { try? FileManager.default.removeItem(at: scratch.directory) }
        #expect(try scratch.rapport("demo", "--events", "2000", "--store", scratch.store).status == 0)

        // Export everything as JSON Lines, and the CSV of one action.
        let jsonl = scratch.path("all.jsonl")
        let export = try scratch.rapport("audit", "--store", scratch.store, "--format", "jsonl", "--output", jsonl)
        #expect(export.status == 0, "\(export.errors)")
        let lines = try String(contentsOfFile: jsonl, encoding: .utf8).split(separator: "\n")
        let exported = try lines.map { try AuditTrail.decodeJSONLine(String($0)) }
        let csv = try scratch.rapport("audit", "--store", scratch.store, "--action", "DealStageChanged", "--format", "csv")
        #expect(csv.status == 0)
        // CSV rows end in CRLF, one Character in Swift: split on any line break.
        let csvLines = csv.output.split(whereSeparator: \.isNewline)
        #expect(csvLines.first?.hasPrefix("position,recorded_at,occurred_at,actor_id") == true)

        // The library's own answer, from the same store.
        let store = try LMDBEventStore(path: scratch.store)
        let head = try await store.headPosition()
        let trail = AuditTrail()
        let all = try trail.entries(.all, in: store, page: PageRequest(limit: 100_000)).items
        #expect(exported == all, "the export equals the library's query")
        #expect(exported.count == Int(head.rawValue), "one entry per event")
        let moves = try trail.entries(.action("DealStageChanged"), in: store, page: PageRequest(limit: 100_000)).items
        #expect(csvLines.count - 1 == moves.reduce(0) { $0 + max(1, $1.changes.count) }, "one CSV row per field change")
        let actor = all.first { $0.actor.role == .salesRep }!.actor.id
        let byActor = try trail.entries(.actor(actor), in: store, page: PageRequest(limit: 100_000)).items
        await store.close()

        let table = try scratch.rapport("audit", "--store", scratch.store, "--actor", actor, "--limit", "100000")
        #expect(table.status == 0)
        #expect(table.outputLines.count == byActor.count)
        #expect(table.outputLines.allSatisfy { $0.contains(actor) })

        // Bad input: one line, usage exit code.
        let twoSelections = try scratch.rapport("audit", "--store", scratch.store, "--actor", actor, "--action", "DealWon")
        #expect(twoSelections.status == 64 && twoSelections.errorLines.count == 1)
        let badEntity = try scratch.rapport("audit", "--store", scratch.store, "--entity", "deal")
        #expect(badEntity.status == 64 && badEntity.errors.contains("KIND:ID"))
    }

    @Test func rebuildRebuildsTheRegisteredProjections() throws {
        let scratch = try Scratch("rebuild")
        defer { try? FileManager.default.removeItem(at: scratch.directory) }
        #expect(try scratch.rapport("demo", "--events", "1000", "--store", scratch.store).status == 0)
        let all = try scratch.rapport("rebuild", "--store", scratch.store)
        #expect(all.status == 0, "\(all.errors)")
        #expect(all.outputLines.filter { $0.hasPrefix("rebuilt ") }.count == 3)
        let one = try scratch.rapport("rebuild", "audit-trail", "--store", scratch.store)
        #expect(one.status == 0 && one.output.contains("rebuilt audit-trail"))
        let list = try scratch.rapport("rebuild", "--list", "--store", scratch.store)
        #expect(list.output.contains("contact-history") && list.output.contains("deal-states"))
        let unknown = try scratch.rapport("rebuild", "nothing-here", "--store", scratch.store)
        #expect(unknown.status == 2)
    }

    @Test("a failed export leaves --output as it was, and lost standard output is exit 74, not 0")
    func failedOutputIsNeverTakenForAComplete() throws {
        let scratch = try Scratch("audit-output")
        defer { scratch.cleanUp() }
        #expect(try scratch.rapport("demo", "--events", "300", "--store", scratch.store).status == 0)
        let earlier = try scratch.write("q3.csv", "old\n")
        func hiddenFiles() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: scratch.directory.path).filter { $0.hasPrefix(".") }
        }

        // Before, the file was emptied before the store was opened.
        let typo = try scratch.rapport("audit", "--store", scratch.path("typo"), "--format", "csv", "--output", earlier)
        #expect(typo.status == 66)
        #expect(try String(contentsOfFile: earlier, encoding: .utf8) == "old\n")
        #expect(try hiddenFiles().isEmpty)

        let done = try scratch.rapport("audit", "--store", scratch.store, "--format", "csv", "--output", earlier)
        #expect(done.status == 0, "\(done.errors)")
        #expect(try String(contentsOfFile: earlier, encoding: .utf8).hasPrefix("position,recorded_at"))
        #expect(try hiddenFiles().isEmpty)

        // A symbolic link stays a link to the replaced file; a device is written in place.
        let linked = scratch.path("latest.csv")
        try FileManager.default.createSymbolicLink(atPath: linked, withDestinationPath: earlier)
        let throughLink = try scratch.rapport("audit", "--store", scratch.store, "--format", "jsonl", "--output", linked)
        #expect(throughLink.status == 0, "\(throughLink.errors)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: linked) == earlier)
        #expect(try String(contentsOfFile: earlier, encoding: .utf8).hasPrefix("{"))
        let device = try scratch.rapport("audit", "--store", scratch.store, "--output", "/dev/null")
        #expect(device.status == 0, "\(device.errors)")
        var status = stat()
        #expect(stat("/dev/null", &status) == 0 && status.st_mode & S_IFMT == S_IFCHR)
        #expect(try hiddenFiles().isEmpty)

        // Before, a table lost on a full disk exited 0, and JSON lost there crashed.
        for arguments in [["audit"], ["audit", "--format", "csv"], ["audit", "--format", "jsonl"], ["pipeline", "--format", "json"]] {
            let lost = try scratch.rapport(arguments + ["--store", scratch.store], standardOutput: "/dev/full")
            #expect(lost.status == 74, "\(arguments): \(lost.errors)")
            #expect(lost.errors.contains("rapport: cannot write standard output"), "\(arguments): \(lost.errors)")
        }
    }
}
