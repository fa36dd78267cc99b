import Foundation
@testable import RapportEventLog
import Testing

/// The codec's fast path for `yyyy-MM-ddTHH:mm:ssZ` must read exactly what
/// Foundation's ISO 8601 parser reads, and leave every other text to it.
@Suite struct DateDecodingTests {
    struct Stamp: Event {
        static let typeName = "Stamp"
        var at: Date
    }

    @Test func theFastPathAgreesWithFoundationOnRandomDates() throws {
        var random = SplitMix64(seed: 42)
        let style = Date.ISO8601FormatStyle()
        for _ in 0..<5_000 {
            // From 1600 to 2400, whole seconds.
            let seconds = Int64(random.next() % 25_246_080_000) - 11_676_096_000
            let date = Date(timeIntervalSince1970: TimeInterval(seconds))
            let text = style.format(date)
            #expect(JSONEventCodec.internetDate(text) == date, "\(text)")
            #expect(JSONEventCodec.internetDate(text) == (try style.parse(text)), "\(text)")
        }
    }

    @Test func edgeDatesAgreeWithFoundation() throws {
        let style = Date.ISO8601FormatStyle()
        for text in ["1970-01-01T00:00:00Z", "2000-02-29T23:59:59Z", "2024-02-29T12:00:00Z", "1900-03-01T00:00:00Z",
                     "2100-12-31T23:59:59Z", "1600-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "9999-12-31T23:59:59Z"] {
            #expect(JSONEventCodec.internetDate(text) == (try style.parse(text)), "\(text)")
        }
    }

    @Test func otherFormsAreLeftToFoundation() throws {
        for text in ["2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z",
                     "2024-01-01T00:60:00Z", "2024-01-01T00:00:60Z", "2024-01-01T00:00:00+01:00", "2024-01-01T00:00:00.5Z",
                     "2024-01-01 00:00:00Z", "2024-0a-01T00:00:00Z", "", "2024-01-01T00:00:00z", "1582-10-10T00:00:00Z"] {
            #expect(JSONEventCodec.internetDate(text) == nil, "\(text)")
        }
    }

    @Test func decodingAcceptsWhatIso8601AcceptsAndRejectsTheRest() throws {
        let codec = JSONEventCodec()
        let reference = JSONDecoder()
        reference.dateDecodingStrategy = .iso8601
        for text in ["2024-03-01T09:30:00Z", "2024-03-01T10:30:00+01:00", "0001-01-01T00:00:00Z", "1582-10-10T00:00:00Z", "2024-02-30T00:00:00Z", "yesterday", "2024-03-01"] {
            let json = Data("{\"at\":\"\(text)\"}".utf8)
            let expected = try? reference.decode(Stamp.self, from: json)
            let actual = try? codec.decode(Stamp.self, from: json)
            #expect(actual?.at == expected?.at, "\(text)")
            if text.hasPrefix("2024-03-01T") { #expect(actual != nil, "\(text) is a valid ISO 8601 date") }
        }
        let bad = Data("{\"at\":\"not a date\"}".utf8)
        #expect(throws: DecodingError.self) { try codec.decode(Stamp.self, from: bad) }
    }

    @Test func encodedEventsReadBackToTheSecond() throws {
        let codec = JSONEventCodec()
        let stamp = Stamp(at: Date(timeIntervalSince1970: 1_709_285_400))
        #expect(try codec.decode(Stamp.self, from: codec.encode(stamp)).at == stamp.at)
    }
}
