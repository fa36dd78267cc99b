public import Foundation
public import RapportEventLog

/// A deal was opened in an open stage of a pipeline.
///
/// ```swift
/// DealOpened(title: "Acme renewal", pipelineID: sales, stage: "qualification", amount: eur12k,
///            expectedCloseDate: nil, ownerID: "user:anna", companyID: acme, contacts: [])
/// ```
public struct DealOpened: Event {
    public static let typeName = "DealOpened"
    public var title: String
    public var pipelineID: PipelineID
    /// The stage key.
    public var stage: String
    public var amount: Money?
    public var expectedCloseDate: Date?
    public var ownerID: String?
    public var companyID: CompanyID?
    public var contacts: [DealContact]
}

/// The deal's title changed.
///
/// ```swift
/// DealRenamed(from: "Acme renewal", to: "Acme renewal 2025")
/// ```
public struct DealRenamed: Event {
    public static let typeName = "DealRenamed"
    public var from: String
    public var to: String
}

/// The deal moved from one open stage to another, by key. `movedBack` says
/// whether `to` came before `from` on the board at the time.
///
/// ```swift
/// DealStageChanged(from: "negotiation", to: "qualification", movedBack: true)
/// ```
public struct DealStageChanged: Event {
    public static let typeName = "DealStageChanged"
    public var from: String
    public var to: String
    public var movedBack: Bool
}

/// The expected amount changed, in the same currency (or was set for the first time).
///
/// ```swift
/// DealAmountChanged(from: try Money(amount: 12_000, currency: "EUR"), to: try Money(amount: 15_000, currency: "EUR"))
/// ```
public struct DealAmountChanged: Event {
    public static let typeName = "DealAmountChanged"
    public var from: Money?
    public var to: Money
}

/// The deal's currency was changed on purpose, with its amount in the new currency.
///
/// ```swift
/// DealCurrencyChanged(from: try Money(amount: 12_000, currency: "EUR"), to: try Money(amount: 13_000, currency: "USD"))
/// ```
public struct DealCurrencyChanged: Event {
    public static let typeName = "DealCurrencyChanged"
    public var from: Money
    public var to: Money
}

/// The expected close date was set, changed or cleared.
///
/// ```swift
/// DealExpectedCloseDateChanged(from: nil, to: endOfQuarter)
/// ```
public struct DealExpectedCloseDateChanged: Event {
    public static let typeName = "DealExpectedCloseDateChanged"
    public var from: Date?
    public var to: Date?
}

/// The deal was given to another owner.
///
/// ```swift
/// DealOwnerAssigned(from: "user:anna", to: "user:boris")
/// ```
public struct DealOwnerAssigned: Event {
    public static let typeName = "DealOwnerAssigned"
    public var from: String?
    public var to: String
}

/// The company the deal is with was set, changed or cleared.
///
/// ```swift
/// DealCompanyChanged(from: nil, to: acme)
/// ```
public struct DealCompanyChanged: Event {
    public static let typeName = "DealCompanyChanged"
    public var from: CompanyID?
    public var to: CompanyID?
}

/// A contact joined the deal with a role.
///
/// ```swift
/// DealContactAdded(contactID: ada, role: .decisionMaker)
/// ```
public struct DealContactAdded: Event {
    public static let typeName = "DealContactAdded"
    public var contactID: ContactID
    public var role: DealContactRole
}

/// A contact on the deal got another role.
///
/// ```swift
/// DealContactRoleChanged(contactID: ada, from: .evaluator, to: .decisionMaker)
/// ```
public struct DealContactRoleChanged: Event {
    public static let typeName = "DealContactRoleChanged"
    public var contactID: ContactID
    public var from: DealContactRole
    public var to: DealContactRole
}

/// A contact was taken off the deal (with the role they had).
///
/// ```swift
/// DealContactRemoved(contactID: ada, role: .evaluator)
/// ```
public struct DealContactRemoved: Event {
    public static let typeName = "DealContactRemoved"
    public var contactID: ContactID
    public var role: DealContactRole
}

/// The deal was won with `finalAmount`, moving from the open stage `fromStage`
/// into the won stage `stage`.
///
/// ```swift
/// DealWon(finalAmount: try Money(amount: 11_500, currency: "EUR"), stage: "won", fromStage: "negotiation", at: now)
/// ```
public struct DealWon: Event {
    public static let typeName = "DealWon"
    public var finalAmount: Money
    /// The won stage's key.
    public var stage: String
    /// The open stage it was won from.
    public var fromStage: String
    public var at: Date
}

/// The deal was lost for `reason` while in the open stage `lostAtStage`; it
/// now sits in the lost stage `stage`.
///
/// ```swift
/// DealLost(reason: "chose a competitor", stage: "lost", lostAtStage: "proposal", at: now)
/// ```
public struct DealLost: Event {
    public static let typeName = "DealLost"
    public var reason: String
    /// The lost stage's key.
    public var stage: String
    /// The open stage it was in when it was lost.
    public var lostAtStage: String
    public var at: Date
}

/// A won or lost deal was reopened into an open stage.
///
/// ```swift
/// DealReopened(fromStatus: .lost, fromStage: "lost", toStage: "negotiation")
/// ```
public struct DealReopened: Event {
    public static let typeName = "DealReopened"
    /// Whether it had been won or lost.
    public var fromStatus: DealStatus
    /// The won or lost stage it left.
    public var fromStage: String
    /// The open stage it is in now.
    public var toStage: String
}
