import Foundation
@testable import RapportCore
import RapportEventLog
import Testing

@Suite("Trimming input texts")
struct TrimmingTests {
    /// Characters at the ends of texts: every ASCII control and space, the
    /// non-ASCII white space and line breaks Foundation trims, and others it keeps.
    static let alphabet: [Character] = (0...0x7F).map { Character(Unicode.Scalar(UInt8($0))) }
        + ["\u{85}", "\u{A0}", "\u{1680}", "\u{2000}", "\u{200A}", "\u{200B}", "\u{2028}", "\u{2029}", "\u{202F}", "\u{205F}",
           "\u{3000}", "\u{FEFF}", "é", "e\u{301}", "\u{301}", "😀", "\r\n", "ß"]

    @Test("trimmedOfWhitespace equals Foundation's trimmingCharacters(in: .whitespacesAndNewlines) on random texts")
    func trimmingMatchesFoundation() {
        var random = SplitMix64(seed: 42)
        var texts = ["", " ", "a", " a ", "\t\n", "a\u{85}", "\u{A0}a", "x\r\n", "\u{3000}", "\u{1C}a\u{1F}", "abc def"]
        for _ in 0..<20_000 {
            let length = Int(random.next() % 6)
            texts.append(String((0..<length).map { _ in Self.alphabet[Int(random.next() % UInt64(Self.alphabet.count))] }))
        }
        for text in texts {
            let expected = text.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(Array(text.trimmedOfWhitespace.utf8) == Array(expected.utf8), "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }

    @Test("hasAtMost counts characters, not bytes")
    func hasAtMostCountsCharacters() {
        #expect("abc".hasAtMost(3))
        #expect(!"abcd".hasAtMost(3))
        #expect("ééé".hasAtMost(3), "six bytes, three characters")
        #expect(!"éééé".hasAtMost(3))
        #expect("e\u{301}e\u{301}".hasAtMost(2), "two characters of two scalars each")
        #expect("".hasAtMost(0))
    }

    @Test("an activity's texts are still trimmed and checked")
    func activityTextsAreTrimmed() throws {
        #expect(try requiredText("  Call back \n", field: "subject", maximum: 20) == "Call back")
        #expect(try optionalText("\u{A0}note\u{2028}", field: "notes", maximum: 20) == "note")
        #expect(try optionalText(" \t ", field: "notes", maximum: 20) == nil)
        #expect(throws: CRMError.invalidValue(field: "subject", reason: "it is empty")) { try requiredText("\u{3000}", field: "subject", maximum: 5) }
        #expect(throws: CRMError.invalidValue(field: "subject", reason: "it is longer than 3 characters")) {
            try requiredText(" abcd ", field: "subject", maximum: 3)
        }
    }
}
