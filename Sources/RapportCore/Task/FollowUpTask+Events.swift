public import Foundation
public import RapportEventLog

/// A task was created, by `createdBy`, for `assignee`.
///
/// ```swift
/// TaskCreated(title: "Call Ada", dueDate: due, assignee: "user:anna", priority: .normal, links: [EntityRef(adaID)],
///             createdBy: "user:anna")
/// ```
public struct TaskCreated: Event {
    /// The type name stored with the event: "TaskCreated".
    public static let typeName = "TaskCreated"
    /// What has to be done, trimmed, 1 to 300 characters.
    public var title: String
    /// When it is due, to the second, between 1900 and 9999 (it may already be past).
    public var dueDate: Date
    /// The principal id of who has to do it (trimmed, no spaces or control characters); the task's owner.
    public var assignee: String
    /// How urgent it is.
    public var priority: TaskPriority
    /// The contacts, companies, deals… it is about: at most ``FollowUpTask/maximumLinks``, without
    /// repeats, never the task itself, in the order given; may be empty. Each is a tag on every event
    /// of the task.
    public var links: [EntityRef]
    /// The principal id of who created it: the creating command's actor.
    public var createdBy: String
}

/// The task was done, by `by`, at `at`.
///
/// ```swift
/// TaskCompleted(by: "user:anna", at: now, note: "offer sent")
/// ```
public struct TaskCompleted: Event {
    /// The type name stored with the event: "TaskCompleted".
    public static let typeName = "TaskCompleted"
    /// The principal id of who completed it: the command's actor.
    public var by: String
    /// When it was completed: the command's time (``CommandContext/now``), to the second.
    public var at: Date
    /// How it was done, trimmed, at most 10,000 characters; nil when no note was given.
    public var note: String?
}

/// The task will not be done, and why.
///
/// ```swift
/// TaskCancelled(by: "user:anna", at: now, reason: "the deal was lost")
/// ```
public struct TaskCancelled: Event {
    /// The type name stored with the event: "TaskCancelled".
    public static let typeName = "TaskCancelled"
    /// The principal id of who cancelled it: the command's actor.
    public var by: String
    /// When it was cancelled: the command's time (``CommandContext/now``), to the second.
    public var at: Date
    /// Why, trimmed, 1 to 1,000 characters.
    public var reason: String
}

/// The due date moved from `from` to `to`, and why.
///
/// ```swift
/// TaskRescheduled(from: friday, to: monday, reason: "client on holiday", at: now)
/// ```
public struct TaskRescheduled: Event, Hashable {
    /// The type name stored with the event: "TaskRescheduled".
    public static let typeName = "TaskRescheduled"
    /// The due date before.
    public var from: Date
    /// The new due date, to the second, between 1900 and 9999, not before the time of rescheduling.
    public var to: Date
    /// Why, trimmed, 1 to 1,000 characters.
    public var reason: String
    /// When it was rescheduled.
    public var at: Date
}

/// The task was handed from one assignee to another.
///
/// ```swift
/// TaskReassigned(from: "user:anna", to: "user:boris", reason: "Anna is on leave")
/// ```
public struct TaskReassigned: Event {
    /// The type name stored with the event: "TaskReassigned".
    public static let typeName = "TaskReassigned"
    /// The previous assignee's principal id.
    public var from: String
    /// The new assignee's principal id (trimmed, no spaces or control characters); the task's new owner.
    public var to: String
    /// Why, trimmed, at most 1,000 characters; nil when no reason was given.
    public var reason: String?
}

/// The priority changed.
///
/// ```swift
/// TaskPriorityChanged(from: .normal, to: .urgent)
/// ```
public struct TaskPriorityChanged: Event {
    /// The type name stored with the event: "TaskPriorityChanged".
    public static let typeName = "TaskPriorityChanged"
    /// The priority before.
    public var from: TaskPriority
    /// The priority now.
    public var to: TaskPriority
}

extension FollowUpTask {
    /// The current version of every task event type.
    public static let eventTypes: [any Event.Type] = [
        TaskCreated.self, TaskCompleted.self, TaskCancelled.self, TaskRescheduled.self,
        TaskReassigned.self, TaskPriorityChanged.self,
    ]
}
