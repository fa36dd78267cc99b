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

public struct ContactRenamed: Event {
    public static let typeName = "ContactRenamed"
    public var from: PersonName?
    public var to: PersonName
}

public struct ContactEmailAdded: Event {
    public static let typeName = "ContactEmailAdded"
    public var email: EmailAddress
}

public struct ContactEmailRemoved: Event {
    public static let typeName = "ContactEmailRemoved"
    public var email: EmailAddress
}

public struct ContactPhoneAdded: Event {
    public static let typeName = "ContactPhoneAdded"
    public var phone: PhoneNumber
}

public struct ContactPhoneRemoved: Event {
    public static let typeName = "ContactPhoneRemoved"
    public var phone: PhoneNumber
}

public struct ContactJobTitleChanged: Event {
    public static let typeName = "ContactJobTitleChanged"
    public var from: String?
    public var to: String?
}

public struct ContactLinkedToCompany: Event {
    public static let typeName = "ContactLinkedToCompany"
    public var companyID: CompanyID
    public var role: String?
    public var previousCompanyID: CompanyID?
}

public struct ContactUnlinkedFromCompany: Event {
    public static let typeName = "ContactUnlinkedFromCompany"
    public var companyID: CompanyID
}

public struct ContactOwnerAssigned: Event {
    public static let typeName = "ContactOwnerAssigned"
    public var from: String?
    public var to: String
}

public struct ContactLifecycleStageChanged: Event {
    public static let typeName = "ContactLifecycleStageChanged"
    public var from: LifecycleStage
    public var to: LifecycleStage
}

public struct ContactConsentRecorded: Event {
    public static let typeName = "ContactConsentRecorded"
    public var channel: ConsentChannel
    public var granted: Bool
    public var source: String
    public var lawfulBasis: String
    public var at: Date
}

public struct ContactCustomFieldSet: Event {
    public static let typeName = "ContactCustomFieldSet"
    public var field: String
    public var from: CustomFieldValue?
    public var to: CustomFieldValue
}

public struct ContactCustomFieldCleared: Event {
    public static let typeName = "ContactCustomFieldCleared"
    public var field: String
    public var from: CustomFieldValue
}

public struct ContactAddedToSegment: Event {
    public static let typeName = "ContactAddedToSegment"
    public var segment: String
}

public struct ContactRemovedFromSegment: Event {
    public static let typeName = "ContactRemovedFromSegment"
    public var segment: String
}

public struct ContactArchived: Event {
    public static let typeName = "ContactArchived"
    public var reason: String?
}

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
