import Foundation

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
    ///
    /// - Throws: ``CRMError/invalidValue(field:reason:)`` (field `name`) when both parts are blank,
    ///   a part is longer than 200 characters, or holds a line break or a control character.
    public init(given: String, family: String) throws(CRMError) {
        let given = given.trimmedOfWhitespace
        let family = family.trimmedOfWhitespace
        guard !(given.isEmpty && family.isEmpty) else { throw .invalidValue(field: "name", reason: "it is empty") }
        guard given.count <= 200, family.count <= 200 else { throw .invalidValue(field: "name", reason: "it is longer than 200 characters") }
        guard !(given + family).unicodeScalars.contains(where: { CharacterSet.newlines.contains($0) }) else {
            throw .invalidValue(field: "name", reason: "it holds a line break")
        }
        try refuseControlCharacters(given + family, field: "name")
        self.given = given
        self.family = family
    }

    /// Splits a one-field name at its last space: everything before is the
    /// given name, the last word the family name. Used to read old records.
    ///
    /// It does not check the result: a blank `full` gives an empty name, and a part may be longer
    /// than 200 characters. Commands that store a name (creating or renaming a contact, capturing
    /// a lead) check it again and refuse such a name with ``CRMError/invalidValue(field:reason:)``;
    /// call ``init(given:family:)`` with its parts to check it first.
    ///
    /// ```swift
    /// let split = PersonName(splitting: "Ada King Lovelace")
    /// let name = try PersonName(given: split.given, family: split.family)   // throws for a blank name
    /// ```
    public init(splitting full: String) {
        let trimmed = full.trimmedOfWhitespace
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

/// Checks a name again before it is stored, as ``PersonName/init(given:family:)`` does: the parts
/// are mutable and ``PersonName/init(splitting:)`` does not check, so a blank or too long name may
/// reach a command.
func checkedName(_ name: PersonName) throws(CRMError) -> PersonName {
    try PersonName(given: name.given, family: name.family)
}
