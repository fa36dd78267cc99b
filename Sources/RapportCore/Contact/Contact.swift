public import Foundation
public import RapportEventLog

/// The identity of a contact.
public typealias ContactID = Identifier<Contact>

/// A person the company deals with: one card with their whole history.
///
/// ```swift
/// let id = ContactID()
/// try await repository.execute(.create(name: try PersonName(given: "Ada", family: "Lovelace"),
///                                      email: "ada@example.com"), on: id, context: context)
/// try await repository.execute(.moveLifecycleStage(to: .customer), on: id, context: context)
/// let ada = try await repository.load(id).state
/// ```
public struct Contact: Aggregate {
    /// The kind: stream ids `contact-<uuid>`, tags `contact:<uuid>`.
    public static let kind = "contact"

    /// The contact's identity.
    public let id: ContactID
    /// False until `ContactCreated`.
    public internal(set) var exists = false
    /// The contact's name; nil until created.
    public internal(set) var name: PersonName?
    /// The email addresses, validated and normalised, without repeats, in the order they were added.
    public internal(set) var emails: [EmailAddress] = []
    /// The phone numbers in E.164 form, without repeats, in the order they were added.
    public internal(set) var phones: [PhoneNumber] = []
    /// The job title, trimmed, at most 200 characters; nil when there is none.
    public internal(set) var jobTitle: String?
    /// The company the contact is linked to; nil when none.
    public internal(set) var companyID: CompanyID?
    /// The contact's role at ``companyID``, such as `CTO` (trimmed); nil when none was given.
    public internal(set) var companyRole: String?
    /// The owner's principal id; nil when the contact has none.
    public internal(set) var owner: String?
    /// Where the contact stands in the customer lifecycle.
    public internal(set) var lifecycleStage: LifecycleStage = .subscriber
    /// The latest consent decision per channel; a channel missing here has none recorded.
    public internal(set) var consents: [ConsentChannel: Consent] = [:]
    /// The custom fields that are set, by name.
    public internal(set) var customFields: [String: CustomFieldValue] = [:]
    /// The segments the contact is in, by name.
    public internal(set) var segments: Set<String> = []
    /// Whether the contact is archived; it then refuses changes until restored.
    public internal(set) var isArchived = false
    /// The survivor this contact was merged into, if it was.
    public internal(set) var mergedInto: ContactID?
    /// Duplicates merged into this contact.
    public internal(set) var absorbed: [ContactID] = []

    /// A contact that was not created yet: the state before any event.
    public init(id: ContactID) { self.id = id }

    /// The owner for access policies and `owner:` tags (``owner``).
    public var ownerID: String? { owner }

    /// Refuses commands to a merged or archived contact.
    func ensureActive() throws(CRMError) {
        if let survivor = mergedInto { throw .contactMerged(id: id.description, into: survivor.description) }
        if isArchived { throw .archived(kind: Self.kind, id: id.description) }
    }

    /// Folds one stored contact event into the state; other events are ignored.
    public mutating func apply(_ event: any Event) {
        switch event {
        case let e as ContactCreated:
            exists = true
            name = e.name
            emails = e.email.map { [$0] } ?? []
            phones = e.phone.map { [$0] } ?? []
            owner = e.ownerID
            lifecycleStage = e.lifecycleStage
        case let e as ContactRenamed: name = e.to
        case let e as ContactEmailAdded: emails.append(e.email)
        case let e as ContactEmailRemoved: emails.removeAll { $0 == e.email }
        case let e as ContactPhoneAdded: phones.append(e.phone)
        case let e as ContactPhoneRemoved: phones.removeAll { $0 == e.phone }
        case let e as ContactJobTitleChanged: jobTitle = e.to
        case let e as ContactLinkedToCompany:
            companyID = e.companyID
            companyRole = e.role
        case is ContactUnlinkedFromCompany:
            companyID = nil
            companyRole = nil
        case let e as ContactOwnerAssigned: owner = e.to
        case let e as ContactLifecycleStageChanged: lifecycleStage = e.to
        case let e as ContactConsentRecorded:
            consents[e.channel] = Consent(granted: e.granted, source: e.source, lawfulBasis: e.lawfulBasis, at: e.at)
        case let e as ContactCustomFieldSet: customFields[e.field] = e.to
        case let e as ContactCustomFieldCleared: customFields[e.field] = nil
        case let e as ContactAddedToSegment: segments.insert(e.segment)
        case let e as ContactRemovedFromSegment: segments.remove(e.segment)
        case is ContactArchived: isArchived = true
        case is ContactRestored: isArchived = false
        case let e as ContactMergedInto: mergedInto = e.survivor
        case let e as ContactAbsorbed: absorbed.append(e.duplicate)
        default: break
        }
    }

    /// The tag of the contact's company on most events; on a company link or unlink, the tag of that
    /// company; on a merge, the other contact's tag instead.
    public func extraTags(for event: any Event) -> [Tag] {
        switch event {
        case let e as ContactLinkedToCompany: return [e.companyID.tag]
        case let e as ContactUnlinkedFromCompany: return [e.companyID.tag]
        case let e as ContactMergedInto: return [e.survivor.tag]
        case let e as ContactAbsorbed: return [e.duplicate.tag]
        default: return companyID.map { [$0.tag] } ?? []
        }
    }
}

/// Where a contact stands in the customer lifecycle. Applications may add stages.
public struct LifecycleStage: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The stage's name as stored, such as `customer`.
    public var rawValue: String
    /// A stage by name, such as an application's own `LifecycleStage(rawValue: "evangelist")`.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Receives news or offers (`subscriber`); the stage a contact is created in unless told otherwise.
    public static let subscriber = LifecycleStage(rawValue: "subscriber")
    /// Has shown interest (`lead`); a converted lead's new contact starts here when no deal is opened.
    public static let lead = LifecycleStage(rawValue: "lead")
    /// In a sales conversation (`opportunity`); a converted lead's new contact starts here when a deal is opened.
    public static let opportunity = LifecycleStage(rawValue: "opportunity")
    /// Has bought (`customer`).
    public static let customer = LifecycleStage(rawValue: "customer")
    /// Was a customer and left (`churned`).
    public static let churned = LifecycleStage(rawValue: "churned")

    /// The stage's name (``rawValue``).
    public var description: String { rawValue }
}

/// A channel a contact can consent to be contacted on.
public enum ConsentChannel: String, Hashable, Sendable, Codable, CaseIterable {
    case email, sms, phone
}

/// A consent decision: granted or withdrawn, where it came from, on which legal basis, when.
public struct Consent: Hashable, Sendable, Codable {
    /// True when consent was given, false when it was withdrawn.
    public var granted: Bool
    /// Where it was given, such as `web-form:newsletter` or `call:2024-03-01` (trimmed, not empty).
    public var source: String
    /// The legal basis, such as `consent` or `legitimate-interest` (trimmed, not empty).
    public var lawfulBasis: String
    /// When it was recorded: the recording command's time, to the second.
    public var at: Date
}

/// Snapshots store the stored properties as JSON (see `docs/snapshots.md`).
extension Contact: SnapshottableAggregate, Equatable {
    /// Raise with any change to the stored properties or to `apply(_:)`.
    public static let snapshotSchemaVersion: UInt32 = 1
}
