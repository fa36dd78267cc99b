import Foundation
public import RapportEventLog

/// A lead was captured with what it gave, where from and through which channel.
///
/// ```swift
/// LeadCaptured(name: grace, email: nil, phone: nil, companyName: "Navy", source: .webForm, channel: .webForm,
///              campaign: nil, ownerID: nil)
/// ```
public struct LeadCaptured: Event {
    public static let typeName = "LeadCaptured"
    public var name: PersonName?
    public var email: EmailAddress?
    public var phone: PhoneNumber?
    public var companyName: String?
    public var source: LeadSource
    public var channel: Channel
    public var campaign: EntityRef?
    public var ownerID: String?
}

/// The lead was given to another owner.
///
/// ```swift
/// LeadOwnerAssigned(from: nil, to: "user:anna")
/// ```
public struct LeadOwnerAssigned: Event {
    public static let typeName = "LeadOwnerAssigned"
    public var from: String?
    public var to: String
}

/// The lead moved between new, working and qualified (or was reopened after
/// being disqualified), recorded with where it came from.
///
/// ```swift
/// LeadStatusChanged(from: .working, to: .qualified)
/// ```
public struct LeadStatusChanged: Event {
    public static let typeName = "LeadStatusChanged"
    public var from: LeadStatus
    public var to: LeadStatus
}

/// The lead was disqualified, from `from`, for `reason`.
///
/// ```swift
/// LeadDisqualified(from: .working, reason: "student, no budget")
/// ```
public struct LeadDisqualified: Event {
    public static let typeName = "LeadDisqualified"
    public var from: LeadStatus
    public var reason: String
}

/// The lead was converted; the ids say what it became. Appended in the same
/// atomic append as the contact, company and deal events.
///
/// ```swift
/// LeadConverted(from: .qualified, contactID: grace, companyID: navy, dealID: pilot)
/// ```
public struct LeadConverted: Event {
    public static let typeName = "LeadConverted"
    public var from: LeadStatus
    public var contactID: ContactID
    public var companyID: CompanyID?
    public var dealID: DealID?
}
