import Foundation
public import RapportEventLog

/// A phone number normalised to E.164 form: `+` and 8 to 15 digits.
///
/// Spaces, dots, dashes and parentheses are dropped; a leading `00` becomes
/// `+`. A number without a country code needs `defaultCountryCode`.
///
/// ```swift
/// try PhoneNumber("+44 (20) 7946-0958")                      // "+442079460958"
/// try PhoneNumber("030 1234567", defaultCountryCode: "49")   // "+49301234567"
/// ```
public struct PhoneNumber: Hashable, Sendable, ValidatedText, CustomStringConvertible {
    /// The number in E.164 form.
    public let value: String

    /// Normalises `text`.
    ///
    /// - Throws: ``CRMError/invalidValue(field:reason:)`` for letters, a missing
    ///   country code, or a length outside 8 to 15 digits.
    public init(_ text: String, defaultCountryCode: String? = nil) throws(CRMError) {
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
            guard let code = defaultCountryCode else {
                throw .invalidValue(field: "phone", reason: "\"\(text)\" has no country code")
            }
            if digits.hasPrefix("0") { digits.removeFirst() }
            digits = code + digits
        }
        guard (8...15).contains(digits.count), !digits.hasPrefix("0") else {
            throw .invalidValue(field: "phone", reason: "\"\(text)\" is not a valid international number")
        }
        value = "+" + digits
    }

    /// The number in E.164 form (``value``).
    public var description: String { value }

    /// The number in E.164 form, as it is encoded (`ValidatedText`).
    public var text: String { value }

    /// How a decoded number is checked again: ``init(_:defaultCountryCode:)`` without a default
    /// country code, so the text must carry its own (as E.164 text does).
    public init(validating text: String) throws(CRMError) { try self.init(text) }
}
