public import Foundation
public import RapportEventLog

/// A task was created, by `createdBy`, for `assignee`.
///
/// ```swift
/// TaskCreated(title: "Call Ada", dueDate: due, assignee: "user:anna", priority: .normal, links: [EntityRef(adaID)],
///             createdBy: "user:anna")
/// ```
public struct TaskCreated: Event {
    public static let typeName = "TaskCreated"
    public var title: String
    public var dueDate: Date
    public var assignee: String
    public var priority: TaskPriority
    public var links: [EntityRef]
    public var createdBy: String
}

/// The task was done, by `by`, at `at`.
///
/// ```swift
/// TaskCompleted(by: "user:anna", at: now, note: "offer sent")
/// ```
public struct TaskCompleted: Event {
    public static let typeName = "TaskCompleted"
    public var by: String
    public var at: Date
    public var note: String?
}

/// The task will not be done, and why.
///
/// ```swift
/// TaskCancelled(by: "user:anna", at: now, reason: "the deal was lost")
/// ```
public struct TaskCancelled: Event {
    public static let typeName = "TaskCancelled"
    public var by: String
    public var at: Date
    public var reason: String
}

/// The due date moved from `from` to `to`, and why.
///
/// ```swift
/// TaskRescheduled(from: friday, to: monday, reason: "client on holiday", at: now)
/// ```
public struct TaskRescheduled: Event, Hashable {
    public static let typeName = "TaskRescheduled"
    public var from: Date
    public var to: Date
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
    public static let typeName = "TaskReassigned"
    public var from: String
    public var to: String
    public var reason: String?
}

/// The priority changed.
///
/// ```swift
/// TaskPriorityChanged(from: .normal, to: .urgent)
/// ```
public struct TaskPriorityChanged: Event {
    public static let typeName = "TaskPriorityChanged"
    public var from: TaskPriority
    public var to: TaskPriority
}

extension FollowUpTask {
    public static let eventTypes: [any Event.Type] = [
        TaskCreated.self, TaskCompleted.self, TaskCancelled.self, TaskRescheduled.self,
        TaskReassigned.self, TaskPriorityChanged.self,
    ]
}
