import Foundation
public import RapportEventLog

/// The identity of a lead.
public typealias LeadID = Identifier<Lead>

/// A prospective customer as first captured: a name, an email address, a
/// phone number and a company name as given, where it came from, and how far
/// it got. A qualified lead is converted into a contact, a company and a deal
/// in one atomic append (``Repository/convertLead(_:contact:company:deal:context:)``).
///
/// ```swift
/// let lead = LeadID()
/// try await repository.execute(.capture(name: try PersonName(given: "Grace", family: "Hopper"), email: "grace@navy.example",
///                                       companyName: "Navy", source: .webForm), on: lead, context: context)
/// try await repository.execute(.qualify(), on: lead, context: context)
/// let outcome = try await repository.convertLead(lead, contact: .new(), company: .new(), deal: nil, context: context)
/// ```
public struct Lead: Aggregate {
    /// The kind: stream ids `lead-<uuid>`, tags `lead:<uuid>`.
    public static let kind = "lead"

    /// The lead's identity.
    public let id: LeadID
    /// False until ``LeadCaptured``.
    public internal(set) var exists = false
    /// The person's name as given; nil when none was given.
    public internal(set) var name: PersonName?
    /// The email address as given, validated and normalised; nil when none was given.
    public internal(set) var email: EmailAddress?
    /// The phone number as given, in E.164 form; nil when none was given.
    public internal(set) var phone: PhoneNumber?
    /// The company name as the lead gave it.
    public internal(set) var companyName: String?
    /// Where the lead came from, such as `web-form` or `referral`.
    public internal(set) var source: LeadSource = .import
    /// The channel the lead came in through.
    public internal(set) var channel: Channel = .ui
    /// The campaign that brought the lead in, if any.
    public internal(set) var campaign: EntityRef?
    /// The owner's principal id; nil when the lead has none.
    public internal(set) var owner: String?
    /// Where the lead stands; `new` when captured.
    public internal(set) var status: LeadStatus = .new
    /// Why the lead was disqualified, while it is.
    public internal(set) var disqualificationReason: String?
    /// What the lead became, once converted.
    public internal(set) var conversion: LeadConversionLinks?

    /// A lead that was not captured yet: the state before any event.
    public init(id: LeadID) { self.id = id }

    /// The owner for access policies and `owner:` tags (``owner``).
    public var ownerID: String? { owner }

    /// Refuses changes to a converted lead.
    func ensureNotConverted() throws(CRMError) {
        if let conversion {
            throw .invalidTransition(kind: Self.kind, id: id.description, reason: "it was converted into contact \(conversion.contactID)")
        }
    }

    /// Refuses status changes to a converted or disqualified lead.
    func ensureInPlay() throws(CRMError) {
        try ensureNotConverted()
        if status == .disqualified {
            throw .invalidTransition(kind: Self.kind, id: id.description,
                                     reason: "it is disqualified (\(disqualificationReason ?? "no reason")); reopen it first")
        }
    }

    /// Folds one stored lead event into the state; other events are ignored.
    public mutating func apply(_ event: any Event) {
        switch event {
        case let e as LeadCaptured:
            exists = true
            name = e.name
            email = e.email
            phone = e.phone
            companyName = e.companyName
            source = e.source
            channel = e.channel
            campaign = e.campaign
            owner = e.ownerID
            status = .new
        case let e as LeadOwnerAssigned: owner = e.to
        case let e as LeadStatusChanged:
            status = e.to
            disqualificationReason = nil
        case let e as LeadDisqualified:
            status = .disqualified
            disqualificationReason = e.reason
        case let e as LeadConverted:
            status = .converted
            conversion = LeadConversionLinks(contactID: e.contactID, companyID: e.companyID, dealID: e.dealID)
        default: break
        }
    }

    /// The campaign on every event; the contact, company and deal on the conversion.
    public func extraTags(for event: any Event) -> [Tag] {
        var tags: [Tag] = campaign.map { [$0.tag] } ?? []
        if let e = event as? LeadConverted {
            tags.append(e.contactID.tag)
            if let company = e.companyID { tags.append(company.tag) }
            if let deal = e.dealID { tags.append(deal.tag) }
        }
        return tags
    }
}

/// Where a lead stands. `converted` is final; `disqualified` until reopened.
///
/// ```swift
/// let open = try await repository.load(lead).state.status == .qualified
/// ```
public enum LeadStatus: String, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case new, working, qualified, disqualified, converted
    /// The status's name, such as `qualified`.
    public var description: String { rawValue }
}

/// Where a lead came from. Applications may add sources.
///
/// ```swift
/// try await repository.execute(.capture(name: nil, email: "x@example.com", source: .referral), on: LeadID(), context: context)
/// let fair = LeadSource(rawValue: "trade-fair")
/// ```
public struct LeadSource: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The source's name as stored, such as `web-form`.
    public var rawValue: String
    /// A source by name, such as an application's own `LeadSource(rawValue: "trade-fair")`.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A form on a web site (`web-form`).
    public static let webForm = LeadSource(rawValue: "web-form")
    /// A phone call (`phone`).
    public static let phone = LeadSource(rawValue: "phone")
    /// An email (`email`).
    public static let email = LeadSource(rawValue: "email")
    /// A recommendation by someone (`referral`).
    public static let referral = LeadSource(rawValue: "referral")
    /// A marketing campaign (`campaign`); ``Lead/campaign`` says which, when given.
    public static let campaign = LeadSource(rawValue: "campaign")
    /// An import of existing data (`import`).
    public static let `import` = LeadSource(rawValue: "import")

    /// The source's name (``rawValue``).
    public var description: String { rawValue }
}

/// What a converted lead became.
///
/// ```swift
/// if let links = try await repository.load(lead).state.conversion { print(links.contactID) }
/// ```
public struct LeadConversionLinks: Hashable, Sendable, Codable {
    /// The contact the lead became.
    public var contactID: ContactID
    /// The company the contact was linked to; nil when the conversion named none.
    public var companyID: CompanyID?
    /// The deal the conversion opened; nil when it opened none.
    public var dealID: DealID?

    /// The links of a conversion.
    public init(contactID: ContactID, companyID: CompanyID?, dealID: DealID?) {
        self.contactID = contactID
        self.companyID = companyID
        self.dealID = dealID
    }
}

extension Lead {
    /// The current version of every lead event type.
    public static let eventTypes: [any Event.Type] = [
        LeadCaptured.self, LeadOwnerAssigned.self, LeadStatusChanged.self, LeadDisqualified.self, LeadConverted.self,
    ]
}

/// Snapshots store the stored properties as JSON (see `docs/snapshots.md`).
extension Lead: SnapshottableAggregate, Equatable {
    /// Raise with any change to the stored properties or to `apply(_:)`.
    public static let snapshotSchemaVersion: UInt32 = 1
}
