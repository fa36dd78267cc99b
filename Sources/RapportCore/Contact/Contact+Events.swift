public import Foundation
public import RapportEventLog

/// A contact was created. Schema version 2 splits the name into given and
/// family parts; version 1 records (``ContactCreatedV1``) are upcast on read.
public struct ContactCreated: Event {
    public static let typeName = "ContactCreated"
    public static let schemaVersion: UInt32 = 2
    public var name: PersonName
    public var email: EmailAddress?
    public var phone: PhoneNumber?
    public var ownerID: String?
    public var lifecycleStage: LifecycleStage
}

/// Version 1 of ``ContactCreated``, as stored before names were split.
public struct ContactCreatedV1: Event {
    public static let typeName = "ContactCreated"
    public static let schemaVersion: UInt32 = 1
    public var name: String
    public var email: EmailAddress?
    public var ownerID: String?

    public init(name: String, email: EmailAddress?, ownerID: String?) {
        self.name = name
        self.email = email
        self.ownerID = ownerID
    }
}

/// The contact got another name (old and new).
public struct ContactRenamed: Event {
    public static let typeName = "ContactRenamed"
    public var from: PersonName?
    public var to: PersonName
}

/// An email address was added to the contact.
public struct ContactEmailAdded: Event {
    public static let typeName = "ContactEmailAdded"
    public var email: EmailAddress
}

/// An email address was removed from the contact.
public struct ContactEmailRemoved: Event {
    public static let typeName = "ContactEmailRemoved"
    public var email: EmailAddress
}

/// A phone number was added to the contact.
public struct ContactPhoneAdded: Event {
    public static let typeName = "ContactPhoneAdded"
    public var phone: PhoneNumber
}

/// A phone number was removed from the contact.
public struct ContactPhoneRemoved: Event {
    public static let typeName = "ContactPhoneRemoved"
    public var phone: PhoneNumber
}

/// The contact's job title changed (old and new; nil: none).
public struct ContactJobTitleChanged: Event {
    public static let typeName = "ContactJobTitleChanged"
    public var from: String?
    public var to: String?
}

/// The contact was linked to a company, with a role; the previous company, if any, is recorded.
public struct ContactLinkedToCompany: Event {
    public static let typeName = "ContactLinkedToCompany"
    public var companyID: CompanyID
    public var role: String?
    public var previousCompanyID: CompanyID?
}

/// The contact's link to its company was removed.
public struct ContactUnlinkedFromCompany: Event {
    public static let typeName = "ContactUnlinkedFromCompany"
    public var companyID: CompanyID
}

/// The contact was given to another owner (old and new).
public struct ContactOwnerAssigned: Event {
    public static let typeName = "ContactOwnerAssigned"
    public var from: String?
    public var to: String
}

/// The contact moved to another lifecycle stage (from and to).
public struct ContactLifecycleStageChanged: Event {
    public static let typeName = "ContactLifecycleStageChanged"
    public var from: LifecycleStage
    public var to: LifecycleStage
}

/// Consent for a channel was given or withdrawn, with its source, lawful basis and time.
public struct ContactConsentRecorded: Event {
    public static let typeName = "ContactConsentRecorded"
    public var channel: ConsentChannel
    public var granted: Bool
    public var source: String
    public var lawfulBasis: String
    public var at: Date
}

/// A custom field was set (old value, if any, and new value).
public struct ContactCustomFieldSet: Event {
    public static let typeName = "ContactCustomFieldSet"
    public var field: String
    public var from: CustomFieldValue?
    public var to: CustomFieldValue
}

/// A custom field was cleared (its last value is recorded).
public struct ContactCustomFieldCleared: Event {
    public static let typeName = "ContactCustomFieldCleared"
    public var field: String
    public var from: CustomFieldValue
}

/// The contact was put in a segment.
public struct ContactAddedToSegment: Event {
    public static let typeName = "ContactAddedToSegment"
    public var segment: String
}

/// The contact was taken out of a segment.
public struct ContactRemovedFromSegment: Event {
    public static let typeName = "ContactRemovedFromSegment"
    public var segment: String
}

/// The contact was archived, with an optional reason; it refuses changes until restored.
public struct ContactArchived: Event {
    public static let typeName = "ContactArchived"
    public var reason: String?
}

/// An archived contact was restored.
public struct ContactRestored: Event {
    public static let typeName = "ContactRestored"
}

/// This contact was a duplicate and now lives on in `survivor`.
public struct ContactMergedInto: Event {
    public static let typeName = "ContactMergedInto"
    public var survivor: ContactID
}

/// The duplicate `duplicate` was merged into this contact; its history stays in its own stream.
public struct ContactAbsorbed: Event {
    public static let typeName = "ContactAbsorbed"
    public var duplicate: ContactID
}

extension Contact {
    public static let eventTypes: [any Event.Type] = [
        ContactCreated.self, ContactRenamed.self, ContactEmailAdded.self, ContactEmailRemoved.self,
        ContactPhoneAdded.self, ContactPhoneRemoved.self, ContactJobTitleChanged.self, ContactLinkedToCompany.self,
        ContactUnlinkedFromCompany.self, ContactOwnerAssigned.self, ContactLifecycleStageChanged.self,
        ContactConsentRecorded.self, ContactCustomFieldSet.self, ContactCustomFieldCleared.self,
        ContactAddedToSegment.self, ContactRemovedFromSegment.self, ContactArchived.self, ContactRestored.self,
        ContactMergedInto.self, ContactAbsorbed.self,
    ]

    public static func registerUpcasters(in registry: inout EventTypeRegistry) {
        registry.register(upcasting: ContactCreatedV1.self, to: ContactCreated.self) { old in
            ContactCreated(name: PersonName(splitting: old.name), email: old.email, phone: nil, ownerID: old.ownerID, lifecycleStage: .subscriber)
        }
    }
}
