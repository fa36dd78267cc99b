public import Foundation
public import RapportEventLog

/// A deal was opened in an open stage of a pipeline.
///
/// ```swift
/// DealOpened(title: "Acme renewal", pipelineID: sales, stage: "qualification", amount: eur12k,
///            expectedCloseDate: nil, ownerID: "user:anna", companyID: acme, contacts: [])
/// ```
public struct DealOpened: Event {
    /// The type name stored with the event: "DealOpened".
    public static let typeName = "DealOpened"
    /// The deal's title, trimmed, 1 to 300 characters.
    public var title: String
    /// The pipeline the deal moves through; it existed when the deal was opened.
    public var pipelineID: PipelineID
    /// The stage key.
    public var stage: String
    /// The expected amount (``Money``: an exact decimal, never negative, and a currency code); nil when
    /// not known yet. Its currency is the deal's from then on.
    public var amount: Money?
    /// When the deal is expected to close, to the second, between 1900 and 9999; nil when not known.
    public var expectedCloseDate: Date?
    /// The owner's principal id (trimmed, no spaces or control characters); nil when the deal has none.
    public var ownerID: String?
    /// The company the deal is with; nil when none.
    public var companyID: CompanyID?
    /// The people involved and their roles: at most 50, each contact once, each role not empty; the
    /// list may be empty.
    public var contacts: [DealContact]
}

/// The deal's title changed.
///
/// ```swift
/// DealRenamed(from: "Acme renewal", to: "Acme renewal 2025")
/// ```
public struct DealRenamed: Event {
    /// The type name stored with the event: "DealRenamed".
    public static let typeName = "DealRenamed"
    /// The title before.
    public var from: String
    /// The new title, trimmed, 1 to 300 characters.
    public var to: String
}

/// The deal moved from one open stage to another, by key. `movedBack` says
/// whether `to` came before `from` on the board at the time.
///
/// ```swift
/// DealStageChanged(from: "negotiation", to: "qualification", movedBack: true)
/// ```
public struct DealStageChanged: Event {
    /// The type name stored with the event: "DealStageChanged".
    public static let typeName = "DealStageChanged"
    /// The key of the open stage the deal left (it may have been retired since the deal entered it).
    public var from: String
    /// The key of the open stage the deal entered, a current stage of its pipeline.
    public var to: String
    /// Whether `to` came before `from` on the board at the time; false when `from` was no longer on it.
    public var movedBack: Bool
}

/// The expected amount changed, in the same currency (or was set for the first time).
///
/// ```swift
/// DealAmountChanged(from: try Money(amount: 12_000, currency: "EUR"), to: try Money(amount: 15_000, currency: "EUR"))
/// ```
public struct DealAmountChanged: Event {
    /// The type name stored with the event: "DealAmountChanged".
    public static let typeName = "DealAmountChanged"
    /// The amount before; nil when the deal had none.
    public var from: Money?
    /// The new amount, an exact decimal, never negative, in the deal's currency (any currency when it had
    /// no amount yet).
    public var to: Money
}

/// The deal's currency was changed on purpose, with its amount in the new currency.
///
/// ```swift
/// DealCurrencyChanged(from: try Money(amount: 12_000, currency: "EUR"), to: try Money(amount: 13_000, currency: "USD"))
/// ```
public struct DealCurrencyChanged: Event {
    /// The type name stored with the event: "DealCurrencyChanged".
    public static let typeName = "DealCurrencyChanged"
    /// The amount before, in the old currency.
    public var from: Money
    /// The amount in the new currency (never negative); from now on the deal's currency.
    public var to: Money
}

/// The expected close date was set, changed or cleared.
///
/// ```swift
/// DealExpectedCloseDateChanged(from: nil, to: endOfQuarter)
/// ```
public struct DealExpectedCloseDateChanged: Event {
    /// The type name stored with the event: "DealExpectedCloseDateChanged".
    public static let typeName = "DealExpectedCloseDateChanged"
    /// The date before; nil when there was none.
    public var from: Date?
    /// The new date, to the second, between 1900 and 9999; nil when it was cleared.
    public var to: Date?
}

/// The deal was given to another owner.
///
/// ```swift
/// DealOwnerAssigned(from: "user:anna", to: "user:boris")
/// ```
public struct DealOwnerAssigned: Event {
    /// The type name stored with the event: "DealOwnerAssigned".
    public static let typeName = "DealOwnerAssigned"
    /// The previous owner's principal id; nil when the deal had none.
    public var from: String?
    /// The new owner's principal id (trimmed, no spaces or control characters). Also recorded for won
    /// and lost deals, which can change owner.
    public var to: String
}

/// The company the deal is with was set, changed or cleared.
///
/// ```swift
/// DealCompanyChanged(from: nil, to: acme)
/// ```
public struct DealCompanyChanged: Event {
    /// The type name stored with the event: "DealCompanyChanged".
    public static let typeName = "DealCompanyChanged"
    /// The company before; nil when there was none.
    public var from: CompanyID?
    /// The company now; nil when it was cleared.
    public var to: CompanyID?
}

/// A contact joined the deal with a role.
///
/// ```swift
/// DealContactAdded(contactID: ada, role: .decisionMaker)
/// ```
public struct DealContactAdded: Event {
    /// The type name stored with the event: "DealContactAdded".
    public static let typeName = "DealContactAdded"
    /// The contact added; they were not on the deal.
    public var contactID: ContactID
    /// Their role on the deal (not empty).
    public var role: DealContactRole
}

/// A contact on the deal got another role.
///
/// ```swift
/// DealContactRoleChanged(contactID: ada, from: .evaluator, to: .decisionMaker)
/// ```
public struct DealContactRoleChanged: Event {
    /// The type name stored with the event: "DealContactRoleChanged".
    public static let typeName = "DealContactRoleChanged"
    /// The contact, who stays on the deal.
    public var contactID: ContactID
    /// The role before.
    public var from: DealContactRole
    /// The role now (not empty).
    public var to: DealContactRole
}

/// A contact was taken off the deal (with the role they had).
///
/// ```swift
/// DealContactRemoved(contactID: ada, role: .evaluator)
/// ```
public struct DealContactRemoved: Event {
    /// The type name stored with the event: "DealContactRemoved".
    public static let typeName = "DealContactRemoved"
    /// The contact taken off the deal.
    public var contactID: ContactID
    /// The role they had.
    public var role: DealContactRole
}

/// The deal was won with `finalAmount`, moving from the open stage `fromStage`
/// into the won stage `stage`.
///
/// ```swift
/// DealWon(finalAmount: try Money(amount: 11_500, currency: "EUR"), stage: "won", fromStage: "negotiation", at: now)
/// ```
public struct DealWon: Event {
    /// The type name stored with the event: "DealWon".
    public static let typeName = "DealWon"
    /// The amount the deal was won with, never negative, in the deal's currency (any currency when it had
    /// no amount). The expected amount stays as it was.
    public var finalAmount: Money
    /// The won stage's key.
    public var stage: String
    /// The open stage it was won from.
    public var fromStage: String
    /// When it was won: the command's time (``CommandContext/now``), to the second.
    public var at: Date
}

/// The deal was lost for `reason` while in the open stage `lostAtStage`; it
/// now sits in the lost stage `stage`.
///
/// ```swift
/// DealLost(reason: "chose a competitor", stage: "lost", lostAtStage: "proposal", at: now)
/// ```
public struct DealLost: Event {
    /// The type name stored with the event: "DealLost".
    public static let typeName = "DealLost"
    /// Why it was lost, trimmed, 1 to 1,000 characters.
    public var reason: String
    /// The lost stage's key.
    public var stage: String
    /// The open stage it was in when it was lost.
    public var lostAtStage: String
    /// When it was lost: the command's time (``CommandContext/now``), to the second.
    public var at: Date
}

/// A won or lost deal was reopened into an open stage.
///
/// ```swift
/// DealReopened(fromStatus: .lost, fromStage: "lost", toStage: "negotiation")
/// ```
public struct DealReopened: Event {
    /// The type name stored with the event: "DealReopened".
    public static let typeName = "DealReopened"
    /// Whether it had been won or lost.
    public var fromStatus: DealStatus
    /// The won or lost stage it left.
    public var fromStage: String
    /// The open stage it is in now.
    public var toStage: String
}
