public import Foundation
import RapportEventLog

extension Command where A == Campaign {
    /// Plans a campaign.
    ///
    /// ```swift
    /// try await repository.execute(.create(name: "Spring webinar", channel: .webinar,
    ///                                      budget: try Money(amount: 5000, currency: "EUR"), start: april1, end: may1,
    ///                                      owner: "user:maria"), on: CampaignID(), context: context)
    /// ```
    ///
    /// - Throws: ``CRMError/invalidValue(field:reason:)`` for a blank name, a malformed channel or
    ///   owner, or a period that does not end after it starts; ``CRMError/invalidAmount(_:)`` for a
    ///   budget that is negative or has a malformed currency (``Money``'s fields are mutable, so the
    ///   budget is checked again as ``Money/init(amount:currency:)`` checks it; a lower-case
    ///   currency is stored in upper case).
    public static func create(
        name: String, channel: CampaignChannel, budget: Money, start: Date, end: Date, owner: String? = nil
    ) -> Self {
        Command(name: "campaign.create", target: .new) { _, _ throws(CRMError) in
            let name = try validatedLabel(name, field: "campaign name", maximum: 300)
            let budget = try checkedMoney(budget)
            guard isValidKind(channel.rawValue) else {
                throw .invalidValue(field: "channel", reason: "\"\(channel.rawValue)\" is not a channel name (lower-case letters, digits and -)")
            }
            let period = try CampaignPeriod(start: start, end: end).validated()
            let owner = try owner.map { (id) throws(CRMError) in try validatedPrincipalID(id, field: "owner") }
            return [CampaignCreated(name: name, channel: channel, budget: budget, period: period, ownerID: owner)]
        }
    }

    /// Renames the campaign.
    ///
    /// ```swift
    /// try await repository.execute(.rename(to: "Spring webinar 2025"), on: campaignID, context: context)
    /// ```
    public static func rename(to name: String) -> Self {
        Command(name: "campaign.rename") { campaign, _ throws(CRMError) in
            try campaign.ensureNotCompleted()
            let name = try validatedLabel(name, field: "campaign name", maximum: 300)
            return name == campaign.name ? [] : [CampaignRenamed(from: campaign.name, to: name)]
        }
    }

    /// Changes the budget; the currency stays the one it was planned in. The same budget again
    /// changes nothing.
    ///
    /// ```swift
    /// try await repository.execute(.changeBudget(to: try Money(amount: 7500, currency: "EUR")), on: campaignID, context: context)
    /// ```
    ///
    /// - Throws: ``CRMError/invalidAmount(_:)`` for a budget that is negative, has a malformed
    ///   currency (checked again as ``Money/init(amount:currency:)`` checks it) or another currency
    ///   than the campaign's.
    public static func changeBudget(to budget: Money) -> Self {
        Command(name: "campaign.changeBudget") { campaign, _ throws(CRMError) in
            try campaign.ensureNotCompleted()
            let budget = try checkedMoney(budget)
            guard let old = campaign.budget, old != budget else { return [] }
            guard old.currency == budget.currency else {
                throw .invalidAmount("the budget is in \(old.currency), not \(budget.currency)")
            }
            return [CampaignBudgetChanged(from: old, to: budget)]
        }
    }

    /// Moves the campaign's period; the end must stay after the start.
    ///
    /// ```swift
    /// try await repository.execute(.changePeriod(start: april1, end: may15), on: campaignID, context: context)
    /// ```
    public static func changePeriod(start: Date, end: Date) -> Self {
        Command(name: "campaign.changePeriod") { campaign, _ throws(CRMError) in
            try campaign.ensureNotCompleted()
            let period = try CampaignPeriod(start: start, end: end).validated()
            guard let old = campaign.period, old != period else { return [] }
            return [CampaignPeriodChanged(from: old, to: period)]
        }
    }

    /// Adds contacts to the audience: one event per contact not in it yet.
    ///
    /// ```swift
    /// try await repository.execute(.addContacts([adaID, graceID]), on: campaignID, context: context)
    /// ```
    public static func addContacts(_ contacts: [ContactID]) -> Self {
        Command(name: "campaign.addContacts") { campaign, _ throws(CRMError) in
            try campaign.ensureNotCompleted()
            guard !contacts.isEmpty else { throw .invalidValue(field: "contacts", reason: "there are none") }
            var added = Set<ContactID>()
            return contacts.compactMap { contact in
                guard !campaign.contacts.contains(contact), added.insert(contact).inserted else { return nil }
                return CampaignContactAdded(contactID: contact)
            }
        }
    }

    /// Adds one contact to the audience.
    ///
    /// ```swift
    /// try await repository.execute(.addContact(adaID), on: campaignID, context: context)
    /// ```
    public static func addContact(_ contact: ContactID) -> Self { addContacts([contact]) }

    /// Takes a contact out of the audience; the responses it gave stay.
    ///
    /// ```swift
    /// try await repository.execute(.removeContact(adaID, reason: "asked not to be contacted"), on: campaignID, context: context)
    /// ```
    public static func removeContact(_ contact: ContactID, reason: String? = nil) -> Self {
        Command(name: "campaign.removeContact") { campaign, _ throws(CRMError) in
            try campaign.ensureNotCompleted()
            guard campaign.contacts.contains(contact) else {
                throw .invalidValue(field: "contact", reason: "contact \(contact) is not in campaign \(campaign.id)")
            }
            return [CampaignContactRemoved(contactID: contact, reason: try optionalText(reason, field: "reason", maximum: 1_000))]
        }
    }

    /// Records how a contact in the audience responded, at `at` (the context's
    /// time by default). Only a launched campaign gets responses; a completed
    /// one still does (late clicks and replies count).
    ///
    /// ```swift
    /// try await repository.execute(.recordResponse(.clicked, from: adaID, detail: "https://example.com/offer"),
    ///                              on: campaignID, context: context)
    /// ```
    public static func recordResponse(_ kind: CampaignResponseKind, from contact: ContactID, detail: String? = nil, at: Date? = nil) -> Self {
        Command(name: "campaign.recordResponse") { campaign, context throws(CRMError) in
            try campaign.ensureLaunched()
            guard campaign.contacts.contains(contact) else {
                throw .invalidValue(field: "contact", reason: "contact \(contact) is not in campaign \(campaign.id)")
            }
            let response = CampaignResponse(kind: kind, detail: try optionalText(detail, field: "detail", maximum: 2_000),
                                            at: try validatedDate(at ?? context.now, field: "response date"))
            return [CampaignResponseRecorded(contactID: contact, response: response)]
        }
    }

    /// Credits a lead or a deal to the launched campaign, once: attributing the
    /// same entity twice is refused.
    ///
    /// ```swift
    /// try await repository.execute(.attribute(EntityRef(kind: "deal", id: dealUUID)), on: campaignID, context: context)
    /// ```
    public static func attribute(_ entity: EntityRef) -> Self {
        Command(name: "campaign.attribute") { campaign, _ throws(CRMError) in
            let entity = try validatedLink(entity, field: "attribution")
            guard Campaign.attributableKinds.contains(entity.kind) else {
                throw .invalidValue(field: "attribution", reason: "only leads and deals are attributed to a campaign, not a \(entity.kind)")
            }
            try campaign.ensureLaunched()
            guard !campaign.attributions.contains(entity) else {
                throw .invalidTransition(kind: Campaign.kind, id: campaign.id.description, reason: "\(entity) is already attributed to it")
            }
            return [CampaignAttributed(entity: entity)]
        }
    }

    /// Launches a planned campaign, now.
    ///
    /// ```swift
    /// try await repository.execute(.launch(), on: campaignID, context: context)
    /// ```
    public static func launch() -> Self {
        Command(name: "campaign.launch") { campaign, context throws(CRMError) in
            guard campaign.status == .planned else {
                throw .invalidTransition(kind: Campaign.kind, id: campaign.id.description, reason: "it is already \(campaign.status)")
            }
            return [CampaignLaunched(at: wholeSeconds(context.now))]
        }
    }

    /// Completes an active campaign, now.
    ///
    /// ```swift
    /// try await repository.execute(.complete(), on: campaignID, context: context)
    /// ```
    public static func complete() -> Self {
        Command(name: "campaign.complete") { campaign, context throws(CRMError) in
            try campaign.ensureLaunched()
            try campaign.ensureNotCompleted()
            return [CampaignCompleted(at: wholeSeconds(context.now))]
        }
    }
}
