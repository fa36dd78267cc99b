public import Foundation
public import RapportEventLog

/// A campaign was planned.
///
/// ```swift
/// CampaignCreated(name: "Spring webinar", channel: .webinar, budget: budget,
///                 period: CampaignPeriod(start: april1, end: may1), ownerID: "user:maria")
/// ```
public struct CampaignCreated: Event {
    /// The type name stored with the event: "CampaignCreated".
    public static let typeName = "CampaignCreated"
    /// The campaign's name, trimmed, 1 to 300 characters.
    public var name: String
    /// The medium it runs on: 1 to 40 lower-case letters, digits or `-`, starting with a letter.
    public var channel: CampaignChannel
    /// The budget (``Money``: an exact decimal, not negative, and a currency code of three upper-case
    /// letters); later budgets keep its currency.
    public var budget: Money
    /// When it is meant to run: start and end to the second, between 1900 and 9999, the end after the start.
    public var period: CampaignPeriod
    /// The owner's principal id (trimmed, no spaces or control characters); nil when the campaign has none.
    public var ownerID: String?
}

/// The campaign's name changed.
///
/// ```swift
/// CampaignRenamed(from: "Spring webinar", to: "Spring webinar 2025")
/// ```
public struct CampaignRenamed: Event {
    /// The type name stored with the event: "CampaignRenamed".
    public static let typeName = "CampaignRenamed"
    /// The name before.
    public var from: String
    /// The new name, trimmed, 1 to 300 characters.
    public var to: String
}

/// The budget changed (same currency).
///
/// ```swift
/// CampaignBudgetChanged(from: try Money(amount: 5000, currency: "EUR"), to: try Money(amount: 7500, currency: "EUR"))
/// ```
public struct CampaignBudgetChanged: Event {
    /// The type name stored with the event: "CampaignBudgetChanged".
    public static let typeName = "CampaignBudgetChanged"
    /// The budget before.
    public var from: Money
    /// The new budget, not negative, in the same currency.
    public var to: Money
}

/// The period changed.
///
/// ```swift
/// CampaignPeriodChanged(from: april, to: CampaignPeriod(start: april1, end: may15))
/// ```
public struct CampaignPeriodChanged: Event {
    /// The type name stored with the event: "CampaignPeriodChanged".
    public static let typeName = "CampaignPeriodChanged"
    /// The period before.
    public var from: CampaignPeriod
    /// The new period: start and end to the second, between 1900 and 9999, the end after the start.
    public var to: CampaignPeriod
}

/// A contact joined the campaign's audience.
///
/// ```swift
/// CampaignContactAdded(contactID: adaID)
/// ```
public struct CampaignContactAdded: Event {
    /// The type name stored with the event: "CampaignContactAdded".
    public static let typeName = "CampaignContactAdded"
    /// The contact added; they were not in the audience.
    public var contactID: ContactID
}

/// A contact left the campaign's audience (their responses stay).
///
/// ```swift
/// CampaignContactRemoved(contactID: adaID, reason: "asked not to be contacted")
/// ```
public struct CampaignContactRemoved: Event {
    /// The type name stored with the event: "CampaignContactRemoved".
    public static let typeName = "CampaignContactRemoved"
    /// The contact taken out; they were in the audience.
    public var contactID: ContactID
    /// Why, trimmed, at most 1,000 characters; nil when no reason was given.
    public var reason: String?
}

/// A contact responded to the campaign.
///
/// ```swift
/// CampaignResponseRecorded(contactID: adaID, response: CampaignResponse(kind: .opened, at: now))
/// ```
public struct CampaignResponseRecorded: Event {
    /// The type name stored with the event: "CampaignResponseRecorded".
    public static let typeName = "CampaignResponseRecorded"
    /// The contact who responded; they were in the audience.
    public var contactID: ContactID
    /// What they did, with an optional detail, and when.
    public var response: CampaignResponse
}

/// A lead or a deal was credited to the campaign.
///
/// ```swift
/// CampaignAttributed(entity: EntityRef(dealID))
/// ```
public struct CampaignAttributed: Event {
    /// The type name stored with the event: "CampaignAttributed".
    public static let typeName = "CampaignAttributed"
    /// The lead or deal credited (kind `lead` or `deal`); it was not credited to the campaign before.
    public var entity: EntityRef
}

/// The campaign went live.
///
/// ```swift
/// CampaignLaunched(at: now)
/// ```
public struct CampaignLaunched: Event {
    /// The type name stored with the event: "CampaignLaunched".
    public static let typeName = "CampaignLaunched"
    /// When it was launched: the command's time (``CommandContext/now``), to the second.
    public var at: Date
}

/// The campaign ended.
///
/// ```swift
/// CampaignCompleted(at: now)
/// ```
public struct CampaignCompleted: Event {
    /// The type name stored with the event: "CampaignCompleted".
    public static let typeName = "CampaignCompleted"
    /// When it was completed: the command's time (``CommandContext/now``), to the second.
    public var at: Date
}

extension Campaign {
    /// The current version of every campaign event type.
    public static let eventTypes: [any Event.Type] = [
        CampaignCreated.self, CampaignRenamed.self, CampaignBudgetChanged.self, CampaignPeriodChanged.self,
        CampaignContactAdded.self, CampaignContactRemoved.self, CampaignResponseRecorded.self,
        CampaignAttributed.self, CampaignLaunched.self, CampaignCompleted.self,
    ]
}
