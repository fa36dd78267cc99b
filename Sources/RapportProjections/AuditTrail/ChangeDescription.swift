import Foundation
import RapportEventLog

/// Turns an event's payload into field changes.
///
/// Generic rules, from the payload's JSON members:
/// - `from` and `to` are one change of the field named by a `field` member,
///   or by the event type (`DealAmountChanged` → `amount`, `ContactOwnerAssigned`
///   → `owner`, `…Renamed` → `name`);
/// - `fromX` with `toX` or `x` (`fromStage`/`stage`) is one change of `x`;
/// - in removals (`…Removed`, `…Unlinked`, `…RemovedFrom…`) the other members are old values
///   (except `reason`, `at`, `by`);
/// - every other member is a new value.
///
/// A member of the CRM's events naming another entity by its id (`ownerID`,
/// `companyID`, `contactID`, `dealID`, `pipelineID`, `leadID`) is the field
/// without `ID` (`owner`, `company`, `contact`, …):
/// the name the changes of that field use later (`DealOwnerAssigned` →
/// `owner`), so one field name finds a deal's first owner and every owner
/// after.
///
/// Explicit descriptions cover what the generic rules get wrong (a deal's
/// title, the status a won, lost or reopened deal leaves and enters, custom
/// fields, pipeline stages).
enum ChangeDescription {
    static func changes(type: String, payload: Data) -> [FieldChange] {
        guard var members = JSONFields.members(of: payload) else { return [] }
        var changes: [FieldChange] = []
        func take(_ key: String) -> String? {
            guard let index = members.firstIndex(where: { $0.key == key }) else { return nil }
            return members.remove(at: index).value
        }
        func literal(_ text: String) -> String { JSONFields.literal(text) }

        // Explicit descriptions.
        switch type {
        case "DealRenamed":
            changes.append(FieldChange(field: "title", oldValue: take("from"), newValue: take("to")))
        case "DealCurrencyChanged":
            // The amount in another currency: a change of the amount, as `DealAmountChanged` is.
            changes.append(FieldChange(field: "amount", oldValue: take("from"), newValue: take("to")))
        case "DealWon", "DealLost":
            let status = type == "DealWon" ? "won" : "lost"
            let from = type == "DealWon" ? take("fromStage") : take("lostAtStage")
            changes.append(FieldChange(field: "status", oldValue: literal("open"), newValue: literal(status)))
            changes.append(FieldChange(field: "stage", oldValue: from, newValue: take("stage")))
        case "DealReopened":
            changes.append(FieldChange(field: "status", oldValue: take("fromStatus"), newValue: literal("open")))
            changes.append(FieldChange(field: "stage", oldValue: take("fromStage"), newValue: take("toStage")))
        case "ContactLinkedToCompany":
            changes.append(FieldChange(field: "company", oldValue: take("previousCompanyID"), newValue: take("companyID")))
        case "ContactCustomFieldSet", "ContactCustomFieldCleared":
            let name = take("field").flatMap(JSONFields.string) ?? "?"
            changes.append(FieldChange(field: "custom.\(name)", oldValue: take("from"), newValue: take("to")))
        case "PipelineStageRenamed", "PipelineStageProbabilityChanged":
            let key = take("key").flatMap(JSONFields.string) ?? "?"
            let field = type == "PipelineStageRenamed" ? "name" : "probability"
            changes.append(FieldChange(field: "stages.\(key).\(field)", oldValue: take("from"), newValue: take("to")))
        case "PipelineStagesReordered":
            changes.append(FieldChange(field: "stageOrder", oldValue: take("from"), newValue: take("to")))
        case "DealContactRoleChanged":
            let contact = take("contactID").flatMap(JSONFields.string) ?? "?"
            changes.append(FieldChange(field: "contacts.\(contact).role", oldValue: take("from"), newValue: take("to")))
        case "LeadDisqualified", "LeadConverted":
            changes.append(FieldChange(field: "status", oldValue: take("from"), newValue: literal(type == "LeadConverted" ? "converted" : "disqualified")))
        case "TaskCompleted", "TaskCancelled":
            changes.append(FieldChange(field: "status", oldValue: literal("open"), newValue: literal(type == "TaskCompleted" ? "completed" : "cancelled")))
        default: break
        }

        // from / to of one field.
        if members.contains(where: { $0.key == "from" || $0.key == "to" }) {
            let named = members.first(where: { $0.key == "field" }).flatMap { JSONFields.string($0.value) }
            if named != nil { _ = take("field") }
            changes.append(FieldChange(field: named ?? fieldName(of: type), oldValue: take("from"), newValue: take("to")))
        }
        // fromX with toX or x.
        for key in members.map(\.key) where key.count > 4 && key.hasPrefix("from") && key.dropFirst(4).first?.isUppercase == true {
            let rest = key.dropFirst(4)
            let field = rest.prefix(1).lowercased() + rest.dropFirst()
            let newKey = members.contains(where: { $0.key == "to" + rest }) ? "to" + rest
                : members.contains(where: { $0.key == field }) ? field : nil
            guard let newKey else { continue }
            changes.append(FieldChange(field: Self.field(ofMember: field), oldValue: take(key), newValue: take(newKey)))
        }
        // The rest: old values in removals, new values otherwise.
        // A byte search: Foundation's `contains` and the generic `firstRange(of:)`
        // cost more than the rest of this function.
        let removal = occurs("Removed", in: type) || occurs("Unlinked", in: type)
        for (key, value) in members {
            if removal && !["reason", "at", "by"].contains(key) {
                changes.append(FieldChange(field: Self.field(ofMember: key), oldValue: value, newValue: nil))
            } else {
                changes.append(FieldChange(field: Self.field(ofMember: key), oldValue: nil, newValue: value))
            }
        }
        return changes
    }

    /// The field a payload member stands for: a reference by id of the CRM's
    /// events is the field without `ID` (`ownerID` → `owner`); any other
    /// member is its own name (an application's `vatID` stays `vatID`).
    static func field(ofMember key: String) -> String {
        references[key] ?? key
    }

    /// The CRM's payload members that name another entity by its id, and the
    /// field each stands for (the name that field's later changes use).
    static let references = [
        "ownerID": "owner", "companyID": "company", "contactID": "contact",
        "dealID": "deal", "pipelineID": "pipeline", "leadID": "lead",
    ]

    /// Whether `word` occurs in `text`, byte by byte (type names are short).
    static func occurs(_ word: StaticString, in text: String) -> Bool {
        var text = text
        return text.withUTF8 { haystack in
            word.withUTF8Buffer { needle in
                guard needle.count <= haystack.count else { return false }
                next: for start in 0...(haystack.count - needle.count) {
                    for offset in 0..<needle.count where haystack[start + offset] != needle[offset] { continue next }
                    return true
                }
                return false
            }
        }
    }

    /// The field an event type changes: its name without the entity word and
    /// the verb (`DealExpectedCloseDateChanged` → `expectedCloseDate`).
    static func fieldName(of type: String) -> String {
        var rest = Substring(type)
        // Drop the entity word (the first capitalised word).
        if let next = rest.dropFirst().firstIndex(where: \.isUppercase) { rest = rest[next...] }
        switch rest {
        case "Renamed": return "name"
        case "Rescheduled": return "dueDate"
        case "Reassigned": return "assignee"
        default: break
        }
        for verb in ["Changed", "Assigned", "Amended", "Set"] where rest.hasSuffix(verb) && rest.count > verb.count {
            rest = rest.dropLast(verb.count)
            break
        }
        return rest.prefix(1).lowercased() + rest.dropFirst()
    }
}
