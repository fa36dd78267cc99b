import Foundation
import RapportEventLog

// Input checks shared by activities, tasks and campaigns. Each throws a
// ``CRMError`` that names the field and says what is wrong with it.

extension String {
    /// The text without white space and line breaks at either end: the same
    /// as `trimmingCharacters(in: .whitespacesAndNewlines)`. When both ends
    /// are ASCII characters other than white space (nearly every input), the
    /// text is returned as it is, without Foundation's scan (which was most
    /// of the cost of checking an activity's texts).
    var trimmedOfWhitespace: String {
        let utf8 = self.utf8
        if let first = utf8.first, let last = utf8.last, Self.isPlainASCII(first), Self.isPlainASCII(last) { return self }
        return trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// An ASCII byte other than a space, a tab or a line break (U+0009 to U+000D).
    private static func isPlainASCII(_ byte: UInt8) -> Bool {
        byte < 0x80 && byte != 0x20 && !(0x09...0x0D).contains(byte)
    }

    /// Whether the text has at most `maximum` characters; it is not counted
    /// when its UTF-8 bytes are that few already (a character is at least a byte).
    func hasAtMost(_ maximum: Int) -> Bool {
        utf8.count <= maximum || count <= maximum
    }
}

/// `text` trimmed; refused when blank, longer than `maximum` characters, or
/// holding a control character other than a line break or a tab.
func requiredText(_ text: String, field: String, maximum: Int) throws(CRMError) -> String {
    let trimmed = text.trimmedOfWhitespace
    guard !trimmed.isEmpty else { throw .invalidValue(field: field, reason: "it is empty") }
    guard trimmed.hasAtMost(maximum) else { throw .invalidValue(field: field, reason: "it is longer than \(maximum) characters") }
    try refuseControlCharacters(trimmed, field: field)
    return trimmed
}

/// Refuses `text` when it holds a control character other than a line
/// break or a tab (escape sequences, NUL, bidirectional overrides).
func refuseControlCharacters(_ text: String, field: String) throws(CRMError) {
    if holdsRefusedControl(text) { throw .invalidValue(field: field, reason: "it holds a control character") }
}

/// Whether `text` holds a control character ``refuseControlCharacters(_:field:)`` refuses.
func holdsRefusedControl(_ text: String) -> Bool {
    text.unicodeScalars.contains(where: isRefusedControl)
}

private func isRefusedControl(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x09, 0x0A, 0x0D: false
    case 0x00...0x1F, 0x7F...0x9F: true
    // Bidirectional embeddings, overrides and isolates: they reorder what a reader sees.
    case 0x202A...0x202E, 0x2066...0x2069: true
    default: false
    }
}

/// `text` trimmed, nil when nil or blank; refused when longer than `maximum` characters.
func optionalText(_ text: String?, field: String, maximum: Int) throws(CRMError) -> String? {
    guard let trimmed = text?.trimmedOfWhitespace, !trimmed.isEmpty else { return nil }
    guard trimmed.hasAtMost(maximum) else { throw .invalidValue(field: field, reason: "it is longer than \(maximum) characters") }
    try refuseControlCharacters(trimmed, field: field)
    return trimmed
}

/// A short label chosen by the application (a deal contact's role, a
/// lifecycle stage, a custom field's choice): trimmed, 1 to `maximum`
/// characters, on one line, without control characters.
func validatedLabel(_ label: String, field: String, maximum: Int) throws(CRMError) -> String {
    let trimmed = try requiredText(label, field: field, maximum: maximum)
    guard !trimmed.unicodeScalars.contains(where: { CharacterSet.newlines.contains($0) || CharacterSet.controlCharacters.contains($0) }) else {
        throw .invalidValue(field: field, reason: "it holds a line break or a control character")
    }
    return trimmed
}

/// A principal id (an assignee, an owner): trimmed, 1 to 200 characters and
/// at most ``maximumPrincipalIDBytes`` bytes of UTF-8 (so that its
/// `owner:` tag fits a tag's limit), no spaces or control characters, in
/// Unicode normalization form C (as ``Principal/id`` is), so one owner is one
/// key in the read models.
func validatedPrincipalID(_ id: String, field: String) throws(CRMError) -> String {
    let trimmed = TextRules.canonical(id.trimmedOfWhitespace)
    guard !trimmed.isEmpty else { throw .invalidValue(field: field, reason: "it is empty") }
    guard trimmed.count <= 200, !trimmed.unicodeScalars.contains(where: { CharacterSet.whitespacesAndNewlines.contains($0) || CharacterSet.controlCharacters.contains($0) })
    else { throw .invalidValue(field: field, reason: "\"\(id)\" is not a principal id") }
    guard trimmed.utf8.count <= maximumPrincipalIDBytes else {
        throw .invalidValue(field: field, reason: "it is \(trimmed.utf8.count) bytes of UTF-8; the limit is \(maximumPrincipalIDBytes)")
    }
    return trimmed
}

/// The longest principal id an owner may have, in bytes of UTF-8: `owner:`
/// and `actor:` tags hold it after six bytes, within ``Tag/maximumLength``.
let maximumPrincipalIDBytes = Tag.maximumLength - "owner:".utf8.count

/// Whether `kind` is an aggregate kind: 1 to 40 ASCII lower-case letters, digits or
/// `-`, starting with a letter (so that `<kind>:<uuid>` is always a valid tag).
func isValidKind(_ kind: String) -> Bool {
    guard let first = kind.unicodeScalars.first, kind.unicodeScalars.count <= 40, ("a"..."z").contains(first) else { return false }
    return kind.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
}

/// Checks a link's kind. A reference made from parts or decoded has an entity
/// kind already; one made from the ``Identifier`` of an aggregate type whose
/// ``Aggregate/kind`` breaks the rule (a type outside the library) is refused here.
func validatedLink(_ link: EntityRef, field: String = "link") throws(CRMError) -> EntityRef {
    if let problem = EntityRef.problem(withKind: link.kind) { throw .invalidValue(field: field, reason: problem) }
    return link
}

/// Checks every link and drops repeats, keeping the first occurrence's order.
func validatedLinks(_ links: [EntityRef], maximum: Int, field: String = "links") throws(CRMError) -> [EntityRef] {
    var unique: [EntityRef] = []
    for link in links where !unique.contains(link) { unique.append(try validatedLink(link)) }
    guard unique.count <= maximum else { throw .invalidValue(field: field, reason: "there are more than \(maximum) of them") }
    return unique
}

/// The dates activities, tasks and campaigns accept: from 1900 to the end of
/// 9999, the years that ISO 8601 (as the JSON codec writes it) stores exactly.
let acceptedDates = Date(timeIntervalSince1970: -2_208_988_800)...Date(timeIntervalSince1970: 253_402_300_799)

/// `date` to the second; refused outside ``acceptedDates``.
func validatedDate(_ date: Date, field: String) throws(CRMError) -> Date {
    guard acceptedDates.contains(date) else { throw .invalidValue(field: field, reason: "it is not between the years 1900 and 9999") }
    return wholeSeconds(date)
}

/// `date` without its fraction of a second: the JSON codec stores dates to the
/// second, so rules decide on exactly what is stored and replayed.
func wholeSeconds(_ date: Date) -> Date {
    Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
}
