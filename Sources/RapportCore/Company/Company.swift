import Foundation
public import RapportEventLog

/// The identity of a company.
public typealias CompanyID = Identifier<Company>

/// A legal entity the company deals with: customer, supplier, partner.
///
/// ```swift
/// let acme = CompanyID()
/// try await repository.execute(.create(name: "Acme GmbH", domain: "acme.example"), on: acme, context: context)
/// try await repository.linkContact(ada, to: acme, role: "CTO", context: context)
/// ```
public struct Company: Aggregate {
    /// The kind: stream ids `company-<uuid>`, tags `company:<uuid>`.
    public static let kind = "company"

    /// The company's identity.
    public let id: CompanyID
    /// False until ``CompanyCreated``.
    public internal(set) var exists = false
    /// The company's name, trimmed, 1 to 300 characters; empty until created.
    public internal(set) var name = ""
    /// Details by field: domain, industry, size, address, tax id; each trimmed and not empty (a field
    /// without a value is missing here).
    public internal(set) var details: [CompanyField: String] = [:]
    /// The parent company; nil when none.
    public internal(set) var parentID: CompanyID?
    /// The owner's principal id; nil when the company has none.
    public internal(set) var owner: String?
    /// Linked contacts and their role at the company (trimmed; empty when none was given).
    public internal(set) var contacts: [ContactID: String] = [:]
    /// Whether the company is archived; it then refuses changes until restored.
    public internal(set) var isArchived = false

    /// A company that was not created yet: the state before any event.
    public init(id: CompanyID) { self.id = id }

    /// The owner for access policies and `owner:` tags (``owner``).
    public var ownerID: String? { owner }

    func ensureActive() throws(CRMError) {
        if isArchived { throw .archived(kind: Self.kind, id: id.description) }
    }

    /// Folds one stored company event into the state; other events are ignored.
    public mutating func apply(_ event: any Event) {
        switch event {
        case let e as CompanyCreated:
            exists = true
            name = e.name
            details = e.details
            owner = e.ownerID
        case let e as CompanyRenamed: name = e.to
        case let e as CompanyFieldChanged: details[e.field] = e.to
        case let e as CompanyParentSet: parentID = e.to
        case let e as CompanyOwnerAssigned: owner = e.to
        case let e as CompanyContactLinked: contacts[e.contactID] = e.role ?? ""
        case let e as CompanyContactUnlinked: contacts[e.contactID] = nil
        case is CompanyArchived: isArchived = true
        case is CompanyRestored: isArchived = false
        default: break
        }
    }

    /// The tag of the contact a link or unlink concerns, and of the old and the new parent when the
    /// parent changes.
    public func extraTags(for event: any Event) -> [Tag] {
        switch event {
        case let e as CompanyContactLinked: return [e.contactID.tag]
        case let e as CompanyContactUnlinked: return [e.contactID.tag]
        case let e as CompanyParentSet: return [e.to, e.from].compactMap { $0?.tag }
        default: return []
        }
    }
}

/// The descriptive fields of a company.
public enum CompanyField: String, Hashable, Sendable, Codable, CaseIterable, CodingKeyRepresentable {
    case domain, industry, size, address, taxID
}

/// A company was recorded, with its name, details and owner.
public struct CompanyCreated: Event {
    /// The type name stored with the event: "CompanyCreated".
    public static let typeName = "CompanyCreated"
    /// The company's name, trimmed, 1 to 300 characters.
    public var name: String
    /// The descriptive fields given, each trimmed and 1 to 500 characters (the domain checked as a
    /// domain name and in lower case); fields given as empty or blank strings are left out.
    public var details: [CompanyField: String]
    /// The owner's principal id (trimmed, no spaces or control characters); nil when the company has none.
    public var ownerID: String?
}

/// The company got another name (old and new).
public struct CompanyRenamed: Event {
    /// The type name stored with the event: "CompanyRenamed".
    public static let typeName = "CompanyRenamed"
    /// The name before.
    public var from: String
    /// The new name, trimmed, 1 to 300 characters.
    public var to: String
}

/// One descriptive field changed, with its old and new value (nil: not set).
public struct CompanyFieldChanged: Event {
    /// The type name stored with the event: "CompanyFieldChanged".
    public static let typeName = "CompanyFieldChanged"
    /// The field that changed.
    public var field: CompanyField
    /// Its value before; nil when it was not set.
    public var from: String?
    /// Its new value, trimmed, 1 to 500 characters (a domain in lower case); nil when it was cleared
    /// (with nil, an empty or a blank value).
    public var to: String?
}

/// The company's parent company was set or cleared (old and new).
public struct CompanyParentSet: Event {
    /// The type name stored with the event: "CompanyParentSet".
    public static let typeName = "CompanyParentSet"
    /// The parent before; nil when there was none.
    public var from: CompanyID?
    /// The new parent, never the company itself; nil when the parent was cleared.
    public var to: CompanyID?
}

/// The company was given to another owner (old and new).
public struct CompanyOwnerAssigned: Event {
    /// The type name stored with the event: "CompanyOwnerAssigned".
    public static let typeName = "CompanyOwnerAssigned"
    /// The previous owner's principal id; nil when the company had none.
    public var from: String?
    /// The new owner's principal id (trimmed, no spaces or control characters).
    public var to: String
}

/// A contact was linked to the company, with their role there.
public struct CompanyContactLinked: Event {
    /// The type name stored with the event: "CompanyContactLinked".
    public static let typeName = "CompanyContactLinked"
    /// The contact linked, or whose role at the company changed.
    public var contactID: ContactID
    /// The contact's role at the company, such as `CTO`: trimmed, at most 1,000 characters; nil when
    /// none (or a blank one) was given.
    public var role: String?
}

/// A contact was unlinked from the company.
public struct CompanyContactUnlinked: Event {
    /// The type name stored with the event: "CompanyContactUnlinked".
    public static let typeName = "CompanyContactUnlinked"
    /// The contact that was linked and no longer is.
    public var contactID: ContactID
}

/// The company was archived; it refuses changes until restored.
public struct CompanyArchived: Event {
    /// The type name stored with the event: "CompanyArchived".
    public static let typeName = "CompanyArchived"
    /// Why: trimmed, at most 1,000 characters; nil when no reason (or a blank one) was given.
    public var reason: String?
}

/// An archived company was restored.
public struct CompanyRestored: Event {
    /// The type name stored with the event: "CompanyRestored".
    public static let typeName = "CompanyRestored"
}

extension Company {
    /// The current version of every company event type.
    public static let eventTypes: [any Event.Type] = [
        CompanyCreated.self, CompanyRenamed.self, CompanyFieldChanged.self, CompanyParentSet.self,
        CompanyOwnerAssigned.self, CompanyContactLinked.self, CompanyContactUnlinked.self,
        CompanyArchived.self, CompanyRestored.self,
    ]
}

func validatedCompanyName(_ name: String) throws(CRMError) -> String {
    try validatedLabel(name, field: "company name", maximum: 300)
}

/// A detail as it is stored: trimmed, nil when blank (no value), at most 500 characters; a domain
/// checked as a domain name and in lower case.
func validatedDetail(_ field: CompanyField, _ value: String) throws(CRMError) -> String? {
    guard let trimmed = try optionalText(value, field: field.rawValue, maximum: 500) else { return nil }
    if field == .domain {
        let lower = trimmed.lowercased()
        let labels = lower.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty }),
              lower.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" })
        else { throw .invalidValue(field: "domain", reason: "\"\(value)\" is not a domain name") }
        return lower
    }
    return trimmed
}

extension Command where A == Company {
    /// Creates the company. Details are trimmed; an empty or blank one is left out.
    ///
    /// ```swift
    /// try await repository.execute(.create(name: "Acme GmbH", details: [.domain: "acme.example", .industry: "Machinery"],
    ///                                      owner: "user:anna"), on: CompanyID(), context: context)
    /// ```
    ///
    /// - Throws: ``CRMError/invalidValue(field:reason:)`` for a blank name or one longer than 300
    ///   characters, a detail longer than 500 characters, a malformed domain or owner.
    public static func create(name: String, details: [CompanyField: String] = [:], owner: String? = nil) -> Self {
        Command(name: "company.create", target: .new) { _, _ throws(CRMError) in
            var checked: [CompanyField: String] = [:]
            for (field, value) in details { checked[field] = try validatedDetail(field, value) }
            let owner = try owner.map { (id) throws(CRMError) in try validatedPrincipalID(id, field: "owner") }
            return [CompanyCreated(name: try validatedCompanyName(name), details: checked, ownerID: owner)]
        }
    }

    /// Convenience for ``create(name:details:owner:)`` with a domain.
    public static func create(name: String, domain: String, owner: String? = nil) -> Self {
        create(name: name, details: [.domain: domain], owner: owner)
    }

    /// Renames the company (trimmed, 1 to 300 characters). The same name again changes nothing.
    public static func rename(to name: String) -> Self {
        Command(name: "company.rename") { company, _ throws(CRMError) in
            try company.ensureActive()
            let name = try validatedCompanyName(name)
            return name == company.name ? [] : [CompanyRenamed(from: company.name, to: name)]
        }
    }

    /// Sets (or, with nil, an empty or a blank string, clears) a descriptive field. The value is
    /// trimmed; the value the field has changes nothing.
    public static func change(_ field: CompanyField, to value: String?) -> Self {
        Command(name: "company.change") { company, _ throws(CRMError) in
            try company.ensureActive()
            let new = try value.flatMap { (text) throws(CRMError) -> String? in try validatedDetail(field, text) }
            return company.details[field] == new ? [] : [CompanyFieldChanged(field: field, from: company.details[field], to: new)]
        }
    }

    /// Sets or clears the parent company. A company cannot be its own parent: that is refused with
    /// ``CRMError/invalidTransition(kind:id:reason:)``.
    ///
    /// Longer cycles (A's parent B, B's parent A) are not refused: a command sees only its own
    /// company, not the parent's chain. Callers that need a tree must check the chain themselves
    /// before setting a parent (load the parent and walk its ``parentID``s).
    ///
    /// ```swift
    /// try await repository.execute(.setParent(acmeHolding), on: acme, context: context)
    /// try await repository.execute(.setParent(nil), on: acme, context: context)   // no parent
    /// ```
    public static func setParent(_ parent: CompanyID?) -> Self {
        Command(name: "company.setParent") { company, _ throws(CRMError) in
            try company.ensureActive()
            guard parent != company.id else {
                throw .invalidTransition(kind: Company.kind, id: company.id.description, reason: "a company cannot be its own parent")
            }
            return parent == company.parentID ? [] : [CompanyParentSet(from: company.parentID, to: parent)]
        }
    }

    /// Gives the company to another owner, a principal id (trimmed, no spaces or control characters).
    /// The same owner again changes nothing. Allowed on an archived company
    /// too, so a departing manager's archived companies can be handed over.
    public static func assignOwner(_ owner: String) -> Self {
        Command(name: "company.assignOwner") { company, _ throws(CRMError) in
            let owner = try validatedPrincipalID(owner, field: "owner")
            return company.owner == owner ? [] : [CompanyOwnerAssigned(from: company.owner, to: owner)]
        }
    }

    /// The company's side of a contact link; see ``Repository/linkContact(_:to:role:context:)``.
    /// The role is trimmed; a blank one means none.
    ///
    /// - Throws: ``CRMError/invalidValue(field:reason:)`` (field `role`) for a role longer than
    ///   1,000 characters.
    public static func linkContact(_ contact: ContactID, role: String? = nil) -> Self {
        Command(name: "company.linkContact") { company, _ throws(CRMError) in
            try company.ensureActive()
            let role = try optionalText(role, field: "role", maximum: 1_000)
            return company.contacts[contact] == (role ?? "") ? [] : [CompanyContactLinked(contactID: contact, role: role)]
        }
    }

    /// The company's side of removing a contact (``Repository/linkContact(_:to:role:context:)`` runs it on
    /// the old company when a contact moves); refused when the contact is not linked.
    public static func unlinkContact(_ contact: ContactID) -> Self {
        Command(name: "company.unlinkContact") { company, _ throws(CRMError) in
            try company.ensureActive()
            guard company.contacts[contact] != nil else {
                throw .invalidTransition(kind: Company.kind, id: company.id.description, reason: "contact \(contact) is not linked")
            }
            return [CompanyContactUnlinked(contactID: contact)]
        }
    }

    /// Archives the company, with an optional reason (trimmed; a blank one means none); it refuses
    /// changes until restored. Sensitive: admins only under ``RoleBasedAccessPolicy``'s default rules.
    ///
    /// - Throws: ``CRMError/invalidValue(field:reason:)`` (field `reason`) for a reason longer than
    ///   1,000 characters.
    public static func archive(reason: String? = nil) -> Self {
        Command(name: "company.archive", isSensitive: true) { company, _ throws(CRMError) in
            try company.ensureActive()
            return [CompanyArchived(reason: try optionalText(reason, field: "reason", maximum: 1_000))]
        }
    }

    /// Restores an archived company. Sensitive.
    public static func restore() -> Self {
        Command(name: "company.restore", isSensitive: true) { company, _ throws(CRMError) in
            guard company.isArchived else {
                throw .invalidTransition(kind: Company.kind, id: company.id.description, reason: "it is not archived")
            }
            return [CompanyRestored()]
        }
    }
}

extension Repository {
    /// Links a contact to a company with a role, on both sides, in one atomic append. The role is
    /// trimmed (a blank one means none); one longer than 1,000 characters is refused with
    /// ``CRMError/invalidValue(field:reason:)`` and nothing is appended.
    ///
    /// ```swift
    /// try await repository.linkContact(ada, to: acme, role: "decision maker", context: context)
    /// ```
    @discardableResult
    public func linkContact(_ contact: ContactID, to company: CompanyID, role: String? = nil, context: CommandContext) async throws(CRMError) -> AppendResult {
        try await transaction(context: context) { (unit) throws(CRMError) in
            try await unit.linkContact(contact, to: company, role: role)
        }
    }

    /// Unlinks a contact from its company on both sides, in one atomic
    /// append: the contact's `ContactUnlinkedFromCompany` and the company's
    /// `CompanyContactUnlinked` (when the company lists the contact). Running
    /// ``Command/unlinkFromCompany()`` alone changes the contact's side only.
    ///
    /// ```swift
    /// try await repository.unlinkContactFromCompany(ada, context: context)
    /// ```
    ///
    /// - Throws: ``CRMError/invalidTransition(kind:id:reason:)`` when the contact is linked to no
    ///   company; what either side's command throws (an archived contact or company).
    @discardableResult
    public func unlinkContactFromCompany(_ contact: ContactID, context: CommandContext) async throws(CRMError) -> AppendResult {
        try await transaction(context: context) { (unit) throws(CRMError) in
            try await unit.unlinkContactFromCompany(contact)
        }
    }
}

extension UnitOfWork {
    /// Unlinks a contact from its company on both sides within this unit of
    /// work (see ``Repository/unlinkContactFromCompany(_:context:)``). All or
    /// nothing: when it throws, the unit holds none of it.
    public mutating func unlinkContactFromCompany(_ contact: ContactID) async throws(CRMError) {
        try await allOrNothing { (unit) throws(CRMError) in
            let company = try await unit.load(contact).companyID
            try await unit.execute(.unlinkFromCompany(), on: contact)
            if let company, try await unit.load(company).contacts[contact] != nil {
                try await unit.execute(.unlinkContact(contact), on: company)
            }
        }
    }

    /// Links a contact to a company on both sides within this unit of work
    /// (unlinking it from its previous company when that company lists it
    /// and is not archived: an archived company keeps its list as it was).
    /// All or nothing: when it throws, the unit holds none of it.
    public mutating func linkContact(_ contact: ContactID, to company: CompanyID, role: String? = nil) async throws(CRMError) {
        try await allOrNothing { (unit) throws(CRMError) in
            let current = try await unit.load(contact)
            if let previous = current.companyID, previous != company {
                try await unit.unlinkFromPreviousCompany(contact, previous)
            }
            try await unit.execute(.linkToCompany(company, role: role), on: contact)
            try await unit.execute(.linkContact(contact, role: role), on: company)
        }
    }
}

extension UnitOfWork {
    /// Takes `contact` off the list of `previous`, its company until now,
    /// when that list holds it and the company is not archived. A contact
    /// linked on its own side only (`Command.linkToCompany`), or whose
    /// company was archived since, moves all the same.
    mutating func unlinkFromPreviousCompany(_ contact: ContactID, _ previous: CompanyID) async throws(CRMError) {
        let company = try await load(previous)
        guard company.contacts[contact] != nil, !company.isArchived else { return }
        try await execute(.unlinkContact(contact), on: previous)
    }
}

/// Snapshots store the stored properties as JSON (see `docs/snapshots.md`).
extension Company: SnapshottableAggregate, Equatable {
    /// Raise with any change to the stored properties or to `apply(_:)`.
    public static let snapshotSchemaVersion: UInt32 = 1
}
