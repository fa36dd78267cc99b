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
    ///   with no spaces or control characters, a local part of at most 64 bytes and at most 254 bytes in all (once
    ///   normalised). Every address it makes is accepted as it is by ``init(validating:)``, so a
    ///   stored address always reads back.
    public init(_ text: String) throws(CRMError) {
        // Control characters (an escape sequence, NUL, a bidirectional override) are refused in
        // new input only: a stored address is read back by the rules it was stored under.
        guard !holdsRefusedControl(text) else { throw .invalidEmail(text) }
        try self.init(checking: text)
    }

    private init(checking text: String) throws(CRMError) {
        let trimmed = text.trimmedOfWhitespace
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64 else { throw .invalidEmail(text) }
        let domain = parts[1].lowercased()
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && !$0.hasPrefix("-") && !$0.hasSuffix("-") }),
              domain.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }),
              !parts[0].contains(where: { $0.isWhitespace || $0 == "," || $0 == "<" || $0 == ">" }),
              !parts[0].hasPrefix("."), !parts[0].hasSuffix("."), !parts[0].contains("..")
        else { throw .invalidEmail(text) }
        // The limit applies to the address as stored: lower-casing may lengthen the domain
        // ("İ" becomes "i̇"), and a decoded address is checked again as it is.
        let value = "\(parts[0])@\(domain)"
        guard value.utf8.count <= 254 else { throw .invalidEmail(text) }
        self.value = value
    }

    /// The normalised address (``value``).
    public var description: String { value }

    /// The normalised address, as it is encoded (`ValidatedText`).
    public var text: String { value }

    /// How a decoded address is checked again: as ``init(_:)`` checks, except
    /// for control characters, which are refused in new input only (so an
    /// address stored before that rule still reads back).
    public init(validating text: String) throws(CRMError) { try self.init(checking: text) }
}

