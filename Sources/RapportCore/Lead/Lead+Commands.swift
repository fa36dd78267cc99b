public import Foundation
public import RapportEventLog

extension Command where A == Lead {
    /// Captures a lead as given. It needs at least a name, an email address or
    /// a phone number; the name is checked again as ``PersonName/init(given:family:)``
    /// checks it (a blank name is refused, not taken as none), the email is validated
    /// and the phone normalised to E.164. The channel defaults to the context's; a
    /// campaign must be an ``EntityRef`` of kind `campaign`.
    ///
    /// ```swift
    /// try await repository.execute(.capture(name: try PersonName(given: "Grace", family: "Hopper"), email: "grace@navy.example",
    ///                                       companyName: "Navy", source: .campaign,
    ///                                       campaign: EntityRef(kind: "campaign", id: springLaunch)), on: LeadID(), context: context)
    /// ```
    public static func capture(
        name: PersonName?, email: String? = nil, phone: String? = nil, defaultCountryCode: String? = nil,
        companyName: String? = nil, source: LeadSource, channel: Channel? = nil, campaign: EntityRef? = nil, owner: String? = nil
    ) -> Self {
        Command(name: "lead.capture", target: .new) { _, context throws(CRMError) in
            let name = try name.map { (name) throws(CRMError) in try checkedName(name) }
            let email = try email.map { (text) throws(CRMError) in try EmailAddress(text) }
            let phone = try phone.map { (text) throws(CRMError) in try PhoneNumber(text, defaultCountryCode: defaultCountryCode) }
            guard name != nil || email != nil || phone != nil else {
                throw .invalidValue(field: "lead", reason: "it needs a name, an email address or a phone number")
            }
            // Checked as a company's name is, so that converting the lead can create the company.
            let cleanedCompany = try companyName.flatMap { (text) throws(CRMError) in
                text.trimmedOfWhitespace.isEmpty ? nil : try validatedCompanyName(text)
            }
            let source = LeadSource(rawValue: try validatedLabel(source.rawValue, field: "source", maximum: 100))
            if let campaign, campaign.kind != "campaign" {
                throw .invalidValue(field: "campaign", reason: "\(campaign) is not a campaign")
            }
            let owner = try owner.map { (id) throws(CRMError) in try validatedPrincipalID(id, field: "owner") }
            return [LeadCaptured(name: name, email: email, phone: phone, companyName: cleanedCompany, source: source,
                                 channel: channel ?? context.channel, campaign: campaign, ownerID: owner)]
        }
    }

    /// Gives the lead to another owner. Refused once converted.
    ///
    /// ```swift
    /// try await repository.execute(.assignOwner("user:boris"), on: lead, context: managerContext)
    /// ```
    public static func assignOwner(_ owner: String) -> Self {
        Command(name: "lead.assignOwner") { lead, _ throws(CRMError) in
            try lead.ensureNotConverted()
            let owner = try validatedPrincipalID(owner, field: "owner")
            return lead.owner == owner ? [] : [LeadOwnerAssigned(from: lead.owner, to: owner)]
        }
    }

    /// Marks a new lead as being worked on. Already working: nothing to do.
    ///
    /// ```swift
    /// try await repository.execute(.startWorking(), on: lead, context: context)
    /// ```
    public static func startWorking() -> Self {
        Command(name: "lead.startWorking") { lead, _ throws(CRMError) in
            try lead.ensureInPlay()
            switch lead.status {
            case .new: return [LeadStatusChanged(from: .new, to: .working)]
            case .working: return []
            default: throw .invalidTransition(kind: Lead.kind, id: lead.id.description, reason: "it is \(lead.status) already")
            }
        }
    }

    /// Qualifies a new or working lead: it is worth converting.
    ///
    /// ```swift
    /// try await repository.execute(.qualify(), on: lead, context: context)
    /// ```
    public static func qualify() -> Self {
        Command(name: "lead.qualify") { lead, _ throws(CRMError) in
            try lead.ensureInPlay()
            return lead.status == .qualified ? [] : [LeadStatusChanged(from: lead.status, to: .qualified)]
        }
    }

    /// Disqualifies the lead for `reason`. A disqualified lead refuses status
    /// changes and conversion until ``reopen()``.
    ///
    /// ```swift
    /// try await repository.execute(.disqualify(reason: "student, no budget"), on: lead, context: context)
    /// ```
    public static func disqualify(reason: String) -> Self {
        Command(name: "lead.disqualify") { lead, _ throws(CRMError) in
            try lead.ensureInPlay()
            let reason = reason.trimmedOfWhitespace
            guard !reason.isEmpty else { throw .invalidValue(field: "disqualification reason", reason: "it is empty") }
            guard reason.count <= 1_000 else {
                throw .invalidValue(field: "disqualification reason", reason: "it is longer than 1,000 characters")
            }
            return [LeadDisqualified(from: lead.status, reason: reason)]
        }
    }

    /// Puts a disqualified lead back to working.
    ///
    /// ```swift
    /// try await repository.execute(.reopen(), on: lead, context: context)
    /// ```
    public static func reopen() -> Self {
        Command(name: "lead.reopen") { lead, _ throws(CRMError) in
            try lead.ensureNotConverted()
            guard lead.status == .disqualified else {
                throw .invalidTransition(kind: Lead.kind, id: lead.id.description, reason: "it is not disqualified")
            }
            return [LeadStatusChanged(from: .disqualified, to: .working)]
        }
    }

    /// The lead's side of a conversion. Use ``Repository/convertLead(_:contact:company:deal:context:)``,
    /// which creates or links what it names in the same append.
    static func markConverted(contact: ContactID, company: CompanyID?, deal: DealID?) -> Self {
        Command(name: "lead.convert") { lead, _ throws(CRMError) in
            try lead.ensureInPlay()
            return [LeadConverted(from: lead.status, contactID: contact, companyID: company, dealID: deal)]
        }
    }
}

/// What a lead is converted into, for ``Repository/convertLead(_:contact:company:deal:context:)``.
///
/// ```swift
/// let outcome = try await repository.convertLead(lead, contact: .new(), company: .existing(acme),
///                                                deal: DealDraft(title: "Navy pilot", pipeline: sales), context: context)
/// outcome.contactID
/// ```
public enum LeadConversion {
    /// The contact the lead becomes: a new one (named as the lead unless
    /// `name` is given, with its email and phone) or an existing one.
    ///
    /// ```swift
    /// LeadConversion.ContactTarget.new(name: try PersonName(given: "Grace", family: "Hopper"))
    /// LeadConversion.ContactTarget.existing(ada)
    /// ```
    public enum ContactTarget: Sendable, Hashable {
        /// A new contact with the id `id` (a new one by default), named `name` or else as the lead, with
        /// the lead's email address and phone number.
        case new(id: ContactID = ContactID(), name: PersonName? = nil)
        /// An existing contact, neither merged nor archived; nothing of the lead is copied to it.
        case existing(ContactID)

        /// The contact's id.
        public var id: ContactID {
            switch self {
            case .new(let id, _): return id
            case .existing(let id): return id
            }
        }
    }

    /// The company the contact is linked to: a new one (named as the lead gave
    /// it unless `name` is given) or an existing one.
    ///
    /// ```swift
    /// LeadConversion.CompanyTarget.new(name: "US Navy")
    /// LeadConversion.CompanyTarget.existing(acme)
    /// ```
    public enum CompanyTarget: Sendable, Hashable {
        /// A new company with the id `id` (a new one by default), named `name` or else as the lead gave it.
        case new(id: CompanyID = CompanyID(), name: String? = nil)
        /// An existing company, not archived.
        case existing(CompanyID)

        /// The company's id.
        public var id: CompanyID {
            switch self {
            case .new(let id, _): return id
            case .existing(let id): return id
            }
        }
    }

    /// What a conversion did: the ids of what the lead became, and the append.
    ///
    /// ```swift
    /// let outcome = try await repository.convertLead(lead, contact: .new(), company: nil, deal: nil, context: context)
    /// print(outcome.contactID, outcome.append.positions)
    /// ```
    public struct Outcome: Sendable, Hashable {
        /// The converted lead (now marked converted).
        public var leadID: LeadID
        /// The contact the lead became.
        public var contactID: ContactID
        /// The company the contact was linked to, when the conversion named or created one.
        public var companyID: CompanyID?
        /// The deal the conversion opened, when it was given a ``DealDraft``.
        public var dealID: DealID?
        /// The one atomic append that stored every event of the conversion.
        public var append: AppendResult
    }
}

/// The deal a lead conversion opens.
///
/// ```swift
/// DealDraft(title: "Navy pilot", pipeline: sales, stage: "qualification", amount: try Money(amount: 40_000, currency: "USD"))
/// ```
public struct DealDraft: Sendable, Hashable {
    /// The new deal's id (a new UUIDv7 by default).
    public var id: DealID
    /// The deal's title.
    public var title: String
    /// The pipeline the deal opens in.
    public var pipeline: PipelineID
    /// The open stage to open in; the pipeline's first open stage when nil.
    public var stage: String?
    /// The expected amount, if known.
    public var amount: Money?
    /// When the deal is expected to close, if known.
    public var expectedCloseDate: Date?
    /// The owner; the lead's owner (or the converting actor) when nil.
    public var owner: String?
    /// The converted contact's role on the deal.
    public var contactRole: DealContactRole

    /// A draft; only the title and the pipeline are required.
    public init(
        id: DealID = DealID(), title: String, pipeline: PipelineID, stage: String? = nil, amount: Money? = nil,
        expectedCloseDate: Date? = nil, owner: String? = nil, contactRole: DealContactRole = .other
    ) {
        self.id = id
        self.title = title
        self.pipeline = pipeline
        self.stage = stage
        self.amount = amount
        self.expectedCloseDate = expectedCloseDate
        self.owner = owner
        self.contactRole = contactRole
    }
}

extension Repository {
    /// Converts a lead into a contact, optionally a company and a deal, in
    /// ONE atomic append: the lead is marked converted with links to what it
    /// became, the contact is created (or an existing one used), the company
    /// created (or an existing one used) and linked to the contact on both
    /// sides, and the deal opened with the company and the contact. If any
    /// part is refused, nothing at all is appended.
    ///
    /// New records are owned by the lead's owner, or by the converting actor
    /// when the lead has none. A new contact takes the lead's name (unless
    /// given one), email and phone, with the lifecycle stage `opportunity`
    /// when a deal is opened and `lead` otherwise.
    ///
    /// ```swift
    /// let outcome = try await repository.convertLead(
    ///     lead, contact: .new(), company: .new(),
    ///     deal: DealDraft(title: "Navy pilot", pipeline: sales, amount: try Money(amount: 40_000, currency: "USD")),
    ///     context: context)
    /// let deal = try await repository.load(outcome.dealID!).state
    /// ```
    ///
    /// - Throws: whatever a part refuses with: the lead's ``CRMError/invalidTransition(kind:id:reason:)``
    ///   when converted or disqualified, ``CRMError/alreadyExists(kind:id:)`` for a new id in use,
    ///   ``CRMError/notFound(kind:id:)`` for an existing id that is not, the deal's
    ///   ``CRMError/unknownStage(stage:pipeline:)``, access denials, conflicts.
    public func convertLead(
        _ lead: LeadID, contact: LeadConversion.ContactTarget, company: LeadConversion.CompanyTarget?, deal: DealDraft?,
        context: CommandContext
    ) async throws(CRMError) -> LeadConversion.Outcome {
        var ids: (contact: ContactID, company: CompanyID?, deal: DealID?) = (contact.id, company?.id, deal?.id)
        let append = try await transaction(context: context) { (unit) throws(CRMError) in
            ids = try await unit.convertLead(lead, contact: contact, company: company, deal: deal)
        }
        return LeadConversion.Outcome(leadID: lead, contactID: ids.contact, companyID: ids.company, dealID: ids.deal, append: append)
    }
}

extension UnitOfWork {
    /// Converts a lead within this unit of work (see ``Repository/convertLead(_:contact:company:deal:context:)``).
    /// All or nothing: when it throws, the unit holds none of the conversion
    /// (the lead is not marked converted), so it can be tried again.
    ///
    /// - Returns: the ids of the contact, the company and the deal.
    @discardableResult
    public mutating func convertLead(
        _ lead: LeadID, contact: LeadConversion.ContactTarget, company: LeadConversion.CompanyTarget?, deal: DealDraft?
    ) async throws(CRMError) -> (contact: ContactID, company: CompanyID?, deal: DealID?) {
        try await allOrNothing { (unit) throws(CRMError) in
            try await unit.convertingLead(lead, contact: contact, company: company, deal: deal)
        }
    }

    private mutating func convertingLead(
        _ lead: LeadID, contact: LeadConversion.ContactTarget, company: LeadConversion.CompanyTarget?, deal: DealDraft?
    ) async throws(CRMError) -> (contact: ContactID, company: CompanyID?, deal: DealID?) {
        let contactID = contact.id
        let companyID = company?.id
        let captured = try await load(lead)
        let owner = captured.owner ?? self.context.actor.id
        // Access first, then existence (markConverted needs an existing lead): a refused actor learns nothing.
        try await execute(.markConverted(contact: contactID, company: companyID, deal: deal?.id), on: lead)

        switch contact {
        case .new(let id, let name):
            guard let name = name ?? captured.name else {
                throw .invalidValue(field: "name", reason: "lead \(lead) has no name; give the new contact one")
            }
            try await execute(.create(name: name, email: captured.email?.value, phone: captured.phone?.value, owner: owner,
                                           lifecycleStage: deal == nil ? .lead : .opportunity), on: id)
        case .existing(let id):
            let existing = try await load(id)
            guard existing.exists else { throw .notFound(kind: Contact.kind, id: id.description) }
            try existing.ensureActive()
        }

        if let company, let companyID {
            switch company {
            case .new(let id, let name):
                guard let name = name ?? captured.companyName else {
                    throw .invalidValue(field: "company name", reason: "lead \(lead) gave none; name the new company")
                }
                try await execute(.create(name: name, owner: owner), on: id)
            case .existing(let id):
                let existing = try await load(id)
                guard existing.exists else { throw .notFound(kind: Company.kind, id: id.description) }
                try existing.ensureActive()
            }
            let person = try await load(contactID)
            if person.companyID == companyID {
                // Linked already: the link keeps its role on both sides (nothing of the lead is
                // copied to an existing contact); only a company side that lacks it is linked.
                if try await load(companyID).contacts[contactID] == nil {
                    try await execute(.linkContact(contactID, role: person.companyRole), on: companyID)
                }
            } else {
                if let previous = person.companyID {
                    try await unlinkFromPreviousCompany(contactID, previous)
                }
                try await execute(.linkToCompany(companyID), on: contactID)
                try await execute(.linkContact(contactID), on: companyID)
            }
        }

        if let deal {
            let pipeline = try await load(deal.pipeline)
            try await execute(.open(title: deal.title, in: pipeline, stage: deal.stage, amount: deal.amount,
                                         expectedCloseDate: deal.expectedCloseDate, owner: deal.owner ?? owner, company: companyID,
                                         contacts: [DealContact(contactID: contactID, role: deal.contactRole)]), on: deal.id)
        }
        return (contactID, companyID, deal?.id)
    }
}
