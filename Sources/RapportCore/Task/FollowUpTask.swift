public import Foundation
public import RapportEventLog

/// The identity of a task.
public typealias TaskID = Identifier<FollowUpTask>

/// A follow-up or reminder: something an assignee has to do by a due date,
/// about the contacts, companies and deals it links. (Named so as not to
/// shadow Swift's `Task`; its kind is `task`.)
///
/// The assignee is the task's owner, so ``RoleBasedAccessPolicy`` lets a
/// sales rep change only the tasks assigned to them. Completed and cancelled
/// tasks stay, with their status and history; they refuse further changes.
///
/// ```swift
/// let task = TaskID()
/// try await repository.execute(.create(title: "Send the offer", due: friday, assignee: "user:anna",
///                                      priority: .high, links: [EntityRef(adaID)]), on: task, context: context)
/// try await repository.execute(.complete(note: "sent by email"), on: task, context: context)
/// ```
public struct FollowUpTask: Aggregate {
    /// The kind: stream ids `task-<uuid>`, tags `task:<uuid>`.
    public static let kind = "task"
    /// The most entities one task may link (each link is a tag on every event).
    public static let maximumLinks = 50

    /// The task's identity.
    public let id: TaskID
    /// False until ``TaskCreated``.
    public internal(set) var exists = false
    /// What has to be done, trimmed, 1 to 300 characters; empty until created.
    public internal(set) var title = ""
    /// When it is due (after the latest reschedule), to the second; nil until created.
    public internal(set) var dueDate: Date?
    /// The principal id of who has to do it; also its owner.
    public internal(set) var assignee: String?
    /// How urgent it is.
    public internal(set) var priority: TaskPriority = .normal
    /// The contacts, companies, deals… it is about; may be empty.
    public internal(set) var links: [EntityRef] = []
    /// Whether it is open, completed or cancelled.
    public internal(set) var status: TaskStatus = .open
    /// The principal id of who created it.
    public internal(set) var createdBy: String?
    /// When it was completed; nil unless it was.
    public internal(set) var completedAt: Date?
    /// The principal id of who completed it; nil unless it was completed.
    public internal(set) var completedBy: String?
    /// The note given when it was completed; nil when none was given.
    public internal(set) var completionNote: String?
    /// When it was cancelled; nil unless it was.
    public internal(set) var cancelledAt: Date?
    /// Why it was cancelled; nil unless it was.
    public internal(set) var cancellationReason: String?
    /// Every reschedule, oldest first: old and new due date, and why.
    public internal(set) var reschedules: [TaskRescheduled] = []

    /// A task that was not created yet: the state before any event.
    public init(id: TaskID) { self.id = id }

    /// The owner for access policies and `owner:` tags: the ``assignee``.
    public var ownerID: String? { assignee }

    /// Whether the task is still open and its due date is before `now`.
    ///
    /// ```swift
    /// let late = task.isOverdue(at: Date())
    /// ```
    public func isOverdue(at now: Date) -> Bool {
        guard status == .open, let dueDate else { return false }
        return dueDate < now
    }

    /// Refuses changes to a completed or cancelled task.
    func ensureOpen() throws(CRMError) {
        switch status {
        case .open: return
        case .completed: throw .invalidTransition(kind: Self.kind, id: id.description, reason: "it is already completed")
        case .cancelled: throw .invalidTransition(kind: Self.kind, id: id.description, reason: "it was cancelled")
        }
    }

    /// Folds one stored task event into the state; other events are ignored.
    public mutating func apply(_ event: any Event) {
        switch event {
        case let e as TaskCreated:
            exists = true
            title = e.title
            dueDate = e.dueDate
            assignee = e.assignee
            priority = e.priority
            links = e.links
            createdBy = e.createdBy
        case let e as TaskCompleted:
            status = .completed
            completedAt = e.at
            completedBy = e.by
            completionNote = e.note
        case let e as TaskCancelled:
            status = .cancelled
            cancelledAt = e.at
            cancellationReason = e.reason
        case let e as TaskRescheduled:
            dueDate = e.to
            reschedules.append(e)
        case let e as TaskReassigned: assignee = e.to
        case let e as TaskPriorityChanged: priority = e.to
        default: break
        }
    }

    /// Every linked entity's tag, on every event.
    public func extraTags(for event: any Event) -> [Tag] { links.map(\.tag) }
}

/// How urgent a task is, from ``low`` to ``urgent`` (comparable in that order).
///
/// ```swift
/// let pressing = tasks.filter { $0.priority >= .high }
/// ```
public enum TaskPriority: String, Hashable, Sendable, Codable, CaseIterable, Comparable {
    case low, normal, high, urgent

    /// Orders priorities from ``low`` to ``urgent``.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Where a task stands. Only open tasks change.
///
/// ```swift
/// if task.status == .completed { print(task.completedAt!) }
/// ```
public enum TaskStatus: String, Hashable, Sendable, Codable, CaseIterable {
    case open, completed, cancelled
}

/// Snapshots store the stored properties as JSON (see `docs/snapshots.md`).
extension FollowUpTask: SnapshottableAggregate, Equatable {
    /// Raise with any change to the stored properties or to `apply(_:)`.
    public static let snapshotSchemaVersion: UInt32 = 1
}
