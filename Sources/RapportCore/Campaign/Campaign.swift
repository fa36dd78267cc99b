public import Foundation
public import RapportEventLog

/// The identity of a campaign.
public typealias CampaignID = Identifier<Campaign>

/// A marketing campaign: a name, a channel, a budget and a period; the
/// contacts it reaches and how each responded; the leads and deals
/// attributed to it. It is planned, then launched, then completed.
///
/// Events that touch a contact, lead or deal carry that entity's tag, so its
/// history shows the campaign.
///
/// ```swift
/// let spring = CampaignID()
/// try await repository.execute(.create(name: "Spring webinar", channel: .webinar,
///                                      budget: try Money(amount: 5000, currency: "EUR"), start: april1, end: april30),
///                              on: spring, context: context)
/// try await repository.execute(.addContacts([adaID, graceID]), on: spring, context: context)
/// try await repository.execute(.launch(), on: spring, context: context)
/// try await repository.execute(.recordResponse(.registered, from: adaID), on: spring, context: context)
/// try await repository.execute(.attribute(EntityRef(kind: "deal", id: dealUUID)), on: spring, context: context)
/// ```
public struct Campaign: Aggregate {
    /// The kind: stream ids `campaign-<uuid>`, tags `campaign:<uuid>`.
    public static let kind = "campaign"
    /// The kinds of entity a campaign can be credited with.
    public static let attributableKinds: Set<String> = ["lead", "deal"]

    /// The campaign's identity.
    public let id: CampaignID
    /// False until ``CampaignCreated``.
    public internal(set) var exists = false
    /// The campaign's name, trimmed, 1 to 300 characters; empty until created.
    public internal(set) var name = ""
    /// The medium it runs on; nil until created.
    public internal(set) var channel: CampaignChannel?
    /// The budget; nil until created.
    public internal(set) var budget: Money?
    /// When it is meant to run; nil until created.
    public internal(set) var period: CampaignPeriod?
    /// The owner's principal id; nil when the campaign has none.
    public internal(set) var owner: String?
    /// Planned, active (launched) or completed.
    public internal(set) var status: CampaignStatus = .planned
    /// When it was launched; nil while planned.
    public internal(set) var launchedAt: Date?
    /// When it was completed; nil until then.
    public internal(set) var completedAt: Date?
    /// The contacts in the campaign now (added and not removed since).
    public internal(set) var contacts: Set<ContactID> = []
    /// Each contact's responses, oldest first.
    public internal(set) var responses: [ContactID: [CampaignResponse]] = [:]
    /// The leads and deals credited to the campaign, in the order they were attributed.
    public internal(set) var attributions: [EntityRef] = []

    /// A campaign that was not created yet: the state before any event.
    public init(id: CampaignID) { self.id = id }

    /// The owner for access policies and `owner:` tags (``owner``).
    public var ownerID: String? { owner }

    /// Refuses changes to a completed campaign.
    func ensureNotCompleted() throws(CRMError) {
        if status == .completed { throw .invalidTransition(kind: Self.kind, id: id.description, reason: "it is completed") }
    }

    /// Refuses what only makes sense once the campaign has been launched.
    func ensureLaunched() throws(CRMError) {
        if status == .planned { throw .invalidTransition(kind: Self.kind, id: id.description, reason: "it has not been launched") }
    }

    /// Folds one stored campaign event into the state; other events are ignored.
    public mutating func apply(_ event: any Event) {
        switch event {
        case let e as CampaignCreated:
            exists = true
            name = e.name
            channel = e.channel
            budget = e.budget
            period = e.period
            owner = e.ownerID
        case let e as CampaignRenamed: name = e.to
        case let e as CampaignBudgetChanged: budget = e.to
        case let e as CampaignPeriodChanged: period = e.to
        case let e as CampaignContactAdded: contacts.insert(e.contactID)
        case let e as CampaignContactRemoved: contacts.remove(e.contactID)
        case let e as CampaignResponseRecorded: responses[e.contactID, default: []].append(e.response)
        case let e as CampaignAttributed: attributions.append(e.entity)
        case let e as CampaignLaunched:
            status = .active
            launchedAt = e.at
        case let e as CampaignCompleted:
            status = .completed
            completedAt = e.at
        default: break
        }
    }

    /// The tag of the contact, lead or deal the event touches.
    public func extraTags(for event: any Event) -> [Tag] {
        switch event {
        case let e as CampaignContactAdded: [e.contactID.tag]
        case let e as CampaignContactRemoved: [e.contactID.tag]
        case let e as CampaignResponseRecorded: [e.contactID.tag]
        case let e as CampaignAttributed: [e.entity.tag]
        default: []
        }
    }
}

/// The medium a campaign runs on. Applications may add their own (lower-case
/// letters, digits and `-`).
///
/// ```swift
/// let podcast = CampaignChannel(rawValue: "podcast")
/// ```
public struct CampaignChannel: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The channel's name as stored, such as `paid-ads`.
    public var rawValue: String
    /// A channel by name, such as an application's own `CampaignChannel(rawValue: "podcast")`.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Emails (`email`).
    public static let email = CampaignChannel(rawValue: "email")
    /// Text messages (`sms`).
    public static let sms = CampaignChannel(rawValue: "sms")
    /// Phone calls (`phone`).
    public static let phone = CampaignChannel(rawValue: "phone")
    /// Social media (`social`).
    public static let social = CampaignChannel(rawValue: "social")
    /// Paid advertising (`paid-ads`).
    public static let paidAds = CampaignChannel(rawValue: "paid-ads")
    /// A webinar (`webinar`).
    public static let webinar = CampaignChannel(rawValue: "webinar")
    /// An event, such as a trade fair or a conference (`event`).
    public static let event = CampaignChannel(rawValue: "event")
    /// Letters and other post (`direct-mail`).
    public static let directMail = CampaignChannel(rawValue: "direct-mail")
    /// The web (`web`).
    public static let web = CampaignChannel(rawValue: "web")

    /// The channel's name (``rawValue``).
    public var description: String { rawValue }
}

/// When a campaign runs; the end is strictly after the start.
///
/// ```swift
/// let april = CampaignPeriod(start: april1, end: may1)
/// ```
public struct CampaignPeriod: Hashable, Sendable, Codable {
    /// When the campaign starts; the campaign commands store it to the second, between 1900 and 9999.
    public var start: Date
    /// When it ends: after ``start``, to the second, between 1900 and 9999 as the commands store it.
    public var end: Date

    /// A period as given; the campaign commands check the dates they are given.
    public init(start: Date, end: Date) {
        self.start = start
        self.end = end
    }

    /// The period to the second, or ``CRMError/invalidValue(field:reason:)`` when it does not end after it starts.
    func validated() throws(CRMError) -> CampaignPeriod {
        let checked = CampaignPeriod(start: try validatedDate(start, field: "campaign start"), end: try validatedDate(end, field: "campaign end"))
        guard checked.end > checked.start else { throw .invalidValue(field: "campaign end", reason: "it is not after the start") }
        return checked
    }
}

/// Where a campaign stands: planned, then active once launched, then completed.
///
/// ```swift
/// if campaign.status == .active { … }
/// ```
public enum CampaignStatus: String, Hashable, Sendable, Codable, CaseIterable {
    case planned, active, completed
}

/// How a contact responded to a campaign.
///
/// ```swift
/// try await repository.execute(.recordResponse(.clicked, from: adaID, detail: "https://example.com/offer"), on: campaign, context: context)
/// ```
public enum CampaignResponseKind: String, Hashable, Sendable, Codable, CaseIterable {
    case opened, clicked, replied, registered, attended, unsubscribed, bounced
}

/// One response of a contact: its kind, an optional detail (the link
/// clicked, the reply's gist…) and when it was recorded.
///
/// ```swift
/// let clicks = campaign.responses[adaID, default: []].filter { $0.kind == .clicked }
/// ```
public struct CampaignResponse: Hashable, Sendable, Codable {
    /// What the contact did, such as `opened` or `registered`.
    public var kind: CampaignResponseKind
    /// A detail, such as the link clicked, trimmed, at most 2,000 characters; nil when none was given.
    public var detail: String?
    /// When the contact responded: the time given, else the command's time; to the second, between 1900
    /// and 9999.
    public var at: Date

    /// A response as given; the `recordResponse` command builds and checks its own.
    public init(kind: CampaignResponseKind, detail: String? = nil, at: Date) {
        self.kind = kind
        self.detail = detail
        self.at = at
    }
}

/// Snapshots store the stored properties as JSON (see `docs/snapshots.md`).
extension Campaign: SnapshottableAggregate, Equatable {
    /// Raise with any change to the stored properties or to `apply(_:)`.
    public static let snapshotSchemaVersion: UInt32 = 1
}
