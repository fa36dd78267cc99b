import Foundation
@testable import RapportCore
import RapportEventLog
import Testing

@Suite("FollowUpTask")
struct FollowUpTaskTests {
    let ada = EntityRef(ContactID())
    let deal = EntityRef(DealID())
    let now = Date(timeIntervalSince1970: 1_700_000_000)
    var friday: Date { now + 3 * 86_400 }

    var created: TaskCreated {
        TaskCreated(title: "Send the offer", dueDate: friday, assignee: "user:anna", priority: .high, links: [ada, deal],
                    createdBy: "user:anna")
    }

    func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    func isInvalid(_ field: String) -> (CRMError) -> Bool {
        { if case .invalidValue(field: field, _) = $0 { true } else { false } }
    }

    // MARK: creating

    @Test func createRecordsTheCreatorAndTrimsItsInput() {
        Given<FollowUpTask>([]).when(.create(title: " Send the offer ", due: friday + 0.9, assignee: " user:anna ", priority: .high,
                                             links: [ada, deal, ada]))
            .then([created])
        var given = Given<FollowUpTask>([])
        given.context.actor = boris
        given.when(.create(title: "Call Ada", due: now, assignee: "user:anna"))
            .then([TaskCreated(title: "Call Ada", dueDate: now, assignee: "user:anna", priority: .normal, links: [], createdBy: "user:boris")])
    }

    @Test func createRefusesBadInput() {
        let given = Given<FollowUpTask>([])
        given.when(.create(title: "  ", due: friday, assignee: "user:anna")).thenFails(.invalidValue(field: "title", reason: "it is empty"))
        given.when(.create(title: String(repeating: "t", count: 301), due: friday, assignee: "user:anna"))
            .thenFails(.invalidValue(field: "title", reason: "it is longer than 300 characters"))
        given.when(.create(title: "Call", due: friday, assignee: "")).thenFails(.invalidValue(field: "assignee", reason: "it is empty"))
        given.when(.create(title: "Call", due: friday, assignee: "anna smith"))
            .thenFails(.invalidValue(field: "assignee", reason: "\"anna smith\" is not a principal id"))
        given.when(.create(title: "Call", due: friday, assignee: "user:anna", links: [EntityRef(Identifier<Gadget>())]))
            .thenFails(where: isInvalid("link"))
        given.when(.create(title: "Call", due: Date(timeIntervalSince1970: 253_402_300_800), assignee: "user:anna"))
            .thenFails(.invalidValue(field: "due date", reason: "it is not between the years 1900 and 9999"))
        let many = (0...FollowUpTask.maximumLinks).map { _ in EntityRef(ContactID()) }
        given.when(.create(title: "Call", due: friday, assignee: "user:anna", links: many))
            .thenFails(.invalidValue(field: "links", reason: "there are more than 50 of them"))
    }

    @Test func aTaskIsNotLinkedToItself() {
        let given = Given<FollowUpTask>([])
        given.when(.create(title: "Call", due: friday, assignee: "user:anna", links: [ada, EntityRef(given.id)]))
            .thenFails(.invalidValue(field: "link", reason: "a task cannot be linked to itself"))
        given.when(.scheduleFollowUp(after: now, delay: 3_600, title: "Call", assignee: "user:anna", links: [EntityRef(given.id)]))
            .thenFails(.invalidValue(field: "link", reason: "a task cannot be linked to itself"))
        // Another task is a link like any other.
        let other = EntityRef(TaskID())
        given.when(.create(title: "Call", due: friday, assignee: "user:anna", links: [other]))
            .then([TaskCreated(title: "Call", dueDate: friday, assignee: "user:anna", priority: .normal, links: [other], createdBy: "user:anna")])
    }

    // MARK: scheduling a follow-up

    @Test func aFollowUpIsDueAWeekAfterTheDealCloses() {
        let closed = date("2024-03-20T10:00:00Z")
        Given<FollowUpTask>([]).when(.scheduleFollowUp(after: closed, delay: DateComponents(day: 7), title: "Call the client",
                                                       assignee: "user:anna", links: [deal]))
            .then([TaskCreated(title: "Call the client", dueDate: date("2024-03-27T10:00:00Z"), assignee: "user:anna", priority: .normal,
                               links: [deal], createdBy: "user:anna")])
        // Months are calendar months: a month after January 31st is February 29th in 2024.
        Given<FollowUpTask>([]).when(.scheduleFollowUp(after: date("2024-01-31T09:00:00Z"), delay: DateComponents(month: 1),
                                                       title: "Renewal check", assignee: "user:anna", priority: .urgent))
            .then([TaskCreated(title: "Renewal check", dueDate: date("2024-02-29T09:00:00Z"), assignee: "user:anna", priority: .urgent,
                               links: [], createdBy: "user:anna")])
    }

    @Test func aWeekIsSevenCalendarDaysInTheGivenTimeZone() {
        // Berlin moves to summer time on 2024-03-31: a week after 11:00 CET is 11:00 CEST, one hour less in UTC.
        var berlin = Calendar(identifier: .gregorian)
        berlin.timeZone = TimeZone(identifier: "Europe/Berlin")!
        Given<FollowUpTask>([]).when(.scheduleFollowUp(after: date("2024-03-29T10:00:00Z"), delay: DateComponents(day: 7), calendar: berlin,
                                                       title: "Call the client", assignee: "user:anna"))
            .then([TaskCreated(title: "Call the client", dueDate: date("2024-04-05T09:00:00Z"), assignee: "user:anna", priority: .normal,
                               links: [], createdBy: "user:anna")])
        Given<FollowUpTask>([]).when(.scheduleFollowUp(after: date("2024-03-29T10:00:00Z"), delay: DateComponents(day: 7),
                                                       title: "Call the client", assignee: "user:anna"))
            .then([TaskCreated(title: "Call the client", dueDate: date("2024-04-05T10:00:00Z"), assignee: "user:anna", priority: .normal,
                               links: [], createdBy: "user:anna")])
    }

    @Test func aFollowUpCanBeDueSomeSecondsLater() {
        let meetingEnd = date("2024-05-02T15:00:00Z")
        Given<FollowUpTask>([]).when(.scheduleFollowUp(after: meetingEnd, delay: 2 * 3600, title: "Send the minutes", assignee: "user:boris",
                                                       links: [ada]))
            .then([TaskCreated(title: "Send the minutes", dueDate: date("2024-05-02T17:00:00Z"), assignee: "user:boris", priority: .normal,
                               links: [ada], createdBy: "user:anna")])
    }

    @Test func aFollowUpRefusesANegativeDelay() {
        let given = Given<FollowUpTask>([])
        given.when(.scheduleFollowUp(after: now, delay: DateComponents(day: -1), title: "Call", assignee: "user:anna"))
            .thenFails(.invalidValue(field: "delay", reason: "it is negative"))
        given.when(.scheduleFollowUp(after: now, delay: -60, title: "Call", assignee: "user:anna"))
            .thenFails(.invalidValue(field: "delay", reason: "it is negative"))
        given.when(.scheduleFollowUp(after: now, delay: .infinity, title: "Call", assignee: "user:anna"))
            .thenFails(.invalidValue(field: "delay", reason: "it is not a number of seconds"))
        // The task's own rules apply too.
        given.when(.scheduleFollowUp(after: now, delay: DateComponents(year: 1_000_000), title: "Call", assignee: "user:anna"))
            .thenFails(.invalidValue(field: "due date", reason: "it is not between the years 1900 and 9999"))
        given.when(.scheduleFollowUp(after: now, delay: DateComponents(day: 7), title: "", assignee: "user:anna"))
            .thenFails(.invalidValue(field: "title", reason: "it is empty"))
        given.when(.scheduleFollowUp(after: now, delay: 60, title: "Call", assignee: ""))
            .thenFails(.invalidValue(field: "assignee", reason: "it is empty"))
    }

    // MARK: completing and cancelling

    @Test func completingRecordsWhoAndWhenAndHappensOnce() {
        let given = Given<FollowUpTask>([created])
        given.when(.complete(note: " sent by email ")).then([TaskCompleted(by: "user:anna", at: now, note: "sent by email")])
        given.when(.complete()).then([TaskCompleted(by: "user:anna", at: now, note: nil)])
        given.when(.complete(note: String(repeating: "n", count: 10_001)))
            .thenFails(.invalidValue(field: "note", reason: "it is longer than 10000 characters"))
        let done = Given<FollowUpTask>([created, TaskCompleted(by: "user:anna", at: now, note: nil)])
        done.when(.complete()).thenFails(.invalidTransition(kind: "task", id: done.id.description, reason: "it is already completed"))
        let cancelled = Given<FollowUpTask>([created, TaskCancelled(by: "user:anna", at: now, reason: "deal lost")])
        cancelled.when(.complete()).thenFails(.invalidTransition(kind: "task", id: cancelled.id.description, reason: "it was cancelled"))
    }

    @Test func cancellingNeedsAReasonAndAnOpenTask() {
        let given = Given<FollowUpTask>([created])
        given.when(.cancel(reason: " the deal was lost ")).then([TaskCancelled(by: "user:anna", at: now, reason: "the deal was lost")])
        given.when(.cancel(reason: " ")).thenFails(.invalidValue(field: "reason", reason: "it is empty"))
        let done = Given<FollowUpTask>([created, TaskCompleted(by: "user:anna", at: now, note: nil)])
        done.when(.cancel(reason: "oops")).thenFails(.invalidTransition(kind: "task", id: done.id.description, reason: "it is already completed"))
        let cancelled = Given<FollowUpTask>([created, TaskCancelled(by: "user:anna", at: now, reason: "deal lost")])
        cancelled.when(.cancel(reason: "again")).thenFails(.invalidTransition(kind: "task", id: cancelled.id.description, reason: "it was cancelled"))
    }

    // MARK: rescheduling

    @Test func reschedulingRecordsTheOldAndNewDateAndWhy() {
        let monday = friday + 3 * 86_400
        let given = Given<FollowUpTask>([created])
        given.when(.reschedule(to: monday, reason: " client on holiday "))
            .then([TaskRescheduled(from: friday, to: monday, reason: "client on holiday", at: now)])
        given.when(.reschedule(to: now, reason: "do it today")).then([TaskRescheduled(from: friday, to: now, reason: "do it today", at: now)])
        given.when(.reschedule(to: friday + 0.5, reason: "same day")).thenNothing()
        given.when(.reschedule(to: monday, reason: "")).thenFails(.invalidValue(field: "reason", reason: "it is empty"))
        given.when(.reschedule(to: monday, reason: String(repeating: "r", count: 1_001)))
            .thenFails(.invalidValue(field: "reason", reason: "it is longer than 1000 characters"))
        given.when(.reschedule(to: Date(timeIntervalSince1970: 1e15), reason: "much later"))
            .thenFails(.invalidValue(field: "due date", reason: "it is not between the years 1900 and 9999"))
        given.when(.reschedule(to: now - 1, reason: "oops")).thenFails(.invalidValue(field: "due date", reason: "it is in the past"))
    }

    @Test func closedTasksCannotBeRescheduledReassignedOrReprioritised() {
        let done = Given<FollowUpTask>([created, TaskCompleted(by: "user:anna", at: now, note: nil)])
        let completed = CRMError.invalidTransition(kind: "task", id: done.id.description, reason: "it is already completed")
        done.when(.reschedule(to: friday + 86_400, reason: "later")).thenFails(completed)
        done.when(.reassign(to: "user:boris")).thenFails(completed)
        done.when(.changePriority(to: .low)).thenFails(completed)
        let cancelled = Given<FollowUpTask>([created, TaskCancelled(by: "user:anna", at: now, reason: "deal lost")])
        let wasCancelled = CRMError.invalidTransition(kind: "task", id: cancelled.id.description, reason: "it was cancelled")
        cancelled.when(.reschedule(to: friday + 86_400, reason: "later")).thenFails(wasCancelled)
        cancelled.when(.reassign(to: "user:boris")).thenFails(wasCancelled)
        cancelled.when(.changePriority(to: .low)).thenFails(wasCancelled)
    }

    // MARK: reassigning and priorities

    @Test func reassigningHandsTheTaskOver() {
        let given = Given<FollowUpTask>([created])
        given.when(.reassign(to: "user:boris", reason: "Anna is on leave"))
            .then([TaskReassigned(from: "user:anna", to: "user:boris", reason: "Anna is on leave")])
        given.when(.reassign(to: " user:anna ")).thenNothing()
        given.when(.reassign(to: " ")).thenFails(.invalidValue(field: "assignee", reason: "it is empty"))
        given.when(.reassign(to: "user:boris\n1")).thenFails(where: isInvalid("assignee"))
        given.when(.reassign(to: "user:boris", reason: String(repeating: "r", count: 1_001)))
            .thenFails(.invalidValue(field: "reason", reason: "it is longer than 1000 characters"))
        let handed = Given<FollowUpTask>([created, TaskReassigned(from: "user:anna", to: "user:boris", reason: nil)])
        #expect(handed.state.assignee == "user:boris" && handed.state.ownerID == "user:boris")
    }

    @Test func prioritiesChangeAndCompare() {
        let given = Given<FollowUpTask>([created])
        given.when(.changePriority(to: .urgent)).then([TaskPriorityChanged(from: .high, to: .urgent)])
        given.when(.changePriority(to: .high)).thenNothing()
        #expect(TaskPriority.allCases.sorted() == [.low, .normal, .high, .urgent])
        #expect(TaskPriority.urgent > .high && TaskPriority.low < .normal)
    }

    // MARK: state

    @Test func theStateKeepsStatusAndHistory() {
        let monday = friday + 3 * 86_400
        let state = Given<FollowUpTask>([
            created, TaskRescheduled(from: friday, to: monday, reason: "holiday", at: now),
            TaskPriorityChanged(from: .high, to: .urgent), TaskCompleted(by: "user:boris", at: monday, note: "done"),
        ]).state
        #expect(state.exists && state.title == "Send the offer" && state.createdBy == "user:anna")
        #expect(state.status == .completed && state.completedBy == "user:boris" && state.completedAt == monday && state.completionNote == "done")
        #expect(state.dueDate == monday && state.priority == .urgent)
        #expect(state.reschedules == [TaskRescheduled(from: friday, to: monday, reason: "holiday", at: now)])
        #expect(!state.isOverdue(at: monday + 86_400), "a completed task is never overdue")
        let open = Given<FollowUpTask>([created]).state
        #expect(open.isOverdue(at: friday + 1))
        #expect(!open.isOverdue(at: friday))
        let cancelled = Given<FollowUpTask>([created, TaskCancelled(by: "user:anna", at: now, reason: "lost")]).state
        #expect(cancelled.status == .cancelled && cancelled.cancellationReason == "lost" && cancelled.cancelledAt == now)
        #expect(!cancelled.isOverdue(at: friday + 1))
        #expect(Given<FollowUpTask>([created]).state.extraTags(for: TaskPriorityChanged(from: .high, to: .low)) == [ada.tag, deal.tag])
    }

    // MARK: with a store

    @Test func aCompletedTaskStaysReadableWithItsHistory() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        let task = TaskID()
        let start = wholeSeconds(Date())
        try await repository.execute(.scheduleFollowUp(after: start, delay: DateComponents(day: 7), title: "Call the client",
                                                       assignee: anna.id, links: [deal]), on: task, context: context(anna))
        try await repository.execute(.reschedule(to: start + 8 * 86_400, reason: "client travelling"), on: task, context: context(anna))
        try await repository.execute(.complete(note: "renewal agreed"), on: task, context: context(anna, .phone))
        await #expect(throws: CRMError.invalidTransition(kind: "task", id: task.description, reason: "it is already completed")) {
            try await repository.execute(.complete(), on: task, context: context(anna))
        }
        await #expect(throws: CRMError.invalidTransition(kind: "task", id: task.description, reason: "it is already completed")) {
            try await repository.execute(.reschedule(to: start + 9 * 86_400, reason: "again"), on: task, context: context(anna))
        }

        let loaded = try await repository.load(task)
        #expect(loaded.version == 3, "the refused commands appended nothing")
        #expect(loaded.state.status == .completed)
        #expect(loaded.state.title == "Call the client" && loaded.state.completionNote == "renewal agreed" && loaded.state.completedBy == anna.id)
        #expect(loaded.state.dueDate == start + 8 * 86_400)
        #expect(loaded.state.reschedules.map(\.from) == [start + 7 * 86_400])
        #expect(loaded.state.reschedules.map(\.reason) == ["client travelling"])

        let history = try await store.readStream(task.streamID, from: 1, direction: .forward, limit: 10)
        #expect(history.map(\.type) == ["TaskCreated", "TaskRescheduled", "TaskCompleted"])
        #expect(history.map(\.metadata.channel) == [.ui, .ui, .phone])
        let owner = try Tag("owner:user:anna")
        for event in history {
            #expect(event.tags.contains(deal.tag) && event.tags.contains(task.tag) && event.tags.contains(owner))
        }
    }

    /// Support works on tasks (and activities and contacts) it owns or that have no owner, as the docs say.
    @Test func supportChangesItsOwnTasksOnly() async throws {
        let repository = Repository(store: InMemoryEventStore(), policy: RoleBasedAccessPolicy())
        let sam = Principal(id: "user:sam", role: .support)
        let own = TaskID(), others = TaskID()
        try await repository.execute(.create(title: "Reply to Ada", due: Date() + 86_400, assignee: sam.id, links: [ada]), on: own, context: context(sam))
        try await repository.execute(.create(title: "Call Ada", due: Date() + 86_400, assignee: boris.id, links: [ada]), on: others, context: context(boris))
        try await repository.execute(.complete(), on: own, context: context(sam))
        await #expect(throws: CRMError.accessDenied(actor: sam.id, command: "task.complete", entity: others.tag.rawValue,
                                                    reason: "the task is owned by user:boris")) {
            try await repository.execute(.complete(), on: others, context: context(sam))
        }
    }

    @Test func aSalesRepMayNotCompleteSomeoneElsesTask() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store, policy: RoleBasedAccessPolicy())
        let task = TaskID()
        // Anna creates a task for Boris: creating is allowed, and Boris owns it.
        try await repository.execute(.create(title: "Call Ada", due: Date() + 86_400, assignee: boris.id, links: [ada]),
                                     on: task, context: context(anna))
        await #expect(throws: CRMError.accessDenied(actor: anna.id, command: "task.complete", entity: task.tag.rawValue,
                                                    reason: "the task is owned by user:boris")) {
            try await repository.execute(.complete(), on: task, context: context(anna))
        }
        let marketer = Principal(id: "user:mia", role: .marketing)
        await #expect(throws: CRMError.accessDenied(actor: marketer.id, command: "task.complete", entity: task.tag.rawValue,
                                                    reason: "the role marketing may not work on tasks")) {
            try await repository.execute(.complete(), on: task, context: context(marketer))
        }
        let denials = try await store.readStream(try StreamID("access-denied"), from: 1, direction: .forward, limit: 10)
        #expect(denials.count == 2)
        let first = try denials[0].decode(AccessDenied.self)
        #expect(first.command == "task.complete" && first.entity == task.tag.rawValue && first.reason == "the task is owned by user:boris")
        #expect(denials[0].metadata.actor == anna)
        let actorTag = try Tag("actor:user:anna")
        #expect(denials[0].tags.contains(task.tag) && denials[0].tags.contains(actorTag))
        #expect(try await store.streamVersion(of: task.streamID) == 1, "the refusals changed nothing on the task")

        // Boris hands it to Anna; now she owns it and may complete it.
        try await repository.execute(.reassign(to: anna.id, reason: "Anna knows Ada"), on: task, context: context(boris))
        await #expect(throws: CRMError.accessDenied(actor: boris.id, command: "task.complete", entity: task.tag.rawValue,
                                                    reason: "the task is owned by user:anna")) {
            try await repository.execute(.complete(), on: task, context: context(boris))
        }
        try await repository.execute(.complete(), on: task, context: context(anna))
        let done = try await repository.load(task).state
        #expect(done.status == .completed && done.completedBy == anna.id)
    }
}
