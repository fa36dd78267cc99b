import Foundation
@testable import RapportCore
import RapportEventLog
import Testing

/// The value types build only what reading them back accepts: for any input,
/// either construction throws, or the value goes through the JSON codec (as
/// a stored payload does) and comes back equal.
@Suite("Values")
struct ValueTests {
    /// `event` encoded and decoded by the store's codec.
    func roundTrip<E: Event>(_ event: E) throws -> E {
        let codec = JSONEventCodec()
        return try codec.decode(E.self, from: try codec.encode(event))
    }

    /// `count` strings of up to `length` characters drawn from `alphabet`, the same on every run.
    func samples(_ alphabet: [String], count: Int, length: ClosedRange<Int>, seed: UInt64) -> [String] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            (0..<Int.random(in: length, using: &random)).map { _ in alphabet.randomElement(using: &random)! }.joined()
        }
    }

    // MARK: phone numbers

    static let countryCodes: [String?] = [
        nil, "49", "1", "44", "999", "+49", " 49", "4x", "049", "0", "", "1234", "+", "++49", "-49", "4 9", "49\n", "\u{664}\u{669}", "4\u{301}9",
    ]

    @Test func phoneNumbersAreBuiltOnlyAsTheyDecode() throws {
        let digits = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
        let alphabet = digits + digits + digits + [" ", "+", "-", "(", ")", ".", "/", "a", "\u{663}", "\n", "\u{301}", "00"]
        let texts = ["030 1234567", "+49 30 1234567", "0049 30 1234567", "1234567", "(030) 12-34-567", "", "0", "+", "12345678901234567"]
            + samples(alphabet, count: 400, length: 0...18, seed: 7)
        var built = 0
        for text in texts {
            for code in Self.countryCodes {
                guard let phone = try? PhoneNumber(text, defaultCountryCode: code) else { continue }
                built += 1
                let value = phone.value
                #expect(value.first == "+" && (9...16).contains(value.utf8.count) && !value.hasPrefix("+0"), "\(text) \(code ?? "nil") → \(value)")
                #expect(value.dropFirst().allSatisfy { $0.isASCII && $0.isNumber }, "\(text) \(code ?? "nil") → \(value)")
                #expect(try PhoneNumber(validating: value) == phone, "\(text) \(code ?? "nil") → \(value)")
                #expect(try roundTrip(ContactPhoneAdded(phone: phone)).phone == phone, "\(text) \(code ?? "nil") → \(value)")
            }
        }
        #expect(built > 100)
    }

    @Test func aDefaultCountryCodeIsOneToThreeDigits() throws {
        #expect(try PhoneNumber("030 1234567", defaultCountryCode: "49").value == "+49301234567")
        #expect(try PhoneNumber("030 1234567", defaultCountryCode: "+49").value == "+49301234567")
        #expect(try PhoneNumber("030 1234567", defaultCountryCode: " 49 ").value == "+49301234567")
        for code in ["4x", "", "049", "1234", "++49", "+", " ", "\u{664}\u{669}", "4 9"] {
            #expect(throws: CRMError.invalidValue(field: "country code", reason: "\"\(code)\" is not 1 to 3 digits without a leading 0")) {
                try PhoneNumber("030 1234567", defaultCountryCode: code)
            }
            // Refused even when the number has its own code: a bad input is never ignored.
            #expect(throws: CRMError.invalidValue(field: "country code", reason: "\"\(code)\" is not 1 to 3 digits without a leading 0")) {
                try PhoneNumber("+49 30 1234567", defaultCountryCode: code)
            }
        }
    }

    @Test func aContactOrLeadWithABadCountryCodeStoresNothing() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        let ada = try PersonName(given: "Ada", family: "Lovelace")
        await #expect(throws: CRMError.invalidValue(field: "country code", reason: "\"4x\" is not 1 to 3 digits without a leading 0")) {
            try await repository.execute(.create(name: ada, phone: "030 1234567", defaultCountryCode: "4x"), on: ContactID(), context: context())
        }
        await #expect(throws: CRMError.invalidValue(field: "country code", reason: "\"+\" is not 1 to 3 digits without a leading 0")) {
            try await repository.execute(.capture(name: ada, phone: "030 1234567", defaultCountryCode: "+", source: .phone), on: LeadID(),
                                         context: context())
        }
        #expect(try await store.headPosition() == 0)
        // A number with a good default code reads back as it was decided.
        let contact = ContactID()
        try await repository.execute(.create(name: ada, phone: "030 1234567", defaultCountryCode: "+49"), on: contact, context: context())
        try await repository.execute(.addPhone("(0)20 7946 0958", defaultCountryCode: "44"), on: contact, context: context())
        #expect(try await repository.load(contact).state.phones.map(\.value) == ["+49301234567", "+442079460958"])
    }

    // MARK: email addresses

    @Test func emailAddressesAreBuiltOnlyAsTheyDecode() throws {
        let alphabet = ["a", "Z", "x", "1", "İ", "\u{212A}", "ß", "é", "e\u{301}", "@", "@", ".", ".", "-", "_", "+", " ", ",", "\u{301}", "\n"]
        var texts = samples(alphabet, count: 600, length: 1...24, seed: 11)
        var random = SplitMix64(seed: 12)
        let letters = ["a", "B", "İ", "\u{212A}", "Ä", "ẞ", "ǅ", "1", "-"]
        for _ in 0..<600 {
            func part(_ length: ClosedRange<Int>) -> String {
                (0..<Int.random(in: length, using: &random)).map { _ in letters.randomElement(using: &random)! }.joined()
            }
            texts.append("\(part(1...64))@\(part(1...120)).\(part(2...6))")
        }
        // Lower-casing "İ" gives "i̇", one byte longer: 254 bytes as given, 378 as stored.
        let lengthened = "a@" + String(repeating: "İ", count: 124) + ".de"
        texts.append(lengthened)
        var built = 0
        for text in texts {
            guard let email = try? EmailAddress(text) else { continue }
            built += 1
            #expect(email.value.utf8.count <= 254, "\(text) → \(email.value)")
            #expect(try EmailAddress(validating: email.value) == email, "\(text) → \(email.value)")
            #expect(try roundTrip(ContactEmailAdded(email: email)).email == email, "\(text) → \(email.value)")
        }
        #expect(built > 100)
        #expect(throws: CRMError.invalidEmail(lengthened)) { try EmailAddress(lengthened) }
    }

    @Test("control characters, line breaks in names and letters that upper-case into ASCII are refused in new input")
    func controlCharactersAndSmuggledLettersAreRefused() throws {
        for text in ["ada\u{1B}[2J@example.com", "ada\u{0}@example.com", "ad\u{202E}a@example.com", "ada\u{7F}@example.com"] {
            #expect(throws: CRMError.invalidEmail(text)) { try EmailAddress(text) }
            // An address stored before the rule still reads back.
            #expect(try EmailAddress(validating: text).value == text)
        }
        // Upper-casing turned these into "SSD" and "FFI".
        for currency in ["ßd", "ﬃ", "ÄBC", "e\u{301}u"] {
            #expect(throws: CRMError.self, "\(currency)") { try Money(amount: 1, currency: currency) }
        }
        #expect(try Money(amount: 1, currency: "eur").currency == "EUR")
        #expect(throws: CRMError.invalidValue(field: "name", reason: "it holds a control character")) {
            try PersonName(given: "Ada\u{1B}[2J", family: "Lovelace")
        }
        #expect(throws: CRMError.invalidValue(field: "name", reason: "it holds a line break")) { try PersonName(given: "Ada", family: "Love\nlace") }

        // One-line names and titles refuse line breaks and control characters; texts refuse control characters only.
        Given<Pipeline>([]).when(.define(name: "Sales\u{0}", stages: salesStages))
            .thenFails(.invalidValue(field: "pipeline name", reason: "it holds a control character"))
        var stages = salesStages
        stages[0].name = "New\nLead"
        Given<Pipeline>([]).when(.define(name: "Sales", stages: stages))
            .thenFails(.invalidValue(field: "stage name", reason: "it holds a line break or a control character"))
        Given<Company>([]).when(.create(name: "Acme\u{202E}"))
            .thenFails(.invalidValue(field: "company name", reason: "it holds a control character"))
        let ada = EntityRef(ContactID())
        Given<Activity>([]).when(.logNote("line one\u{1B}[2J", links: [ada]))
            .thenFails(.invalidValue(field: "text", reason: "it holds a control character"))
        if case .failure(let error) = Given<Activity>([]).when(.logNote("line one\nline two\tand a tab", links: [ada])).outcome {
            Issue.record("a note with a line break and a tab was refused: \(error)")
        }
    }

    // MARK: money, names, custom fields

    @Test func moneyIsBuiltOnlyAsItDecodes() throws {
        var random = SplitMix64(seed: 5)
        var amounts = ["0", "1", "0.01", "12500.50", "-0", "-1", "99999999999999999999999999999999999999", "0.000000000000000000000000000001",
                       "123456789012345678901234567890.12345678", "1e100", "1e-100"].compactMap { Decimal(string: $0) }
        for _ in 0..<300 {
            let digits = (0..<Int.random(in: 1...38, using: &random)).map { _ in String(Int.random(in: 0...9, using: &random)) }.joined()
            amounts.append(Decimal(sign: .plus, exponent: Int.random(in: -40...40, using: &random), significand: Decimal(string: digits)!))
        }
        amounts.append(.nan)
        let currencies = ["EUR", "eur", "UsD", "EU", "EURO", "€UR", "ÄBC", "", "E1R"]
        var built = 0
        for amount in amounts {
            for currency in currencies {
                guard let money = try? Money(amount: amount, currency: currency) else { continue }
                built += 1
                #expect(Money.isCanonical(amount: money.amount, currency: money.currency), "\(amount) \(currency)")
                #expect(try roundTrip(CampaignBudgetChanged(from: money, to: money)).to == money, "\(amount) \(currency)")
            }
        }
        #expect(built > 300)
    }

    @Test func namesAreBuiltOnlyAsTheyDecode() throws {
        let alphabet = ["a", "Z", " ", "  ", "\n", "é", "e\u{301}", "\u{301}", "-", "'", "İ"]
        for text in samples(alphabet, count: 300, length: 0...12, seed: 3) {
            let split = PersonName(splitting: text)
            #expect(try roundTrip(ContactRenamed(from: nil, to: split)).to == split, "\(text)")
            guard let name = try? PersonName(given: split.given, family: text) else { continue }
            #expect(try roundTrip(ContactRenamed(from: nil, to: name)).to == name, "\(text)")
        }
        // Splitting does not check: a blank one-field name splits into an empty name,
        // which PersonName(given:family:) refuses.
        #expect(PersonName(splitting: "  ") == PersonName(unchecked: "", ""))
    }

    @Test func customFieldValuesAreStoredAsTheyDecode() throws {
        var contact = Contact(id: ContactID())
        contact.apply(ContactCreated(name: try PersonName(given: "Ada", family: "Lovelace"), email: nil, phone: nil, ownerID: nil,
                                     lifecycleStage: .subscriber))
        let values: [CustomFieldValue] = [
            .text("x"), .number(Decimal(string: "12.5")!), .number(.nan), .flag(true), .choice("gold"),
            .date(Date(timeIntervalSince1970: 1_700_000_000.999)), .date(Date(timeIntervalSince1970: -2_208_988_800)),
            .date(Date(timeIntervalSince1970: 253_402_300_799)), .date(Date(timeIntervalSince1970: -0.5)),
            .date(Date(timeIntervalSince1970: -2_208_988_800.5)), .date(.distantPast), .date(Date(timeIntervalSince1970: 1e15)),
        ]
        var built = 0
        for value in values {
            guard let events = try? Command<Contact>.setCustomField("f", value).decide(contact, context()),
                  let set = events.first as? ContactCustomFieldSet else { continue }
            built += 1
            #expect(try roundTrip(set).to == set.to, "\(value)")
        }
        #expect(built == 8)
    }
}

extension PersonName {
    /// A name with these parts exactly, as a decoded payload may hold it.
    init(unchecked given: String, _ family: String) {
        self = PersonName(splitting: "x")
        self.given = given
        self.family = family
    }
}
