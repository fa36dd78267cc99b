public import Foundation
public import RapportEventLog

/// The identity of a deal.
public typealias DealID = Identifier<Deal>

/// A sales opportunity moving through the stages of a ``Pipeline``.
///
/// A deal records stage *keys*, never stage names, so renaming a stage does not
/// rewrite its history. Stage moves are recorded with where they came from,
/// so moves back show in the history. A won or lost deal refuses changes with
/// ``CRMError/dealClosed(id:status:)`` until it is reopened (only its owner
/// can still be reassigned).
///
/// Every deal event is tagged with the deal's pipeline, company and contacts,
/// so projections about any of them find it.
///
/// ```swift
/// let deal = DealID()
/// let sales = try await repository.load(salesPipeline).state
/// try await repository.execute(.open(title: "Acme renewal", in: sales, stage: "qualification",
///                                    amount: try Money(amount: 12_000, currency: "EUR"), owner: "user:anna"),
///                              on: deal, context: context)
/// try await repository.moveDeal(deal, toStage: "negotiation", context: context)
/// try await repository.markDealWon(deal, finalAmount: try Money(amount: 11_500, currency: "EUR"), context: context)
/// ```
public struct Deal: Aggregate {
    /// The kind: stream ids `deal-<uuid>`, tags `deal:<uuid>`.
    public static let kind = "deal"

    /// The deal's identity.
    public let id: DealID
    /// False until ``DealOpened``.
    public internal(set) var exists = false
    /// The title, trimmed, 1 to 300 characters; empty until opened.
    public internal(set) var title = ""
    /// The pipeline whose stages the deal moves through.
    public internal(set) var pipelineID: PipelineID?
    /// The key of the current stage (for a closed deal, the won or lost stage).
    public internal(set) var stage = ""
    /// Whether the deal is open, won or lost.
    public internal(set) var status: DealStatus = .open
    /// The expected amount; its currency is fixed until changed with ``Command/changeCurrency(to:)``.
    public internal(set) var amount: Money?
    /// When the deal is expected to close, to the second; nil when not known.
    public internal(set) var expectedCloseDate: Date?
    /// The owner's principal id; nil when the deal has none.
    public internal(set) var owner: String?
    /// The company the deal is with; nil when none.
    public internal(set) var companyID: CompanyID?
    /// The people involved, and the part each plays.
    public internal(set) var contacts: [ContactID: DealContactRole] = [:]
    /// The amount the deal was won with.
    public internal(set) var finalAmount: Money?
    /// Why the deal was lost.
    public internal(set) var lostReason: String?
    /// The (open) stage the deal was in when it was lost.
    public internal(set) var lostAtStage: String?
    /// When the deal was won or lost.
    public internal(set) var closedAt: Date?

    /// A deal that was not opened yet: the state before any event.
    public init(id: DealID) { self.id = id }

    /// The owner for access policies and `owner:` tags (``owner``).
    public var ownerID: String? { owner }

    /// Whether the deal is won or lost.
    public var isClosed: Bool { status != .open }

    /// Refuses changes to a closed deal.
    func ensureOpen() throws(CRMError) {
        if isClosed { throw .dealClosed(id: id.description, status: status.rawValue) }
    }

    /// Refuses a pipeline that is not the deal's.
    func ensureSamePipeline(_ pipeline: Pipeline) throws(CRMError) {
        guard pipeline.id == pipelineID else {
            throw .invalidValue(field: "pipeline", reason: "deal \(id) is in pipeline \(pipelineID?.description ?? "none"), not \(pipeline.id)")
        }
    }

    /// Folds one stored deal event into the state; other events are ignored. Reopening clears the
    /// final amount, the lost reason and stage, and the closing time.
    public mutating func apply(_ event: any Event) {
        switch event {
        case let e as DealOpened:
            exists = true
            title = e.title
            pipelineID = e.pipelineID
            stage = e.stage
            status = .open
            amount = e.amount
            expectedCloseDate = e.expectedCloseDate
            owner = e.ownerID
            companyID = e.companyID
            for contact in e.contacts { contacts[contact.contactID] = contact.role }
        case let e as DealRenamed: title = e.to
        case let e as DealStageChanged: stage = e.to
        case let e as DealAmountChanged: amount = e.to
        case let e as DealCurrencyChanged: amount = e.to
        case let e as DealExpectedCloseDateChanged: expectedCloseDate = e.to
        case let e as DealOwnerAssigned: owner = e.to
        case let e as DealCompanyChanged: companyID = e.to
        case let e as DealContactAdded: contacts[e.contactID] = e.role
        case let e as DealContactRoleChanged: contacts[e.contactID] = e.to
        case let e as DealContactRemoved: contacts[e.contactID] = nil
        case let e as DealWon:
            status = .won
            stage = e.stage
            finalAmount = e.finalAmount
            closedAt = e.at
        case let e as DealLost:
            status = .lost
            stage = e.stage
            lostReason = e.reason
            lostAtStage = e.lostAtStage
            closedAt = e.at
        case let e as DealReopened:
            status = .open
            stage = e.toStage
            finalAmount = nil
            lostReason = nil
            lostAtStage = nil
            closedAt = nil
        default: break
        }
    }

    /// The pipeline, the company and every contact, plus the company or
    /// contact an event unlinks (no longer in the state after it).
    public func extraTags(for event: any Event) -> [Tag] {
        var tags: [Tag] = []
        if let pipelineID { tags.append(pipelineID.tag) }
        if let companyID { tags.append(companyID.tag) }
        switch event {
        case let e as DealCompanyChanged: if let from = e.from, from != companyID { tags.append(from.tag) }
        case let e as DealContactRemoved: tags.append(e.contactID.tag)
        default: break
        }
        tags += contacts.keys.sorted().map(\.tag)
        return tags
    }
}

/// Whether a deal is still open, won or lost.
///
/// ```swift
/// if deal.status == .won { print(deal.finalAmount!) }
/// ```
public enum DealStatus: String, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case open, won, lost
    /// The status's name: `open`, `won` or `lost`.
    public var description: String { rawValue }
}

/// The part a contact plays in a deal. Applications may add roles.
///
/// ```swift
/// try await repository.execute(.addContact(ada, role: .decisionMaker), on: deal, context: context)
/// let champion = DealContactRole(rawValue: "champion")
/// ```
public struct DealContactRole: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The role's name as stored, such as `decision-maker`.
    public var rawValue: String
    /// A role by name, such as an application's own `DealContactRole(rawValue: "champion")`.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Decides whether to buy (`decision-maker`).
    public static let decisionMaker = DealContactRole(rawValue: "decision-maker")
    /// Assesses the offer (`evaluator`).
    public static let evaluator = DealContactRole(rawValue: "evaluator")
    /// Sways the decision without making it (`influencer`).
    public static let influencer = DealContactRole(rawValue: "influencer")
    /// Any other part (`other`); a converted lead's contact gets it unless the ``DealDraft`` names a role.
    public static let other = DealContactRole(rawValue: "other")

    /// The role's name (``rawValue``).
    public var description: String { rawValue }
}

/// A contact on a deal with their role, as recorded when a deal is opened.
///
/// ```swift
/// DealContact(contactID: ada, role: .evaluator)
/// ```
public struct DealContact: Hashable, Sendable, Codable {
    /// The contact.
    public var contactID: ContactID
    /// Their role on the deal.
    public var role: DealContactRole

    /// A contact with their role on the deal.
    public init(contactID: ContactID, role: DealContactRole) {
        self.contactID = contactID
        self.role = role
    }
}

extension Deal {
    /// The current version of every deal event type.
    public static let eventTypes: [any Event.Type] = [
        DealOpened.self, DealRenamed.self, DealStageChanged.self, DealAmountChanged.self, DealCurrencyChanged.self,
        DealExpectedCloseDateChanged.self, DealOwnerAssigned.self, DealCompanyChanged.self, DealContactAdded.self,
        DealContactRoleChanged.self, DealContactRemoved.self, DealWon.self, DealLost.self, DealReopened.self,
    ]
}

/// Snapshots store the stored properties as JSON (see `docs/snapshots.md`).
extension Deal: SnapshottableAggregate, Equatable {
    /// Raise with any change to the stored properties or to `apply(_:)`.
    public static let snapshotSchemaVersion: UInt32 = 1
}
