public import Foundation
import RapportEventLog

extension Command where A == FollowUpTask {
    /// Creates an open task. The context's actor is recorded as its creator.
    ///
    /// ```swift
    /// try await repository.execute(.create(title: "Send the offer", due: friday, assignee: "user:anna",
    ///                                      links: [EntityRef(adaID)]), on: TaskID(), context: context)
    /// ```
    ///
    /// - Throws: ``CRMError/invalidValue(field:reason:)`` for a blank title, a blank or malformed
    ///   assignee, a malformed link or a link to the task itself (as activities refuse one).
    public static func create(
        title: String, due: Date, assignee: String, priority: TaskPriority = .normal, links: [EntityRef] = []
    ) -> Self {
        Command(name: "task.create", target: .new) { task, context throws(CRMError) in
            let title = try validatedLabel(title, field: "title", maximum: 300)
            let due = try validatedDate(due, field: "due date")
            let assignee = try validatedPrincipalID(assignee, field: "assignee")
            let links = try validatedLinks(links, maximum: FollowUpTask.maximumLinks)
            if links.contains(EntityRef(task.id)) { throw .invalidValue(field: "link", reason: "a task cannot be linked to itself") }
            return [TaskCreated(title: title, dueDate: due, assignee: assignee, priority: priority, links: links, createdBy: context.actor.id)]
        }
    }

    /// The classic "call the client a week after the deal closes": creates a
    /// task due `delay` after `eventDate`, counted in `calendar` (so "one
    /// week" or "one month" means calendar days or months in its time zone;
    /// nil: the Gregorian calendar in UTC).
    ///
    /// ```swift
    /// try await repository.execute(.scheduleFollowUp(after: closedAt, delay: DateComponents(day: 7),
    ///                                                title: "Call the client", assignee: "user:anna",
    ///                                                links: [EntityRef(kind: "deal", id: dealUUID)]),
    ///                              on: TaskID(), context: context)
    /// ```
    ///
    /// - Throws: ``CRMError/invalidValue(field:reason:)`` for a delay that goes back in time or
    ///   cannot be added to the date, and whatever ``create(title:due:assignee:priority:links:)`` refuses.
    public static func scheduleFollowUp(
        after eventDate: Date, delay: DateComponents, calendar: Calendar? = nil, title: String, assignee: String,
        priority: TaskPriority = .normal, links: [EntityRef] = []
    ) -> Self {
        Command(name: "task.create", target: .new) { task, context throws(CRMError) in
            guard let due = (calendar ?? utcGregorian).date(byAdding: delay, to: eventDate) else {
                throw .invalidValue(field: "delay", reason: "it cannot be added to \(eventDate)")
            }
            guard due >= eventDate else { throw .invalidValue(field: "delay", reason: "it is negative") }
            return try create(title: title, due: due, assignee: assignee, priority: priority, links: links).decide(task, context)
        }
    }

    /// ``scheduleFollowUp(after:delay:calendar:title:assignee:priority:links:)`` with a delay in seconds.
    ///
    /// ```swift
    /// try await repository.execute(.scheduleFollowUp(after: meetingEnd, delay: 2 * 3600, title: "Send the minutes",
    ///                                                assignee: "user:anna"), on: TaskID(), context: context)
    /// ```
    public static func scheduleFollowUp(
        after eventDate: Date, delay: TimeInterval, title: String, assignee: String, priority: TaskPriority = .normal,
        links: [EntityRef] = []
    ) -> Self {
        Command(name: "task.create", target: .new) { task, context throws(CRMError) in
            guard delay.isFinite else { throw .invalidValue(field: "delay", reason: "it is not a number of seconds") }
            guard delay >= 0 else { throw .invalidValue(field: "delay", reason: "it is negative") }
            return try create(title: title, due: eventDate.addingTimeInterval(delay), assignee: assignee, priority: priority,
                              links: links).decide(task, context)
        }
    }

    /// Marks the task done, by the context's actor, now. It stays, with its
    /// history; completing it again is refused.
    ///
    /// ```swift
    /// try await repository.execute(.complete(note: "offer sent"), on: taskID, context: context)
    /// ```
    public static func complete(note: String? = nil) -> Self {
        Command(name: "task.complete") { task, context throws(CRMError) in
            try task.ensureOpen()
            return [TaskCompleted(by: context.actor.id, at: wholeSeconds(context.now),
                                  note: try optionalText(note, field: "note", maximum: 10_000))]
        }
    }

    /// Cancels an open task, with the reason why.
    ///
    /// ```swift
    /// try await repository.execute(.cancel(reason: "the deal was lost"), on: taskID, context: context)
    /// ```
    public static func cancel(reason: String) -> Self {
        Command(name: "task.cancel") { task, context throws(CRMError) in
            try task.ensureOpen()
            return [TaskCancelled(by: context.actor.id, at: wholeSeconds(context.now),
                                  reason: try requiredText(reason, field: "reason", maximum: 1_000))]
        }
    }

    /// Moves an open task's due date, with the reason why; the old date is
    /// recorded. The new date may not be in the past; the same date again changes nothing.
    ///
    /// ```swift
    /// try await repository.execute(.reschedule(to: monday, reason: "client on holiday"), on: taskID, context: context)
    /// ```
    public static func reschedule(to due: Date, reason: String) -> Self {
        Command(name: "task.reschedule") { task, context throws(CRMError) in
            try task.ensureOpen()
            let reason = try requiredText(reason, field: "reason", maximum: 1_000)
            let due = try validatedDate(due, field: "due date")
            guard due >= wholeSeconds(context.now) else { throw .invalidValue(field: "due date", reason: "it is in the past") }
            guard let old = task.dueDate, old != due else { return [] }
            return [TaskRescheduled(from: old, to: due, reason: reason, at: wholeSeconds(context.now))]
        }
    }

    /// Hands an open task to another assignee (its new owner).
    ///
    /// ```swift
    /// try await repository.execute(.reassign(to: "user:boris", reason: "Anna is on leave"), on: taskID, context: context)
    /// ```
    public static func reassign(to assignee: String, reason: String? = nil) -> Self {
        Command(name: "task.reassign") { task, _ throws(CRMError) in
            try task.ensureOpen()
            let assignee = try validatedPrincipalID(assignee, field: "assignee")
            guard let old = task.assignee, old != assignee else { return [] }
            return [TaskReassigned(from: old, to: assignee, reason: try optionalText(reason, field: "reason", maximum: 1_000))]
        }
    }

    /// Changes an open task's priority.
    ///
    /// ```swift
    /// try await repository.execute(.changePriority(to: .urgent), on: taskID, context: context)
    /// ```
    public static func changePriority(to priority: TaskPriority) -> Self {
        Command(name: "task.changePriority") { task, _ throws(CRMError) in
            try task.ensureOpen()
            return priority == task.priority ? [] : [TaskPriorityChanged(from: task.priority, to: priority)]
        }
    }
}

/// The Gregorian calendar in UTC: day and month arithmetic that does not
/// depend on the machine's time zone.
let utcGregorian: Calendar = {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    return calendar
}()
