public import Foundation
public import RapportEventLog

/// A campaign was planned.
///
/// ```swift
/// CampaignCreated(name: "Spring webinar", channel: .webinar, budget: budget,
///                 period: CampaignPeriod(start: april1, end: may1), ownerID: "user:maria")
/// ```
public struct CampaignCreated: Event {
    public static let typeName = "CampaignCreated"
    public var name: String
    public var channel: CampaignChannel
    public var budget: Money
    public var period: CampaignPeriod
    public var ownerID: String?
}

/// The campaign's name changed.
///
/// ```swift
/// CampaignRenamed(from: "Spring webinar", to: "Spring webinar 2025")
/// ```
public struct CampaignRenamed: Event {
    public static let typeName = "CampaignRenamed"
    public var from: String
    public var to: String
}

/// The budget changed (same currency).
///
/// ```swift
/// CampaignBudgetChanged(from: try Money(amount: 5000, currency: "EUR"), to: try Money(amount: 7500, currency: "EUR"))
/// ```
public struct CampaignBudgetChanged: Event {
    public static let typeName = "CampaignBudgetChanged"
    public var from: Money
    public var to: Money
}

/// The period changed.
///
/// ```swift
/// CampaignPeriodChanged(from: april, to: CampaignPeriod(start: april1, end: may15))
/// ```
public struct CampaignPeriodChanged: Event {
    public static let typeName = "CampaignPeriodChanged"
    public var from: CampaignPeriod
    public var to: CampaignPeriod
}

/// A contact joined the campaign's audience.
///
/// ```swift
/// CampaignContactAdded(contactID: adaID)
/// ```
public struct CampaignContactAdded: Event {
    public static let typeName = "CampaignContactAdded"
    public var contactID: ContactID
}

/// A contact left the campaign's audience (their responses stay).
///
/// ```swift
/// CampaignContactRemoved(contactID: adaID, reason: "asked not to be contacted")
/// ```
public struct CampaignContactRemoved: Event {
    public static let typeName = "CampaignContactRemoved"
    public var contactID: ContactID
    public var reason: String?
}

/// A contact responded to the campaign.
///
/// ```swift
/// CampaignResponseRecorded(contactID: adaID, response: CampaignResponse(kind: .opened, at: now))
/// ```
public struct CampaignResponseRecorded: Event {
    public static let typeName = "CampaignResponseRecorded"
    public var contactID: ContactID
    public var response: CampaignResponse
}

/// A lead or a deal was credited to the campaign.
///
/// ```swift
/// CampaignAttributed(entity: EntityRef(dealID))
/// ```
public struct CampaignAttributed: Event {
    public static let typeName = "CampaignAttributed"
    public var entity: EntityRef
}

/// The campaign went live.
///
/// ```swift
/// CampaignLaunched(at: now)
/// ```
public struct CampaignLaunched: Event {
    public static let typeName = "CampaignLaunched"
    public var at: Date
}

/// The campaign ended.
///
/// ```swift
/// CampaignCompleted(at: now)
/// ```
public struct CampaignCompleted: Event {
    public static let typeName = "CampaignCompleted"
    public var at: Date
}

extension Campaign {
    public static let eventTypes: [any Event.Type] = [
        CampaignCreated.self, CampaignRenamed.self, CampaignBudgetChanged.self, CampaignPeriodChanged.self,
        CampaignContactAdded.self, CampaignContactRemoved.self, CampaignResponseRecorded.self,
        CampaignAttributed.self, CampaignLaunched.self, CampaignCompleted.self,
    ]
}
