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

    @Test("verify, stats and copy never upgrade a store of an older format; rapport upgrade does, when asked")
    func readingCommandsNeverUpgradeAStore() throws {
        let scratch = try Scratch("old-format")
        defer { scratch.cleanUp() }
        #expect(try scratch.rapport("demo", "--events", "300", "--store", scratch.store).status == 0)
        let marked = try scratch.run(builtExecutable("RapportStoreProbe"), ["mark-format", scratch.store, "rapport-lmdb/3"])
        #expect(marked.output.contains("marked"), "\(marked.errors)")
        let data = URL(fileURLWithPath: scratch.store).appendingPathComponent("data.mdb")
        let before = try Data(contentsOf: data)

        // Before, each of these upgraded the store it was asked to read (older libraries then refuse it).
        let copy = scratch.path("copy")
        for arguments in [["verify", "--store", scratch.store], ["stats", "--store", scratch.store], ["copy", "--from", scratch.store, "--to", copy]] {
            let run = try scratch.rapport(arguments)
            #expect(run.status == 65, "\(arguments): \(run.errors)")
            #expect(run.errors.contains("older format") && run.errors.contains("rapport upgrade --store"), "\(arguments): \(run.errors)")
        }
        #expect(try Data(contentsOf: data) == before, "the store is byte for byte as it was")
        #expect(!FileManager.default.fileExists(atPath: copy))

        let upgraded = try scratch.rapport("upgrade", "--store", scratch.store)
        #expect(upgraded.status == 0 && upgraded.output.contains("upgraded \(scratch.store) to the current format"), "\(upgraded.errors)")
        let again = try scratch.rapport("upgrade", "--store", scratch.store)
        #expect(again.status == 0 && again.output.contains("already in the current format"))
        let verified = try scratch.rapport("verify", "--store", scratch.store)
        #expect(verified.status == 0 && verified.output.contains("sound:"), "\(verified.errors)")
    }
}
