import Foundation
@testable import RapportCLI
import Testing

/// The PostgreSQL server of the CLI tests: `RAPPORT_POSTGRES_URL` (scripts/with-postgres
/// sets it). Without it the PostgreSQL copy test is skipped, except in CI, where it fails.
enum CLIPostgres {
    static let url: String? = {
        let value = ProcessInfo.processInfo.environment["RAPPORT_POSTGRES_URL"] ?? ""
        return value.isEmpty ? nil : value
    }()
    static let shouldRun = url != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    /// The server's URL with a schema no other test uses.
    static func freshStore() throws -> (url: String, schema: String) {
        let base = try #require(url, "RAPPORT_POSTGRES_URL is not set; run the tests through scripts/with-postgres")
        let schema = "rt_cli_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased())"
        return (base + (base.contains("?") ? "&" : "?") + "schema=\(schema)", schema)
    }

    /// Drops `schema` with psql (best effort: a throwaway server is removed anyway).
    static func drop(_ schema: String) {
        guard let url else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", url, "-XqAtc", "DROP SCHEMA IF EXISTS \(schema) CASCADE"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? process.run()
        process.waitUntilExit()
    }
}

@Suite("rapport copy")
struct CopyCommandTests {
    /// A demo store of about 1,500 events in `scratch.store`; returns its event count as verify prints it.
    static func demoStore(_ scratch: Scratch) throws -> String {
        let demo = try scratch.rapport("demo", "--events", "1500", "--store", scratch.store)
        #expect(demo.status == 0, "\(demo.errors)")
        let verify = try scratch.rapport("verify", "--store", scratch.store)
        #expect(verify.status == 0)
        return String(try #require(verify.output.split(separator: " ").dropFirst().first))
    }

    @Test(.enabled(if: CLIPostgres.shouldRun, "RAPPORT_POSTGRES_URL is not set: PostgreSQL tests skipped"))
    func lmdbToPostgresAndBack() throws {
        let scratch = try Scratch("copy-pg")
        defer { scratch.cleanUp() }
        let events = try Self.demoStore(scratch)
        let (url, schema) = try CLIPostgres.freshStore()
        defer { CLIPostgres.drop(schema) }

        let there = try scratch.rapport("copy", "--from", "lmdb:\(scratch.store)", "--to", url, "--batch-size", "500")
        #expect(there.status == 0, "\(there.errors)")
        #expect(there.errors.isEmpty)
        #expect(there.outputLines.first?.hasPrefix("copied \(events) events from lmdb:\(scratch.store) to postgres://") == true, "\(there.output)")
        let hash = try #require(there.outputLines.last { $0.hasPrefix("last chain hash: ") })
        #expect(hash.count == "last chain hash: ".count + 64)

        let verify = try scratch.rapport("verify", "--store", url)
        #expect(verify.status == 0, "\(verify.errors)")
        #expect(verify.output == "sound: \(events) events\n")
        // The same variable every command reads.
        let fromEnvironment = try scratch.rapport("verify", environment: ["RAPPORT_STORE": url])
        #expect(fromEnvironment.output == "sound: \(events) events\n")

        let again = try scratch.rapport("copy", "--from", scratch.store, "--to", url)
        #expect(again.status == 64)
        #expect(again.errors.contains("is not empty: it holds events up to position"), "\(again.errors)")
        #expect(try scratch.rapport("verify", "--store", url).output == "sound: \(events) events\n", "the refused copy changed nothing")

        let back = scratch.path("back")
        let returned = try scratch.rapport("copy", "--from", url, "--to", "lmdb:\(back)")
        #expect(returned.status == 0, "\(returned.errors)")
        #expect(returned.outputLines.last == hash, "the chain hash survives the round trip")
        #expect(try scratch.rapport("verify", "--store", back).output == "sound: \(events) events\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.directory.path).filter { $0.contains(".copying-") }.isEmpty)

        // Read models work on PostgreSQL too.
        let rebuild = try scratch.rapport("rebuild", "--store", url)
        #expect(rebuild.status == 0, "\(rebuild.errors)")
        #expect(rebuild.output.contains("rebuilt audit-trail"), "\(rebuild.output)")
        let audit = try scratch.rapport("audit", "--store", url, "--limit", "2")
        #expect(audit.status == 0, "\(audit.errors)")
        #expect(audit.outputLines.count >= 2)
    }

    @Test func lmdbToLMDBAndTheTargetsItRefuses() throws {
        let scratch = try Scratch("copy-lmdb")
        defer { scratch.cleanUp() }
        let events = try Self.demoStore(scratch)
        let copy = scratch.path("copy")
        let run = try scratch.rapport("copy", "--from", scratch.store, "--to", copy)
        #expect(run.status == 0, "\(run.errors)")
        #expect(try scratch.rapport("verify", "--store", copy).output == "sound: \(events) events\n")

        let intoStore = try scratch.rapport("copy", "--from", scratch.store, "--to", copy)
        #expect(intoStore.status == 64)
        #expect(intoStore.errors.contains("is not empty"), "\(intoStore.errors)")
        let foreign = scratch.path("foreign")
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        _ = try scratch.write("foreign/notes.txt", "mine")
        let intoForeign = try scratch.rapport("copy", "--from", scratch.store, "--to", foreign)
        #expect(intoForeign.status == 64)
        #expect(try FileManager.default.contentsOfDirectory(atPath: foreign) == ["notes.txt"])
        let missing = try scratch.rapport("copy", "--from", scratch.path("nothing"), "--to", scratch.path("new"))
        #expect(missing.status == 66)
        #expect(!FileManager.default.fileExists(atPath: scratch.path("new")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.directory.path).filter { $0.contains(".copying-") }.isEmpty)
        let same = try scratch.rapport("copy", "--from", scratch.store, "--to", "lmdb:\(scratch.store)")
        #expect(same.status == 64)
    }
}

@Suite("rapport copy: staging")
struct CopyStagingTests {
    @Test("a complete copy that cannot be moved into place stays where the error says")
    func aCompleteCopyThatCannotBeMovedIsKept() async throws {
        let scratch = try Scratch("copy-kept")
        defer { scratch.cleanUp() }
        let target = scratch.path("target")
        let staging = try await LMDBStaging(.lmdb(path: target))
        guard case .lmdb(let staged) = staging.location else {
            Issue.record("an LMDB target is staged in LMDB")
            return
        }
        do {
            _ = try await staging.run {
                try FileManager.default.createDirectory(atPath: staged, withIntermediateDirectories: true)
                try Data("copied".utf8).write(to: URL(fileURLWithPath: staged + "/data.mdb"))
                // Meanwhile something else takes the target's path.
                try FileManager.default.createDirectory(atPath: target + "/x", withIntermediateDirectories: true)
                return 1
            }
            Issue.record("the copy was moved onto an occupied target")
        } catch let error as CLIError {
            #expect(error.message.contains("the copy is complete in \(staged)"))
            // Before, the failed move ran inside the copy's error handling, which removed the staged copy.
            #expect(FileManager.default.fileExists(atPath: staged + "/data.mdb"))
        }
    }
}
