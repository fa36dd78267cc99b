@testable import RapportCLI
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
        #expect(records[4].fields == .failure(CSVError(reason: "a quoted field is never closed")))
    }
}
