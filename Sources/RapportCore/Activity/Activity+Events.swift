public import Foundation
public import RapportEventLog

/// An activity was logged: what happened, what it concerns, who logged it and when it happened.
///
/// ```swift
/// ActivityLogged(details: .note(text: "Prefers email."), links: [EntityRef(adaID)], loggedBy: "user:anna",
///                occurredAt: now, notes: nil, outcome: nil)
/// ```
public struct ActivityLogged: Event {
    public static let typeName = "ActivityLogged"
    public var details: ActivityDetails
    public var links: [EntityRef]
    /// The principal id of the actor who logged it.
    public var loggedBy: String
    public var occurredAt: Date
    public var notes: String?
    public var outcome: String?
}

/// The notes changed, from the old text to the new (nil: none).
///
/// ```swift
/// ActivityNotesAmended(from: nil, to: "Budget approved in Q3.")
/// ```
public struct ActivityNotesAmended: Event {
    public static let typeName = "ActivityNotesAmended"
    public var from: String?
    public var to: String?
}

/// The outcome changed, from the old one to the new (nil: none).
///
/// ```swift
/// ActivityOutcomeAmended(from: "no answer", to: "left a voicemail")
/// ```
public struct ActivityOutcomeAmended: Event {
    public static let typeName = "ActivityOutcomeAmended"
    public var from: String?
    public var to: String?
}

/// The activity now also concerns `entity`.
///
/// ```swift
/// ActivityLinked(entity: EntityRef(dealID))
/// ```
public struct ActivityLinked: Event {
    public static let typeName = "ActivityLinked"
    public var entity: EntityRef
}

/// The activity no longer concerns `entity`.
///
/// ```swift
/// ActivityUnlinked(entity: EntityRef(companyID))
/// ```
public struct ActivityUnlinked: Event {
    public static let typeName = "ActivityUnlinked"
    public var entity: EntityRef
}

/// The activity was removed (a soft delete: it and its history stay in the log).
///
/// ```swift
/// ActivityRemoved(reason: "logged on the wrong contact")
/// ```
public struct ActivityRemoved: Event {
    public static let typeName = "ActivityRemoved"
    public var reason: String?
}

extension Activity {
    public static let eventTypes: [any Event.Type] = [
        ActivityLogged.self, ActivityNotesAmended.self, ActivityOutcomeAmended.self,
        ActivityLinked.self, ActivityUnlinked.self, ActivityRemoved.self,
    ]
}
