import Foundation
public import RapportEventLog

/// A phone number normalised to E.164 form: `+` and 8 to 15 digits.
///
/// Spaces, dots, dashes and parentheses are dropped; a leading `00` becomes
/// `+`. A number without a country code needs `defaultCountryCode`: 1 to 3
/// digits, the first not 0, with or without a leading `+`.
///
/// ```swift
/// try PhoneNumber("+44 (20) 7946-0958")                      // "+442079460958"
/// try PhoneNumber("030 1234567", defaultCountryCode: "49")   // "+49301234567"
/// try PhoneNumber("030 1234567", defaultCountryCode: "4x")   // throws CRMError.invalidValue(field: "country code", …)
/// ```
///
/// Every number this type makes is one that ``init(validating:)`` (how a
/// decoded number is checked) accepts as it is, so a stored number always
/// reads back.
public struct PhoneNumber: Hashable, Sendable, ValidatedText, CustomStringConvertible {
    /// The number in E.164 form.
    public let value: String

    /// Normalises `text`.
    ///
    /// - Throws: ``CRMError/invalidValue(field:reason:)``: field `phone` for letters, a missing
    ///   country code, or a length outside 8 to 15 digits; field `country code` for a
    ///   `defaultCountryCode` that is not 1 to 3 digits (the first not 0), even when `text`
    ///   carries its own.
    public init(_ text: String, defaultCountryCode: String? = nil) throws(CRMError) {
        let countryCode = try defaultCountryCode.map { (code) throws(CRMError) in try Self.countryCode(code) }
        var digits = ""
        var international = false
        for (index, character) in text.trimmingCharacters(in: .whitespaces).enumerated() {
            if character == "+" && index == 0 { international = true; continue }
            if " .-()/".contains(character) { continue }
            guard character.isASCII, character.isNumber else {
                throw .invalidValue(field: "phone", reason: "\"\(text)\" contains \"\(character)\"")
            }
            digits.append(character)
        }
        if !international && digits.hasPrefix("00") {
            international = true
            digits.removeFirst(2)
        }
        if !international {
            guard let countryCode else {
                throw .invalidValue(field: "phone", reason: "\"\(text)\" has no country code")
            }
            if digits.hasPrefix("0") { digits.removeFirst() }
            digits = countryCode + digits
        }
        // The same check a decoded number gets: digits only from here on.
        guard (8...15).contains(digits.utf8.count), !digits.hasPrefix("0") else {
            throw .invalidValue(field: "phone", reason: "\"\(text)\" is not a valid international number")
        }
        value = "+" + digits
    }

    /// `code` as digits: trimmed, without a leading `+`, 1 to 3 ASCII digits, the first not 0.
    static func countryCode(_ code: String) throws(CRMError) -> String {
        var digits = Substring(code.trimmingCharacters(in: .whitespaces))
        if digits.hasPrefix("+") { digits.removeFirst() }
        guard (1...3).contains(digits.utf8.count), digits.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              !digits.hasPrefix("0")
        else { throw .invalidValue(field: "country code", reason: "\"\(code)\" is not 1 to 3 digits without a leading 0") }
        return String(digits)
    }

    /// The number in E.164 form (``value``).
    public var description: String { value }

    /// The number in E.164 form, as it is encoded (`ValidatedText`).
    public var text: String { value }

    /// How a decoded number is checked again: ``init(_:defaultCountryCode:)`` without a default
    /// country code, so the text must carry its own (as E.164 text does).
    public init(validating text: String) throws(CRMError) { try self.init(text) }
}
