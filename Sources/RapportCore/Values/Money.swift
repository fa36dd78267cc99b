public import Foundation

/// An amount of money in one currency, as a `Decimal` (never a `Double`).
///
/// ```swift
/// let amount = try Money(amount: Decimal(string: "12500.50")!, currency: "EUR")
/// ```
public struct Money: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The amount; never negative.
    public var amount: Decimal
    /// The ISO 4217 code, three upper-case letters.
    public var currency: String

    /// Creates an amount.
    ///
    /// - Throws: ``CRMError/invalidAmount(_:)`` for a negative amount or a malformed currency code.
    public init(amount: Decimal, currency: String) throws(CRMError) {
        guard amount >= 0, !amount.isNaN else { throw .invalidAmount("\(amount) is negative") }
        // Checked before upper-casing, which turns "ß" into "SS" and "ﬃ" into "FFI".
        guard currency.utf8.count == 3, currency.utf8.allSatisfy({ ($0 | 0x20) >= UInt8(ascii: "a") && ($0 | 0x20) <= UInt8(ascii: "z") }) else {
            throw .invalidAmount("\"\(currency)\" is not a currency code")
        }
        let code = currency.uppercased()
        self.amount = amount
        self.currency = code
    }

    /// An amount already in canonical form, read back from storage: a
    /// non-negative, non-NaN `amount` and three upper-case ASCII letters,
    /// which the caller has checked (``isCanonical(amount:currency:)``).
    package init(canonicalAmount amount: Decimal, currency: String) {
        self.amount = amount
        self.currency = currency
    }

    /// Whether `amount` and `currency` are what ``init(amount:currency:)``
    /// stores, so they need no conversion: cheaper than that initializer
    /// (no upper-casing, no `Character` walk).
    package static func isCanonical(amount: Decimal, currency: String) -> Bool {
        guard !amount.isSignMinus || amount.isZero, !amount.isNaN, currency.utf8.count == 3 else { return false }
        return currency.utf8.allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
    }

    /// The amount as `Decimal` prints it and the currency code, such as `12500.5 EUR`.
    public var description: String { "\(amount) \(currency)" }
}

/// Checks an amount again before it is stored (deal amounts, campaign budgets): `Money`'s fields
/// are mutable, so a negative amount or a malformed currency may reach a command.
func checkedMoney(_ money: Money) throws(CRMError) -> Money {
    try Money(amount: money.amount, currency: money.currency)
}
