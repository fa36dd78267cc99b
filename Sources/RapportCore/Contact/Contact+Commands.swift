import Foundation
public import RapportEventLog

extension Command where A == Contact {
    /// Creates the contact.
    ///
    /// ```swift
    /// try await repository.execute(.create(name: try PersonName(given: "Ada", family: "Lovelace"),
    ///                                      email: "ada@example.com", owner: "user:anna"), on: ContactID(), context: context)
    /// ```
    ///
    /// - Throws: ``CRMError/invalidValue(field:reason:)`` for a blank or too long name (checked
    ///   again, as ``PersonName/init(given:family:)`` checks it), a malformed phone number or
    ///   country code, a malformed owner or a lifecycle stage that is blank, longer than 100
    ///   characters or not on one line; ``CRMError/invalidEmail(_:)`` for a malformed address.
    public static func create(
        name: PersonName, email: String? = nil, phone: String? = nil, defaultCountryCode: String? = nil,
        owner: String? = nil, lifecycleStage: LifecycleStage = .subscriber
    ) -> Self {
        Command(name: "contact.create", target: .new) { _, _ throws(CRMError) in
            let name = try checkedName(name)
            let email = try email.map { (text) throws(CRMError) in try EmailAddress(text) }
            let phone = try phone.map { (text) throws(CRMError) in try PhoneNumber(text, defaultCountryCode: defaultCountryCode) }
            let owner = try owner.map { (id) throws(CRMError) in try validatedPrincipalID(id, field: "owner") }
            let stage = try validatedLifecycleStage(lifecycleStage)
            return [ContactCreated(name: name, email: email, phone: phone, ownerID: owner, lifecycleStage: stage)]
        }
    }

    /// Renames the contact. The name is checked again as ``PersonName/init(given:family:)`` checks it
    /// (a blank name is refused with ``CRMError/invalidValue(field:reason:)``); the same name again
    /// changes nothing.
    public static func rename(to name: PersonName) -> Self {
        Command(name: "contact.rename") { contact, _ throws(CRMError) in
            try contact.ensureActive()
            let name = try checkedName(name)
            return contact.name == name ? [] : [ContactRenamed(from: contact.name, to: name)]
        }
    }

    /// Adds an email address (validated and normalised). Adding one it has already does nothing.
    public static func addEmail(_ text: String) -> Self {
        Command(name: "contact.addEmail") { contact, _ throws(CRMError) in
            try contact.ensureActive()
            let email = try EmailAddress(text)
            return contact.emails.contains(email) ? [] : [ContactEmailAdded(email: email)]
        }
    }

    /// Removes an email address the contact has.
    public static func removeEmail(_ text: String) -> Self {
        Command(name: "contact.removeEmail") { contact, _ throws(CRMError) in
            try contact.ensureActive()
            let email = try EmailAddress(text)
            guard contact.emails.contains(email) else {
                throw .invalidValue(field: "email", reason: "contact \(contact.id) has no address \(email)")
            }
            return [ContactEmailRemoved(email: email)]
        }
    }

    /// Adds a phone number, normalised to E.164.
    public static func addPhone(_ text: String, defaultCountryCode: String? = nil) -> Self {
        Command(name: "contact.addPhone") { contact, _ throws(CRMError) in
            try contact.ensureActive()
            let phone = try PhoneNumber(text, defaultCountryCode: defaultCountryCode)
            return contact.phones.contains(phone) ? [] : [ContactPhoneAdded(phone: phone)]
        }
    }

    /// Removes a phone number the contact has.
    public static func removePhone(_ text: String, defaultCountryCode: String? = nil) -> Self {
        Command(name: "contact.removePhone") { contact, _ throws(CRMError) in
            try contact.ensureActive()
            let phone = try PhoneNumber(text, defaultCountryCode: defaultCountryCode)
            guard contact.phones.contains(phone) else {
                throw .invalidValue(field: "phone", reason: "contact \(contact.id) has no number \(phone)")
            }
            return [ContactPhoneRemoved(phone: phone)]
        }
    }

    /// Sets or clears the job title.
    public static func changeJobTitle(to title: String?) -> Self {
        Command(name: "contact.changeJobTitle") { contact, _ throws(CRMError) in
            try contact.ensureActive()
            let cleaned = try optionalText(title, field: "job title", maximum: 200)
            return cleaned == contact.jobTitle ? [] : [ContactJobTitleChanged(from: contact.jobTitle, to: cleaned)]
        }
    }

    /// Links the contact to a company (its side only; see ``Repository/linkContact(_:to:role:context:)``).
    /// The role is trimmed; a blank one means none.
    ///
    /// - Throws: ``CRMError/invalidValue(field:reason:)`` (field `role`) for a role longer than
    ///   1,000 characters.
    public static func linkToCompany(_ company: CompanyID, role: String? = nil) -> Self {
        Command(name: "contact.linkToCompany") { contact, _ throws(CRMError) in
            try contact.ensureActive()
            let role = try optionalText(role, field: "role", maximum: 1_000)
            if contact.companyID == company && contact.companyRole == role { return [] }
            return [ContactLinkedToCompany(companyID: company, role: role, previousCompanyID: contact.companyID)]
        }
    }

    /// Removes the link to the contact's company, on the contact's side only:
    /// ``Repository/unlinkContactFromCompany(_:context:)`` removes it from the
    /// company too.
    public static func unlinkFromCompany() -> Self {
        Command(name: "contact.unlinkFromCompany") { contact, _ throws(CRMError) in
            try contact.ensureActive()
            guard let company = contact.companyID else {
                throw .invalidTransition(kind: Contact.kind, id: contact.id.description, reason: "it is not linked to a company")
            }
            return [ContactUnlinkedFromCompany(companyID: company)]
        }
    }

    /// Gives the contact to another owner. Allowed on an archived contact
    /// too (not on a merged one: its survivor holds it), so a departing
    /// manager's archived contacts can be handed over.
    public static func assignOwner(_ owner: String) -> Self {
        Command(name: "contact.assignOwner") { contact, _ throws(CRMError) in
            if let survivor = contact.mergedInto { throw .contactMerged(id: contact.id.description, into: survivor.description) }
            let owner = try validatedPrincipalID(owner, field: "owner")
            return contact.owner == owner ? [] : [ContactOwnerAssigned(from: contact.owner, to: owner)]
        }
    }

    /// Moves the contact to another lifecycle stage; the move is recorded with where it came from.
    ///
    /// - Throws: ``CRMError/invalidValue(field:reason:)`` (field `lifecycle stage`) for a stage
    ///   that is blank, longer than 100 characters or not on one line (the name is trimmed).
    public static func moveLifecycleStage(to stage: LifecycleStage) -> Self {
        Command(name: "contact.moveLifecycleStage") { contact, _ throws(CRMError) in
            try contact.ensureActive()
            let stage = try validatedLifecycleStage(stage)
            return contact.lifecycleStage == stage ? [] : [ContactLifecycleStageChanged(from: contact.lifecycleStage, to: stage)]
        }
    }

    /// Records consent given or withdrawn for a channel, with its source and legal basis, at the context's time.
    /// The source and the basis are trimmed.
    ///
    /// - Throws: ``CRMError/invalidValue(field:reason:)`` (field `consent source` or `lawful basis`)
    ///   when one is blank or longer than 1,000 characters.
    public static func recordConsent(_ channel: ConsentChannel, granted: Bool, source: String, lawfulBasis: String) -> Self {
        Command(name: "contact.recordConsent") { contact, context throws(CRMError) in
            try contact.ensureActive()
            let source = try requiredText(source, field: "consent source", maximum: 1_000)
            let lawfulBasis = try requiredText(lawfulBasis, field: "lawful basis", maximum: 1_000)
            return [ContactConsentRecorded(channel: channel, granted: granted, source: source, lawfulBasis: lawfulBasis, at: context.now)]
        }
    }

    /// Sets a typed custom field. A date is kept to the whole second, as every stored date is; setting
    /// the value the field has changes nothing.
    ///
    /// - Throws: ``CRMError/invalidValue(field:reason:)`` for a malformed field name, text longer
    ///   than 10,000 characters, a choice that is blank, longer than 200 characters or not on one
    ///   line (a choice is trimmed), a number that is not a number (NaN), or a date outside the
    ///   years 1900 to 9999.
    public static func setCustomField(_ field: String, _ value: CustomFieldValue) -> Self {
        Command(name: "contact.setCustomField") { contact, _ throws(CRMError) in
            try contact.ensureActive()
            try validateFieldName(field)
            let value = try validatedCustomFieldValue(value, field: field)
            return contact.customFields[field] == value ? [] : [ContactCustomFieldSet(field: field, from: contact.customFields[field], to: value)]
        }
    }

    /// Clears a custom field that is set.
    public static func clearCustomField(_ field: String) -> Self {
        Command(name: "contact.clearCustomField") { contact, _ throws(CRMError) in
            try contact.ensureActive()
            guard let old = contact.customFields[field] else {
                throw .invalidValue(field: field, reason: "the field is not set on contact \(contact.id)")
            }
            return [ContactCustomFieldCleared(field: field, from: old)]
        }
    }

    /// Puts the contact in a segment (a tag for campaigns and reports).
    public static func addToSegment(_ segment: String) -> Self {
        Command(name: "contact.addToSegment") { contact, _ throws(CRMError) in
            try contact.ensureActive()
            try validateFieldName(segment)
            return contact.segments.contains(segment) ? [] : [ContactAddedToSegment(segment: segment)]
        }
    }

    /// Takes the contact out of a segment.
    public static func removeFromSegment(_ segment: String) -> Self {
        Command(name: "contact.removeFromSegment") { contact, _ throws(CRMError) in
            try contact.ensureActive()
            return contact.segments.contains(segment) ? [ContactRemovedFromSegment(segment: segment)] : []
        }
    }

    /// Archives the contact, with an optional reason (trimmed; a blank one means none). Sensitive:
    /// admins only under ``RoleBasedAccessPolicy``'s default rules.
    ///
    /// - Throws: ``CRMError/invalidValue(field:reason:)`` (field `reason`) for a reason longer than
    ///   1,000 characters.
    public static func archive(reason: String? = nil) -> Self {
        Command(name: "contact.archive", isSensitive: true) { contact, _ throws(CRMError) in
            try contact.ensureActive()
            return [ContactArchived(reason: try optionalText(reason, field: "reason", maximum: 1_000))]
        }
    }

    /// Restores an archived contact. Sensitive.
    public static func restore() -> Self {
        Command(name: "contact.restore", isSensitive: true) { contact, _ throws(CRMError) in
            if let survivor = contact.mergedInto { throw .contactMerged(id: contact.id.description, into: survivor.description) }
            guard contact.isArchived else {
                throw .invalidTransition(kind: Contact.kind, id: contact.id.description, reason: "it is not archived")
            }
            return [ContactRestored()]
        }
    }

    /// The duplicate's side of a merge. Use ``Repository/mergeContacts(survivor:duplicate:context:)``.
    static func mergeInto(_ survivor: ContactID) -> Self {
        Command(name: "contact.merge", isSensitive: true) { contact, _ throws(CRMError) in
            try contact.ensureActive()
            guard survivor != contact.id else {
                throw .invalidTransition(kind: Contact.kind, id: contact.id.description, reason: "a contact cannot be merged into itself")
            }
            return [ContactMergedInto(survivor: survivor)]
        }
    }

    /// The survivor's side of a merge.
    static func absorb(_ duplicate: ContactID) -> Self {
        Command(name: "contact.merge", isSensitive: true) { contact, _ throws(CRMError) in
            try contact.ensureActive()
            return [ContactAbsorbed(duplicate: duplicate)]
        }
    }
}

extension Repository {
    /// Merges `duplicate` into `survivor` in one atomic append. Both histories
    /// stay: the duplicate's stream records where it went, the survivor's which
    /// duplicate it absorbed. Later commands to the duplicate are refused with
    /// ``CRMError/contactMerged(id:into:)``.
    ///
    /// ```swift
    /// try await repository.mergeContacts(survivor: ada, duplicate: adaTwice, context: adminContext)
    /// ```
    @discardableResult
    public func mergeContacts(survivor: ContactID, duplicate: ContactID, context: CommandContext) async throws(CRMError) -> AppendResult {
        try await transaction(context: context) { (unit) throws(CRMError) in
            try await unit.execute(.absorb(duplicate), on: survivor)
            try await unit.execute(.mergeInto(survivor), on: duplicate)
        }
    }
}

/// A lifecycle stage as contacts accept it: trimmed, 1 to 100 characters on one line.
func validatedLifecycleStage(_ stage: LifecycleStage) throws(CRMError) -> LifecycleStage {
    LifecycleStage(rawValue: try validatedLabel(stage.rawValue, field: "lifecycle stage", maximum: 100))
}
