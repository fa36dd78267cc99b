import Foundation
@testable import RapportCLI
import RapportEventLog
import RapportProjections
import Testing

@Suite("rapport error paths")
struct ErrorTests {
    @Test(arguments: ["verify", "stats"])
    func aMissingStoreIsExplainedAndNotCreated(command: String) throws {
        let scratch = try Scratch("missing")
        defer { scratch.cleanUp() }
        let run = try scratch.rapport(command, "--store", scratch.store)
        #expect(run.status == 66)
        #expect(run.errors == "rapport: no store at \(scratch.store): check --store or RAPPORT_STORE (`rapport demo` makes a sample store)\n")
        #expect(run.output.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: scratch.store))
    }

    @Test func theDefaultStoreIsRapportDataInTheCurrentDirectory() throws {
        let scratch = try Scratch("default")
        defer { scratch.cleanUp() }
        let run = try scratch.rapport("verify")
        #expect(run.status == 66)
        #expect(run.errors == "rapport: no store at rapport-data: check --store or RAPPORT_STORE (`rapport demo` makes a sample store)\n")
    }

    @Test(arguments: ["2024-13-01", "yesterday", "2024-03-01 10:00", "01.03.2024"])
    func aMalformedDateIsOneLineAndExit64(date: String) throws {
        let scratch = try Scratch("date")
        defer { scratch.cleanUp() }
        let run = try scratch.rapport("demo", "--events", "300", "--as-of", date, "--store", scratch.store)
        #expect(run.status == 64)
        #expect(run.errorLines.count == 1)
        #expect(run.errors.contains("is not a date"))
        #expect(!FileManager.default.fileExists(atPath: scratch.store), "nothing is generated on a usage error")
    }

    @Test func anUnknownBackendIsAUsageError() throws {
        let scratch = try Scratch("backend")
        defer { scratch.cleanUp() }
        let unknown = try scratch.rapport("stats", "--backend", "sqlite", "--store", scratch.store)
        #expect(unknown.status == 64)
        #expect(unknown.errors == "rapport: unknown backend \"sqlite\"; the backends are lmdb and postgres\n")
        let mismatch = try scratch.rapport("verify", "--backend", "postgres", "--store", scratch.store)
        #expect(mismatch.status == 64)
        #expect(mismatch.errors == "rapport: --backend postgres does not match the store lmdb:\(scratch.store) (a lmdb store)\n")
        let lmdbOnly = try scratch.rapport("stats", "--store", "postgres://nobody@127.0.0.1:1/none")
        #expect(lmdbOnly.status == 69)
        #expect(lmdbOnly.errors.contains("works on LMDB stores only"))
        let badURL = try scratch.rapport("verify", "--store", "postgres://127.0.0.1/db?colour=blue")
        #expect(badURL.status == 64)
        #expect(badURL.errors.contains("unknown option colour"))
        #expect(!FileManager.default.fileExists(atPath: scratch.store), "nothing is created on a usage error")
    }

    @Test func aDirectoryThatIsNotAStoreIsExit65() throws {
        let scratch = try Scratch("foreign")
        defer { scratch.cleanUp() }
        try FileManager.default.createDirectory(atPath: scratch.store, withIntermediateDirectories: true)
        try Data(repeating: 0x42, count: 64 * 1024).write(to: URL(fileURLWithPath: scratch.store + "/data.mdb"))
        let run = try scratch.rapport("stats", "--store", scratch.store)
        #expect(run.status == 65, "\(run.errors)")
        #expect(run.errorLines.count == 1)
        #expect(run.errors.hasPrefix("rapport: Cannot open the store"), "\(run.errors)")
    }

    /// A server that cannot be reached or refuses us is one line saying why, at once (not after
    /// the 20-second timeout, and not "cannot reach"), exit 74.
    @Test func anUnreachablePostgresSaysWhyAtOnce() throws {
        let scratch = try Scratch("pg-refused")
        defer { scratch.cleanUp() }
        let started = Date()
        let refused = try scratch.rapport("verify", "--store", "postgres://nobody@127.0.0.1:1/none")
        #expect(refused.status == 74)
        #expect(refused.errors == "rapport: cannot connect to PostgreSQL at 127.0.0.1:1: connection refused (no server listening on port 1?)\n",
                "\(refused.errors)")
        #expect(Date().timeIntervalSince(started) < 15, "no wait for the connect timeout")
    }

    @Test(.enabled(if: CLIPostgres.shouldRun, "RAPPORT_POSTGRES_URL is not set: PostgreSQL tests skipped"))
    func aMissingDatabaseIsNamedByTheServer() throws {
        let scratch = try Scratch("pg-no-database")
        defer { scratch.cleanUp() }
        let base = try #require(CLIPostgres.url)
        var url = try #require(URLComponents(string: base))
        url.path = "/rapport_no_such_database"
        let run = try scratch.rapport("verify", "--store", try #require(url.string))
        #expect(run.status == 74)
        #expect(run.errorLines.count == 1)
        #expect(run.errors.contains("database \"rapport_no_such_database\" does not exist"), "\(run.errors)")
    }
}

@Suite("rapport exit codes")
struct ExitCodeTests {
    /// Every read-model query failure gets the exit code of what went wrong:
    /// a damaged value is damaged data (65), a bad token or argument a usage
    /// error (64), a store failure what the store's error says.
    @Test func readModelQueryFailuresExitWithWhatWentWrong() {
        let cases: [(ProjectionQueryError, CLIError.ExitStatus)] = [
            (.corruptValue(key: "deal/1", reason: "truncated"), .dataError),
            (.invalidToken("p0"), .usage),
            (.invalidArgument(name: "forDays", reason: "must be 0 or more"), .usage),
            (.store(.corruptedRecord(position: LogPosition(7), reason: "checksum")), .dataError),
            (.store(.storeClosed), .ioError),
            (.notCaughtUp(projection: "deal-states", reached: nil, asked: LogPosition(3)), .ioError),
        ]
        for (error, status) in cases {
            let explained = CLIError.explaining(error)
            #expect(explained.status == status, "\(error)")
            #expect(explained.message == error.description)
        }
    }
}
