import Foundation
public import RapportEventLog

/// A validated, normalised email address: trimmed, the domain in lower case.
///
/// ```swift
/// let email = try EmailAddress(" Ada@Example.COM ")   // "Ada@example.com"
/// try EmailAddress("not-an-email")                    // throws CRMError.invalidEmail
/// ```
public struct EmailAddress: Hashable, Sendable, ValidatedText, CustomStringConvertible {
    /// The normalised address.
    public let value: String

    /// Validates and normalises `text`.
    ///
    /// - Throws: ``CRMError/invalidEmail(_:)`` unless it is `local@domain.tld`
    ///   with no spaces, a local part of at most 64 bytes and at most 254 bytes in all.
    public init(_ text: String) throws(CRMError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64, trimmed.utf8.count <= 254 else {
            throw .invalidEmail(text)
        }
        let domain = parts[1].lowercased()
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && !$0.hasPrefix("-") && !$0.hasSuffix("-") }),
              domain.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }),
              !parts[0].contains(where: { $0.isWhitespace || $0 == "," || $0 == "<" || $0 == ">" }),
              !parts[0].hasPrefix("."), !parts[0].hasSuffix("."), !parts[0].contains("..")
        else { throw .invalidEmail(text) }
        value = "\(parts[0])@\(domain)"
    }

    /// The normalised address (``value``).
    public var description: String { value }

    /// The normalised address, as it is encoded (`ValidatedText`).
    public var text: String { value }

    /// The same as ``init(_:)``: how a decoded address is checked again.
    public init(validating text: String) throws(CRMError) { try self.init(text) }
}

