import Foundation
public import RapportEventLog

/// A lead was captured with what it gave, where from and through which channel.
///
/// ```swift
/// LeadCaptured(name: grace, email: nil, phone: nil, companyName: "Navy", source: .webForm, channel: .webForm,
///              campaign: nil, ownerID: nil)
/// ```
public struct LeadCaptured: Event {
    /// The type name stored with the event: "LeadCaptured".
    public static let typeName = "LeadCaptured"
    /// The person's name, checked as ``PersonName/init(given:family:)`` checks it; nil when none was given. A lead has a name, an email address or a
    /// phone number, or several of them.
    public var name: PersonName?
    /// The email address, validated and normalised; nil when none was given.
    public var email: EmailAddress?
    /// The phone number, in E.164 form; nil when none was given.
    public var phone: PhoneNumber?
    /// The company name as the lead gave it, trimmed, at most 300 characters; nil when none was given.
    public var companyName: String?
    /// Where the lead came from, such as `web-form` or `referral` (not empty).
    public var source: LeadSource
    /// The channel it came in through: the one given, else the command's (``CommandContext/channel``).
    public var channel: Channel
    /// The campaign that brought it in, a reference of kind `campaign`; nil when none was given.
    /// Its tag is on every event of the lead.
    public var campaign: EntityRef?
    /// The owner's principal id (trimmed, no spaces or control characters); nil when the lead has none.
    public var ownerID: String?
}

/// The lead was given to another owner.
///
/// ```swift
/// LeadOwnerAssigned(from: nil, to: "user:anna")
/// ```
public struct LeadOwnerAssigned: Event {
    /// The type name stored with the event: "LeadOwnerAssigned".
    public static let typeName = "LeadOwnerAssigned"
    /// The previous owner's principal id; nil when the lead had none.
    public var from: String?
    /// The new owner's principal id (trimmed, no spaces or control characters).
    public var to: String
}

/// The lead moved between new, working and qualified (or was reopened after
/// being disqualified), recorded with where it came from.
///
/// ```swift
/// LeadStatusChanged(from: .working, to: .qualified)
/// ```
public struct LeadStatusChanged: Event {
    /// The type name stored with the event: "LeadStatusChanged".
    public static let typeName = "LeadStatusChanged"
    /// The status before: `new` or `working`, or `disqualified` when the lead was reopened.
    public var from: LeadStatus
    /// The status now: `working` or `qualified`.
    public var to: LeadStatus
}

/// The lead was disqualified, from `from`, for `reason`.
///
/// ```swift
/// LeadDisqualified(from: .working, reason: "student, no budget")
/// ```
public struct LeadDisqualified: Event {
    /// The type name stored with the event: "LeadDisqualified".
    public static let typeName = "LeadDisqualified"
    /// The status it was disqualified from: `new`, `working` or `qualified`.
    public var from: LeadStatus
    /// Why, trimmed, 1 to 1,000 characters.
    public var reason: String
}

/// The lead was converted; the ids say what it became. Appended in the same
/// atomic append as the contact, company and deal events.
///
/// ```swift
/// LeadConverted(from: .qualified, contactID: grace, companyID: navy, dealID: pilot)
/// ```
public struct LeadConverted: Event {
    /// The type name stored with the event: "LeadConverted".
    public static let typeName = "LeadConverted"
    /// The status it was converted from: `new`, `working` or `qualified`.
    public var from: LeadStatus
    /// The contact the lead became: created by the conversion, or an existing one.
    public var contactID: ContactID
    /// The company the contact was linked to by the conversion; nil when it named none.
    public var companyID: CompanyID?
    /// The deal the conversion opened; nil when it opened none.
    public var dealID: DealID?
}
