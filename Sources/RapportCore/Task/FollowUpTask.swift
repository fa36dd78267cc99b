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
    public static let kind = "task"
    /// The most entities one task may link (each link is a tag on every event).
    public static let maximumLinks = 50

    public let id: TaskID
    /// False until ``TaskCreated``.
    public internal(set) var exists = false
    public internal(set) var title = ""
    public internal(set) var dueDate: Date?
    /// The principal id of who has to do it; also its owner.
    public internal(set) var assignee: String?
    public internal(set) var priority: TaskPriority = .normal
    public internal(set) var links: [EntityRef] = []
    public internal(set) var status: TaskStatus = .open
    /// The principal id of who created it.
    public internal(set) var createdBy: String?
    public internal(set) var completedAt: Date?
    public internal(set) var completedBy: String?
    public internal(set) var completionNote: String?
    public internal(set) var cancelledAt: Date?
    public internal(set) var cancellationReason: String?
    /// Every reschedule, oldest first: old and new due date, and why.
    public internal(set) var reschedules: [TaskRescheduled] = []

    public init(id: TaskID) { self.id = id }

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
