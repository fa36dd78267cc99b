/// A person's name, given and family parts.
///
/// ```swift
/// let name = try PersonName(given: "Ada", family: "Lovelace")
/// let split = PersonName(splitting: "Ada King Lovelace")   // given "Ada King", family "Lovelace"
/// ```
public struct PersonName: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The given (first) name, trimmed; may be empty when the family name is not.
    public var given: String
    /// The family name, trimmed; may be empty when the given name is not.
    public var family: String

    /// Creates a name; at least one part must not be blank.
    public init(given: String, family: String) throws(CRMError) {
        let given = given.trimmingCharacters(in: .whitespacesAndNewlines)
        let family = family.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !(given.isEmpty && family.isEmpty) else { throw .invalidValue(field: "name", reason: "it is empty") }
        guard given.count <= 200, family.count <= 200 else { throw .invalidValue(field: "name", reason: "it is longer than 200 characters") }
        self.given = given
        self.family = family
    }

    /// Splits a one-field name at its last space: everything before is the
    /// given name, the last word the family name. Used to read old records.
    public init(splitting full: String) {
        let trimmed = full.trimmingCharacters(in: .whitespacesAndNewlines)
        if let space = trimmed.lastIndex(of: " ") {
            given = String(trimmed[..<space]).trimmingCharacters(in: .whitespaces)
            family = String(trimmed[trimmed.index(after: space)...])
        } else {
            given = trimmed
            family = ""
        }
    }

    /// "Given Family".
    public var full: String { [given, family].filter { !$0.isEmpty }.joined(separator: " ") }
    /// The full name (``full``).
    public var description: String { full }
}

import Foundation
