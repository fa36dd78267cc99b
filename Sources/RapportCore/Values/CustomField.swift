public import Foundation

/// The value of a custom field: typed, so reports can sum numbers and sort dates.
///
/// ```swift
/// try await repository.execute(.setCustomField("budget", .number(50_000)), on: contact, context: context)
/// try await repository.execute(.setCustomField("segment", .choice("enterprise")), on: contact, context: context)
/// ```
public enum CustomFieldValue: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Free text; at most 10,000 characters on a contact.
    case text(String)
    /// A number, as an exact decimal; not NaN.
    case number(Decimal)
    /// A date and time; stored to the whole second, between the years 1900 and 9999 (a contact's
    /// `setCustomField` truncates it and refuses other years).
    case date(Date)
    /// Yes or no.
    case flag(Bool)
    /// One of a set of options the application defines: trimmed, 1 to 200
    /// characters on one line (a contact's `setCustomField` refuses others).
    case choice(String)

    /// The value as text: text and choices as they are, a number as `Decimal` prints it, a date in
    /// ISO 8601 (UTC, to the second), a flag as `yes` or `no`.
    public var description: String {
        switch self {
        case .text(let text): return text
        case .number(let number): return "\(number)"
        case .date(let date): return ISO8601DateFormatter().string(from: date)
        case .flag(let flag): return flag ? "yes" : "no"
        case .choice(let choice): return choice
        }
    }
}

/// `value` as it is stored in field `field`: text at most 10,000 characters, a number that is not
/// NaN, a date to the whole second between the years 1900 and 9999 (``validatedDate(_:field:)``, as
/// every other stored date), so the state a command decides equals the state read back.
func validatedCustomFieldValue(_ value: CustomFieldValue, field: String) throws(CRMError) -> CustomFieldValue {
    switch value {
    case .text(let text):
        guard text.count <= 10_000 else { throw .invalidValue(field: field, reason: "the text is longer than 10,000 characters") }
        return value
    case .number(let number):
        guard !number.isNaN else { throw .invalidValue(field: field, reason: "it is not a number") }
        return value
    case .date(let date):
        return .date(try validatedDate(date, field: field))
    case .choice(let choice):
        return .choice(try validatedLabel(choice, field: field, maximum: 200))
    case .flag:
        return value
    }
}

/// Checks a custom field's name: 1 to 64 letters, digits, `_` or `-`.
func validateFieldName(_ name: String) throws(CRMError) {
    guard (1...64).contains(name.count), name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
        throw .invalidValue(field: "custom field name", reason: "\"\(name)\" must be 1 to 64 letters, digits, _ or -")
    }
}
