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

    /// Names, titles and details checked through `requiredText` and
    /// `optionalText`: trimmed, a blank refused (or nil where optional), one
    /// character past the limit refused, with the field named.
    @Test("names, titles and details are trimmed, refused when blank or past their limit")
    func namesTitlesAndDetailsShareTheTextChecks() throws {
        let required: [(String, Int, (String) throws(CRMError) -> String)] = [
            ("company name", 300, { (text) throws(CRMError) in try validatedCompanyName(text) }),
            ("deal title", 300, { (text) throws(CRMError) in try validatedDealTitle(text) }),
            ("pipeline name", 200, { (text) throws(CRMError) in try validatedPipelineName(text) }),
            ("stage name", 100, { (text) throws(CRMError) in try validatedStageName(text) }),
        ]
        for (field, limit, check) in required {
            #expect(try check("\u{A0} Acme \n") == "Acme", "\(field)")
            #expect(try check(String(repeating: "é", count: limit)).count == limit, "\(field) at its limit")
            #expect(throws: CRMError.invalidValue(field: field, reason: "it is empty")) { try check(" \t\n") }
            #expect(throws: CRMError.invalidValue(field: field, reason: "it is longer than \(limit) characters")) {
                try check(String(repeating: "x", count: limit + 1))
            }
        }
        #expect(try validatedDetail(.industry, "  Energy ") == "Energy")
        #expect(try validatedDetail(.industry, "\u{3000}") == nil)
        #expect(try validatedDetail(.domain, " Acme.Example ") == "acme.example")
        #expect(throws: CRMError.invalidValue(field: "industry", reason: "it is longer than 500 characters")) {
            try validatedDetail(.industry, String(repeating: "x", count: 501))
        }

        let contact = Given<Contact>([ContactCreated(
            name: try PersonName(given: "Ada", family: "Lovelace"), email: nil, phone: nil, ownerID: nil, lifecycleStage: .subscriber)])
        contact.when(.changeJobTitle(to: " ")).thenNothing()
        contact.when(.changeJobTitle(to: String(repeating: "x", count: 201)))
            .thenFails(.invalidValue(field: "job title", reason: "it is longer than 200 characters"))
        let grace = try PersonName(given: "Grace", family: "Hopper")
        Given<Lead>([]).when(.capture(name: grace, companyName: " \n", source: .webForm, channel: .webForm))
            .then([LeadCaptured(name: grace, email: nil, phone: nil, companyName: nil, source: .webForm, channel: .webForm, campaign: nil, ownerID: nil)])
        Given<Lead>([]).when(.capture(name: grace, companyName: String(repeating: "x", count: 301), source: .webForm))
            .thenFails(.invalidValue(field: "company name", reason: "it is longer than 300 characters"))
    }
}
