import Foundation
@testable import RapportCLI
import RapportProjections
import Testing

@Suite("CSV reader")
struct CSVReaderTests {
    func fields(_ text: String) -> [[String]] {
        CSVReader.records(in: text).map { (try? $0.fields.get()) ?? ["<error>"] }
    }

    @Test func readsQuotedCommasNewlinesAndQuotes() {
        let text = "a,b,c\r\n\"x, y\",\"line 1\nline 2\",\"say \"\"hi\"\"\"\r\n1,,3"
        #expect(fields(text) == [["a", "b", "c"], ["x, y", "line 1\nline 2", "say \"hi\""], ["1", "", "3"]])
        #expect(CSVReader.records(in: text).map(\.line) == [1, 2, 4])
    }

    @Test func skipsBlankLinesAndAByteOrderMark() {
        #expect(fields("\u{FEFF}name\n\nAda\n\n") == [["name"], ["Ada"]])
    }

    @Test func reportsMalformedRecordsWithTheirLineAndGoesOn() {
        let records = CSVReader.records(in: "name\nab\"c\n\"x\"y\nok\n\"open\nrest")
        #expect(records.map(\.line) == [1, 2, 3, 4, 5])
        #expect(records[1].fields == .failure(CSVError(reason: "a quote inside unquoted field 1; quote the field and double its quotes")))
        #expect(records[2].fields == .failure(CSVError(reason: "text after the closing quote of field 1")))
        #expect(records[3].fields == .success(["ok"]))
        #expect(records[4].fields == .failure(CSVError(reason: "a quoted field is never closed (lines 5–6 were read as this one record)")))
    }

    @Test func aStrayQuoteSaysWhichLinesItTookIn() {
        let records = CSVReader.records(in: "name,domain\n\"Acme,acme.example\nBeta,beta.example\nGamma,\"gamma.example\"\nDelta,delta.example\n")
        #expect(records.map(\.line) == [1, 2, 5])
        #expect(records[1].fields == .failure(CSVError(reason: "text after the closing quote of field 1 (lines 2–4 were read as this one record)")))
        #expect(records[2].fields == .success(["Delta", "delta.example"]))
    }
}

@Suite("Date arguments")
struct DateArgumentTests {
    /// Where a clock change skips midnight (Santiago, 2024-09-08 begins at 01:00),
    /// a bare --to date still ends at the next day's start, not an hour into it.
    @Test func aBareToDateEndsAtTheNextDaysStartAcrossAClockChange() throws {
        let zone = try #require(TimeZone(identifier: "America/Santiago"))
        let end = try DateArgument.parse("2024-09-08", option: "--to", timeZone: zone, day: .end)
        // 2024-09-09 00:00 in Santiago (UTC-3 from the 8th) is 03:00 UTC.
        #expect(end == Date(timeIntervalSince1970: 1_725_850_800).addingTimeInterval(-0.000_001))
        // An ordinary day: the next midnight, less a microsecond.
        let utc = try #require(TimeZone(identifier: "UTC"))
        #expect(try DateArgument.parse("2024-03-01", option: "--to", timeZone: utc, day: .end)
                == Date(timeIntervalSince1970: 1_709_337_600).addingTimeInterval(-0.000_001))
    }

    /// A `recorded_at` copied from an export (microseconds) is read to the
    /// microsecond, with any zone, so `--to` that time includes its entry.
    @Test func aDateTimeIsReadToTheMicrosecond() throws {
        let utc = try #require(TimeZone(identifier: "UTC"))
        let exported = "2024-09-08T00:16:37.123456Z"
        let parsed = try DateArgument.parse(exported, option: "--to", timeZone: utc)
        #expect(ProjectionTimestamp.microseconds(of: parsed) == 1_725_754_597_123_456)
        #expect(ProjectionTimestamp.string(from: parsed) == exported)
        #expect(try DateArgument.parse("2024-09-08T02:16:37.123456+02:00", option: "--to", timeZone: utc) == parsed)
        // Fewer digits, none, and more than six (the seventh and on dropped, as the exports' reader does).
        #expect(ProjectionTimestamp.microseconds(of: try DateArgument.parse("2024-09-08T00:16:37.5Z", option: "--to", timeZone: utc))
                == 1_725_754_597_500_000)
        #expect(ProjectionTimestamp.microseconds(of: try DateArgument.parse("2024-09-08T00:16:37Z", option: "--to", timeZone: utc))
                == 1_725_754_597_000_000)
        #expect(ProjectionTimestamp.microseconds(of: try DateArgument.parse("2024-09-08T00:16:37.1234569Z", option: "--to", timeZone: utc))
                == 1_725_754_597_123_456)
        // A point with no digits, or a zone missing, is not a date-time.
        for text in ["2024-09-08T00:16:37.Z", "2024-09-08T00:16:37.123", "2024-09-08T00:16:37.12a4Z"] {
            #expect(throws: CLIError.self, "\(text)") { try DateArgument.parse(text, option: "--to", timeZone: utc) }
        }
    }
}
