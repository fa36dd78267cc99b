import Foundation
import Testing

@Suite("rapport verify, stats, rebuild")
struct StoreCommandTests {
    /// A store of five companies, the third named by a unique marker.
    static func smallStore(_ scratch: Scratch) throws {
        let file = try scratch.write("companies.csv", """
            name,domain
            First,first.example
            Second,second.example
            MARKER-COMPANY-7Q,marker.example
            Fourth,fourth.example
            Fifth,fifth.example

            """)
        let run = try scratch.rapport("import", "companies", file, "--store", scratch.store)
        #expect(run.status == 0, "\(run.errors)")
    }

    @Test func verifyPassesASoundStore() throws {
        let scratch = try Scratch("verify")
        defer { scratch.cleanUp() }
        try Self.smallStore(scratch)
        let run = try scratch.rapport("verify", "--store", scratch.store)
        #expect(run.status == 0)
        #expect(run.output == "sound: 5 events\n")
        #expect(run.errors.isEmpty)
    }

    @Test func verifyNamesThePositionOfADamagedRecord() throws {
        let scratch = try Scratch("verify-damaged")
        defer { scratch.cleanUp() }
        try Self.smallStore(scratch)
        #expect(try damage(store: scratch.store, marker: "MARKER-COMPANY-7Q") >= 1)

        let run = try scratch.rapport("verify", "--store", scratch.store)
        #expect(run.status == 1)
        #expect(run.output.contains("problem at position 3: corrupted record: checksum mismatch"), "\(run.output)")

        // Commands that read the damaged record say so in one line, exit 65.
        let stats = try scratch.rapport("stats", "--store", scratch.store)
        #expect(stats.status == 65)
        #expect(stats.errorLines.count == 1)
        #expect(stats.errors.contains("Corrupted record at position 3"), "\(stats.errors)")
    }

    @Test func statsShowsCountsTypesSizeAndCheckpoints() throws {
        let scratch = try Scratch("stats")
        defer { scratch.cleanUp() }
        try Self.smallStore(scratch)
        let run = try scratch.rapport("stats", "--store", scratch.store)
        #expect(run.status == 0, "\(run.errors)")
        let lines = run.outputLines
        #expect(lines.contains("events:       5"))
        #expect(lines.contains("head:         position 5"))
        #expect(lines.contains("streams:      5"))
        #expect(lines.contains("types:        1"))
        #expect(lines.contains("  CompanyCreated  5"))
        #expect(lines.contains { $0.hasPrefix("size on disk: ") && $0.hasSuffix("(data.mdb)") })
        #expect(lines.contains("projections:  none"))
    }

    @Test func rebuildListsAndRefusesUnknownProjections() throws {
        let scratch = try Scratch("rebuild")
        defer { scratch.cleanUp() }
        let unknown = try scratch.rapport("rebuild", "no-such-projection", "--store", scratch.store)
        #expect(unknown.status == 2)
        #expect(unknown.errors.hasPrefix("rapport: ") && unknown.errors.contains("no-such-projection") && unknown.errorLines.count == 1)
        let missing = try scratch.rapport("rebuild", "audit-trail", "--store", scratch.store)
        #expect(missing.status == 66, "a known projection on a missing store")
    }
}
