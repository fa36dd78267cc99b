public import Foundation
public import RapportEventLog

/// A contact was created. Schema version 2 splits the name into given and
/// family parts; version 1 records (``ContactCreatedV1``) are upcast on read.
public struct ContactCreated: Event {
    /// The type name stored with the event: "ContactCreated".
    public static let typeName = "ContactCreated"
    /// The schema version: 2, the name in given and family parts.
    public static let schemaVersion: UInt32 = 2
    /// The contact's name, given and family parts, checked as ``PersonName/init(given:family:)`` checks
    /// them (trimmed, not both empty, at most 200 characters each). Events stored before this check
    /// and version-1 records read through the upcaster may hold an unchecked name.
    public var name: PersonName
    /// The first email address, validated and normalised; nil when none was given.
    public var email: EmailAddress?
    /// The first phone number, in E.164 form; nil when none was given.
    public var phone: PhoneNumber?
    /// The owner's principal id (trimmed, no spaces or control characters); nil when the contact has none.
    public var ownerID: String?
    /// The stage the contact starts in: `subscriber` unless the creator chose another (a converted
    /// lead's contact starts in `opportunity` when a deal is opened, `lead` otherwise).
    public var lifecycleStage: LifecycleStage
}

/// Version 1 of ``ContactCreated``, as stored before names were split.
public struct ContactCreatedV1: Event {
    /// The type name stored with the event: "ContactCreated", as version 2's.
    public static let typeName = "ContactCreated"
    /// The schema version: 1, the name in one field.
    public static let schemaVersion: UInt32 = 1
    /// The name in one field; read as given and family name by splitting it at its last space.
    public var name: String
    /// The email address, validated and normalised; nil when none was given.
    public var email: EmailAddress?
    /// The owner's principal id; nil when the contact had none.
    public var ownerID: String?

    /// Creates a version-1 payload, as records stored before names were split hold it.
    public init(name: String, email: EmailAddress?, ownerID: String?) {
        self.name = name
        self.email = email
        self.ownerID = ownerID
    }
}

/// The contact got another name (old and new).
public struct ContactRenamed: Event {
    /// The type name stored with the event: "ContactRenamed".
    public static let typeName = "ContactRenamed"
    /// The name before (optional in the payload; a created contact always has one).
    public var from: PersonName?
    /// The new name, checked as ``PersonName/init(given:family:)`` checks it.
    public var to: PersonName
}

/// An email address was added to the contact.
public struct ContactEmailAdded: Event {
    /// The type name stored with the event: "ContactEmailAdded".
    public static let typeName = "ContactEmailAdded"
    /// The address added, validated and normalised (the domain in lower case); the contact did not have it.
    public var email: EmailAddress
}

/// An email address was removed from the contact.
public struct ContactEmailRemoved: Event {
    /// The type name stored with the event: "ContactEmailRemoved".
    public static let typeName = "ContactEmailRemoved"
    /// The address removed, as the contact had it (normalised).
    public var email: EmailAddress
}

/// A phone number was added to the contact.
public struct ContactPhoneAdded: Event {
    /// The type name stored with the event: "ContactPhoneAdded".
    public static let typeName = "ContactPhoneAdded"
    /// The number added, in E.164 form; the contact did not have it.
    public var phone: PhoneNumber
}

/// A phone number was removed from the contact.
public struct ContactPhoneRemoved: Event {
    /// The type name stored with the event: "ContactPhoneRemoved".
    public static let typeName = "ContactPhoneRemoved"
    /// The number removed, in E.164 form.
    public var phone: PhoneNumber
}

/// The contact's job title changed (old and new; nil: none).
public struct ContactJobTitleChanged: Event {
    /// The type name stored with the event: "ContactJobTitleChanged".
    public static let typeName = "ContactJobTitleChanged"
    /// The job title before; nil when there was none.
    public var from: String?
    /// The new job title, trimmed, at most 200 characters; nil when it was cleared.
    public var to: String?
}

/// The contact was linked to a company, with a role; the previous company, if any, is recorded.
public struct ContactLinkedToCompany: Event {
    /// The type name stored with the event: "ContactLinkedToCompany".
    public static let typeName = "ContactLinkedToCompany"
    /// The company the contact is now linked to.
    public var companyID: CompanyID
    /// The contact's role there, such as `CTO`: trimmed, at most 1,000 characters; nil when none (or
    /// a blank one) was given.
    public var role: String?
    /// The company the contact was linked to before: nil when none, the same as ``companyID`` when only
    /// the role changed.
    public var previousCompanyID: CompanyID?
}

/// The contact's link to its company was removed.
public struct ContactUnlinkedFromCompany: Event {
    /// The type name stored with the event: "ContactUnlinkedFromCompany".
    public static let typeName = "ContactUnlinkedFromCompany"
    /// The company the contact was linked to.
    public var companyID: CompanyID
}

/// The contact was given to another owner (old and new).
public struct ContactOwnerAssigned: Event {
    /// The type name stored with the event: "ContactOwnerAssigned".
    public static let typeName = "ContactOwnerAssigned"
    /// The previous owner's principal id; nil when the contact had none.
    public var from: String?
    /// The new owner's principal id (trimmed, no spaces or control characters).
    public var to: String
}

/// The contact moved to another lifecycle stage (from and to).
public struct ContactLifecycleStageChanged: Event {
    /// The type name stored with the event: "ContactLifecycleStageChanged".
    public static let typeName = "ContactLifecycleStageChanged"
    /// The stage before.
    public var from: LifecycleStage
    /// The stage now; another one than `from`.
    public var to: LifecycleStage
}

/// Consent for a channel was given or withdrawn, with its source, lawful basis and time.
public struct ContactConsentRecorded: Event {
    /// The type name stored with the event: "ContactConsentRecorded".
    public static let typeName = "ContactConsentRecorded"
    /// The channel the decision is for: email, SMS or phone.
    public var channel: ConsentChannel
    /// True when consent was given, false when it was withdrawn.
    public var granted: Bool
    /// Where the decision was made, such as `web-form:newsletter`: trimmed, 1 to 1,000 characters.
    public var source: String
    /// The legal basis, such as `consent` or `legitimate-interest`: trimmed, 1 to 1,000 characters.
    public var lawfulBasis: String
    /// When it was recorded: the command's time (``CommandContext/now``), to the second.
    public var at: Date
}

/// A custom field was set (old value, if any, and new value).
public struct ContactCustomFieldSet: Event {
    /// The type name stored with the event: "ContactCustomFieldSet".
    public static let typeName = "ContactCustomFieldSet"
    /// The field's name: 1 to 64 letters, digits, `_` or `-`.
    public var field: String
    /// The value before; nil when the field was not set.
    public var from: CustomFieldValue?
    /// The new value: text at most 10,000 characters, a number not NaN, a date to the whole second
    /// between the years 1900 and 9999.
    public var to: CustomFieldValue
}

/// A custom field was cleared (its last value is recorded).
public struct ContactCustomFieldCleared: Event {
    /// The type name stored with the event: "ContactCustomFieldCleared".
    public static let typeName = "ContactCustomFieldCleared"
    /// The field's name.
    public var field: String
    /// The value the field had.
    public var from: CustomFieldValue
}

/// The contact was put in a segment.
public struct ContactAddedToSegment: Event {
    /// The type name stored with the event: "ContactAddedToSegment".
    public static let typeName = "ContactAddedToSegment"
    /// The segment's name: 1 to 64 letters, digits, `_` or `-`.
    public var segment: String
}

/// The contact was taken out of a segment.
public struct ContactRemovedFromSegment: Event {
    /// The type name stored with the event: "ContactRemovedFromSegment".
    public static let typeName = "ContactRemovedFromSegment"
    /// The segment's name; the contact was in it.
    public var segment: String
}

/// The contact was archived, with an optional reason; it refuses changes until restored.
public struct ContactArchived: Event {
    /// The type name stored with the event: "ContactArchived".
    public static let typeName = "ContactArchived"
    /// Why: trimmed, at most 1,000 characters; nil when no reason (or a blank one) was given.
    public var reason: String?
}

/// An archived contact was restored.
public struct ContactRestored: Event {
    /// The type name stored with the event: "ContactRestored".
    public static let typeName = "ContactRestored"
}

/// This contact was a duplicate and now lives on in `survivor`.
public struct ContactMergedInto: Event {
    /// The type name stored with the event: "ContactMergedInto".
    public static let typeName = "ContactMergedInto"
    /// The contact this one was merged into; commands to this contact are refused from now on.
    public var survivor: ContactID
}

/// The duplicate `duplicate` was merged into this contact; its history stays in its own stream.
public struct ContactAbsorbed: Event {
    /// The type name stored with the event: "ContactAbsorbed".
    public static let typeName = "ContactAbsorbed"
    /// The contact merged into this one; its own stream ends with ``ContactMergedInto``.
    public var duplicate: ContactID
}

extension Contact {
    /// The current version of every contact event type.
    public static let eventTypes: [any Event.Type] = [
        ContactCreated.self, ContactRenamed.self, ContactEmailAdded.self, ContactEmailRemoved.self,
        ContactPhoneAdded.self, ContactPhoneRemoved.self, ContactJobTitleChanged.self, ContactLinkedToCompany.self,
        ContactUnlinkedFromCompany.self, ContactOwnerAssigned.self, ContactLifecycleStageChanged.self,
        ContactConsentRecorded.self, ContactCustomFieldSet.self, ContactCustomFieldCleared.self,
        ContactAddedToSegment.self, ContactRemovedFromSegment.self, ContactArchived.self, ContactRestored.self,
        ContactMergedInto.self, ContactAbsorbed.self,
    ]

    /// Reads version-1 ``ContactCreated`` records (``ContactCreatedV1``) as version 2: the name split
    /// at its last space (``PersonName/init(splitting:)``), no phone, the lifecycle stage `subscriber`.
    public static func registerUpcasters(in registry: inout EventTypeRegistry) {
        registry.register(upcasting: ContactCreatedV1.self, to: ContactCreated.self) { old in
            ContactCreated(name: PersonName(splitting: old.name), email: old.email, phone: nil, ownerID: old.ownerID, lifecycleStage: .subscriber)
        }
    }
}
