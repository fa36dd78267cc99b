public import Foundation
public import RapportEventLog

/// An activity was logged: what happened, what it concerns, who logged it and when it happened.
///
/// ```swift
/// ActivityLogged(details: .note(text: "Prefers email."), links: [EntityRef(adaID)], loggedBy: "user:anna",
///                occurredAt: now, notes: nil, outcome: nil)
/// ```
public struct ActivityLogged: Event {
    /// The type name stored with the event: "ActivityLogged".
    public static let typeName = "ActivityLogged"
    /// What happened and on which channel, with the facts of its kind (a call's duration, a meeting's
    /// attendees…): titles, subjects, texts and names trimmed, meeting dates to the second.
    public var details: ActivityDetails
    /// The contacts, companies, deals… it concerns: 1 to ``Activity/maximumLinks``, without repeats,
    /// in the order given, never the activity itself. Each becomes a tag on every event of the activity.
    public var links: [EntityRef]
    /// The principal id of the actor who logged it.
    public var loggedBy: String
    /// When it happened, to the second, between 1900 and 9999: the time given, else a meeting's start,
    /// else the command's time (``CommandContext/now``). The contact history dates a contact's latest touch
    /// (call, meeting, email, SMS or chat) by it.
    public var occurredAt: Date
    /// Free-text notes, trimmed, at most 100,000 characters; nil when none were given.
    public var notes: String?
    /// What came of it, such as "wants a demo", trimmed, at most 1,000 characters; nil when none was given.
    public var outcome: String?
}

/// The notes changed, from the old text to the new (nil: none).
///
/// ```swift
/// ActivityNotesAmended(from: nil, to: "Budget approved in Q3.")
/// ```
public struct ActivityNotesAmended: Event {
    /// The type name stored with the event: "ActivityNotesAmended".
    public static let typeName = "ActivityNotesAmended"
    /// The notes before; nil when there were none.
    public var from: String?
    /// The notes now, trimmed, at most 100,000 characters; nil when they were cleared.
    public var to: String?
}

/// The outcome changed, from the old one to the new (nil: none).
///
/// ```swift
/// ActivityOutcomeAmended(from: "no answer", to: "left a voicemail")
/// ```
public struct ActivityOutcomeAmended: Event {
    /// The type name stored with the event: "ActivityOutcomeAmended".
    public static let typeName = "ActivityOutcomeAmended"
    /// The outcome before; nil when there was none.
    public var from: String?
    /// The outcome now, trimmed, at most 1,000 characters; nil when it was cleared.
    public var to: String?
}

/// The activity now also concerns `entity`.
///
/// ```swift
/// ActivityLinked(entity: EntityRef(dealID))
/// ```
public struct ActivityLinked: Event {
    /// The type name stored with the event: "ActivityLinked".
    public static let typeName = "ActivityLinked"
    /// The entity now linked, which was not linked before (never the activity itself); from this event on,
    /// the activity's events carry its tag.
    public var entity: EntityRef
}

/// The activity no longer concerns `entity`.
///
/// ```swift
/// ActivityUnlinked(entity: EntityRef(companyID))
/// ```
public struct ActivityUnlinked: Event {
    /// The type name stored with the event: "ActivityUnlinked".
    public static let typeName = "ActivityUnlinked"
    /// The entity no longer linked; the activity keeps at least one other link. This event still
    /// carries the entity's tag, later ones do not.
    public var entity: EntityRef
}

/// The activity was removed (a soft delete: it and its history stay in the log).
///
/// ```swift
/// ActivityRemoved(reason: "logged on the wrong contact")
/// ```
public struct ActivityRemoved: Event {
    /// The type name stored with the event: "ActivityRemoved".
    public static let typeName = "ActivityRemoved"
    /// Why it was removed, trimmed, at most 1,000 characters; nil when no reason was given.
    public var reason: String?
}

extension Activity {
    /// The current version of every activity event type.
    public static let eventTypes: [any Event.Type] = [
        ActivityLogged.self, ActivityNotesAmended.self, ActivityOutcomeAmended.self,
        ActivityLinked.self, ActivityUnlinked.self, ActivityRemoved.self,
    ]
}
