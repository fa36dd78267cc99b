import Foundation
@testable import RapportCore
import RapportEventLog
import Testing

@Suite("Activity")
struct ActivityTests {
    let ada = EntityRef(ContactID())
    let deal = EntityRef(DealID())
    let acme = EntityRef(CompanyID())
    let now = Date(timeIntervalSince1970: 1_700_000_000)
    let year10000 = Date(timeIntervalSince1970: 253_402_300_800)

    var logged: ActivityLogged {
        ActivityLogged(details: .call(direction: .outbound, duration: 300), links: [ada, deal], loggedBy: "user:anna",
                       occurredAt: now, notes: nil, outcome: "wants a demo")
    }

    func isInvalid(_ field: String) -> (CRMError) -> Bool {
        { if case .invalidValue(field: field, _) = $0 { true } else { false } }
    }

    // MARK: logging

    @Test func aCallRecordsWhoLoggedItAndWhenItHappened() {
        Given<Activity>([]).when(.logCall(.outbound, duration: 300, outcome: " wants a demo ", links: [ada, deal, ada]))
            .then([logged])
        let earlier = Date(timeIntervalSince1970: 1_699_990_000.75)
        Given<Activity>([]).when(.logCall(.inbound, duration: 0, notes: "  ", links: [ada], occurredAt: earlier))
            .then([ActivityLogged(details: .call(direction: .inbound, duration: 0), links: [ada], loggedBy: "user:anna",
                                  occurredAt: Date(timeIntervalSince1970: 1_699_990_000), notes: nil, outcome: nil)])
    }

    @Test func theLoggerIsTheContextsActor() {
        var given = Given<Activity>([])
        given.context.actor = Principal(id: "job:webform", role: .system)
        given.when(.logWebForm("contact-us", fields: [" email ": "ada@example.com", "message": "Pricing?"], links: [ada]))
            .then([ActivityLogged(details: .webForm(form: "contact-us", fields: ["email": "ada@example.com", "message": "Pricing?"]),
                                  links: [ada], loggedBy: "job:webform", occurredAt: now, notes: nil, outcome: nil)])
    }

    @Test func aMeetingHappensAtItsStartUnlessToldOtherwise() {
        let start = Date(timeIntervalSince1970: 1_700_100_000.4), end = start + 3600
        let details = ActivityDetails.meeting(title: "Kick-off", attendees: ["user:anna", "ada@example.com"],
                                              start: Date(timeIntervalSince1970: 1_700_100_000), end: Date(timeIntervalSince1970: 1_700_103_600))
        Given<Activity>([]).when(.logMeeting(title: " Kick-off ", attendees: ["user:anna", " ada@example.com", "user:anna"],
                                             start: start, end: end, outcome: "signed the NDA", links: [ada, acme]))
            .then([ActivityLogged(details: details, links: [ada, acme], loggedBy: "user:anna",
                                  occurredAt: Date(timeIntervalSince1970: 1_700_100_000), notes: nil, outcome: "signed the NDA")])
        Given<Activity>([]).when(.logMeeting(title: "Kick-off", attendees: ["user:anna", "ada@example.com"], start: start, end: end,
                                             links: [ada], occurredAt: now))
            .then([ActivityLogged(details: details, links: [ada], loggedBy: "user:anna", occurredAt: now, notes: nil, outcome: nil)])
    }

    @Test func everyChannelIsLogged() {
        let given = Given<Activity>([])
        func expected(_ details: ActivityDetails, notes: String? = nil) -> ActivityLogged {
            ActivityLogged(details: details, links: [deal], loggedBy: "user:anna", occurredAt: now, notes: notes, outcome: nil)
        }
        given.when(.logEmail(.inbound, subject: " Re: offer ", notes: "asks for 10% off", links: [deal]))
            .then([expected(.email(direction: .inbound, subject: "Re: offer"), notes: "asks for 10% off")])
        given.when(.logSMS(.outbound, text: "See you at 10", links: [deal])).then([expected(.sms(direction: .outbound, text: "See you at 10"))])
        given.when(.logChat(text: "Asked about SSO.\n", links: [deal])).then([expected(.chat(text: "Asked about SSO."))])
        given.when(.logNote("Prefers calls after 4 pm.", links: [deal])).then([expected(.note(text: "Prefers calls after 4 pm."))])
        given.when(.log(.note(text: "via log"), links: [deal])).then([expected(.note(text: "via log"))])
    }

    @Test func detailsKnowTheirTypeAndChannel() {
        let all: [ActivityDetails] = [
            .call(direction: .inbound, duration: 1), .meeting(title: "m", attendees: [], start: now, end: now + 1),
            .email(direction: .inbound, subject: "s"), .sms(direction: .inbound, text: "t"), .chat(text: "c"), .note(text: "n"),
            .webForm(form: "f", fields: ["a": "b"]),
        ]
        #expect(all.map(\.type) == ActivityType.allCases)
        #expect(all.map(\.channel) == [.phone, .meeting, .email, .sms, .chat, .ui, .webForm])
    }

    @Test func logRefusesBadDetails() {
        let given = Given<Activity>([])
        given.when(.logCall(.inbound, duration: -1, links: [ada])).thenFails(.invalidValue(field: "duration", reason: "it is negative"))
        given.when(.logCall(.inbound, duration: .nan, links: [ada]))
            .thenFails(.invalidValue(field: "duration", reason: "it is not a number of seconds"))
        given.when(.logMeeting(title: "Demo", attendees: [], start: now, end: now, links: [ada]))
            .thenFails(.invalidValue(field: "meeting end", reason: "it is not after the start"))
        given.when(.logMeeting(title: "Demo", attendees: [], start: now, end: now - 60, links: [ada]))
            .thenFails(.invalidValue(field: "meeting end", reason: "it is not after the start"))
        // Less than a second apart is the same second once stored.
        given.when(.logMeeting(title: "Demo", attendees: [], start: now + 0.2, end: now + 0.7, links: [ada]))
            .thenFails(.invalidValue(field: "meeting end", reason: "it is not after the start"))
        given.when(.logMeeting(title: " ", attendees: [], start: now, end: now + 60, links: [ada]))
            .thenFails(.invalidValue(field: "meeting title", reason: "it is empty"))
        given.when(.logMeeting(title: "Demo", attendees: ["user:anna", ""], start: now, end: now + 60, links: [ada]))
            .thenFails(.invalidValue(field: "attendee", reason: "it is empty"))
        // Counts that would make the record too large for the store are refused by field, not by the store.
        given.when(.logMeeting(title: "Demo", attendees: (0...Activity.maximumAttendees).map { "guest \($0)" }, start: now, end: now + 60, links: [ada]))
            .thenFails(.invalidValue(field: "attendees", reason: "a meeting has at most 500 attendees"))
        let fields = Dictionary(uniqueKeysWithValues: (0...Activity.maximumFormFields).map { ("field \($0)", "value") })
        given.when(.logWebForm("survey", fields: fields, links: [ada]))
            .thenFails(.invalidValue(field: "form fields", reason: "a web form has at most 200 fields"))
        let outOfRange = "it is not between the years 1900 and 9999"
        given.when(.logMeeting(title: "Demo", attendees: [], start: year10000, end: year10000 + 60, links: [ada]))
            .thenFails(.invalidValue(field: "meeting start", reason: outOfRange))
        given.when(.logMeeting(title: "Demo", attendees: [], start: now, end: year10000, links: [ada]))
            .thenFails(.invalidValue(field: "meeting end", reason: outOfRange))
        given.when(.logNote("n", links: [ada], occurredAt: Date(timeIntervalSince1970: -3_000_000_000)))
            .thenFails(.invalidValue(field: "occurred date", reason: outOfRange))
        given.when(.logEmail(.outbound, subject: "  ", links: [ada])).thenFails(.invalidValue(field: "subject", reason: "it is empty"))
        given.when(.logEmail(.outbound, subject: String(repeating: "x", count: 999), links: [ada]))
            .thenFails(.invalidValue(field: "subject", reason: "it is longer than 998 characters"))
        given.when(.logSMS(.inbound, text: "", links: [ada])).thenFails(.invalidValue(field: "text", reason: "it is empty"))
        given.when(.logChat(text: "\n", links: [ada])).thenFails(.invalidValue(field: "text", reason: "it is empty"))
        given.when(.logNote(" ", links: [ada])).thenFails(.invalidValue(field: "text", reason: "it is empty"))
        given.when(.logWebForm(" ", fields: ["a": "b"], links: [ada])).thenFails(.invalidValue(field: "form name", reason: "it is empty"))
        given.when(.logWebForm("contact-us", fields: [:], links: [ada])).thenFails(.invalidValue(field: "form fields", reason: "there are none"))
        given.when(.logWebForm("contact-us", fields: [" ": "b"], links: [ada]))
            .thenFails(.invalidValue(field: "form field name", reason: "it is empty"))
        given.when(.logWebForm("contact-us", fields: ["email": "a", " email": "b"], links: [ada]))
            .thenFails(.invalidValue(field: "email", reason: "the field is submitted twice"))
        given.when(.logWebForm("contact-us", fields: ["message": String(repeating: "x", count: 10_001)], links: [ada]))
            .thenFails(.invalidValue(field: "message", reason: "it is longer than 10000 characters"))
        given.when(.logCall(.inbound, duration: 1, outcome: String(repeating: "o", count: 1_001), links: [ada]))
            .thenFails(.invalidValue(field: "outcome", reason: "it is longer than 1000 characters"))
        given.when(.log(.note(text: "n"), links: [ada], notes: String(repeating: "n", count: 100_001)))
            .thenFails(.invalidValue(field: "notes", reason: "it is longer than 100000 characters"))
    }

    @Test func logRefusesMissingOrBadLinks() {
        let given = Given<Activity>([])
        given.when(.logNote("n", links: [])).thenFails(
            .invalidValue(field: "links", reason: "an activity must be linked to at least one contact, company or deal"))
        // A reference from parts or a payload has an entity kind (EntityRefTests); one from an
        // identifier has its aggregate's kind, checked here.
        given.when(.logNote("n", links: [EntityRef(Identifier<Gadget>())]))
            .thenFails(.invalidValue(field: "link", reason: "\"Gadget\" is not an entity kind (1 to 40 lower-case letters, digits and -, starting with a letter)"))
        given.when(.logNote("n", links: [ada, EntityRef(given.id)]))
            .thenFails(.invalidValue(field: "link", reason: "an activity cannot be linked to itself"))
        let many = (0...Activity.maximumLinks).map { _ in EntityRef(ContactID()) }
        given.when(.logNote("n", links: many)).thenFails(.invalidValue(field: "links", reason: "there are more than 50 of them"))
        given.when(.logNote("n", links: Array(many.dropLast()))).then([
            ActivityLogged(details: .note(text: "n"), links: Array(many.dropLast()), loggedBy: "user:anna", occurredAt: now, notes: nil, outcome: nil),
        ])
    }

    // MARK: amending

    @Test func notesAndOutcomeAreAmendedWithTheirOldValue() {
        let given = Given<Activity>([logged])
        given.when(.amendNotes(" Budget approved in Q3. ")).then([ActivityNotesAmended(from: nil, to: "Budget approved in Q3.")])
        given.when(.amendNotes(nil)).thenNothing()
        given.when(.amendNotes(String(repeating: "n", count: 100_001)))
            .thenFails(.invalidValue(field: "notes", reason: "it is longer than 100000 characters"))
        given.when(.amendOutcome("left a voicemail")).then([ActivityOutcomeAmended(from: "wants a demo", to: "left a voicemail")])
        given.when(.amendOutcome("wants a demo")).thenNothing()
        given.when(.amendOutcome(" ")).then([ActivityOutcomeAmended(from: "wants a demo", to: nil)])
        given.when(.amendOutcome(String(repeating: "o", count: 1_001)))
            .thenFails(.invalidValue(field: "outcome", reason: "it is longer than 1000 characters"))
        let amended = Given<Activity>([logged, ActivityNotesAmended(from: nil, to: "first"), ActivityOutcomeAmended(from: "wants a demo", to: nil)])
        #expect(amended.state.notes == "first")
        #expect(amended.state.outcome == nil)
        amended.when(.amendNotes("")).then([ActivityNotesAmended(from: "first", to: nil)])
    }

    // MARK: links

    @Test func linksAreAddedOnceAndTheLastOneStays() {
        let given = Given<Activity>([logged])
        given.when(.link(acme)).then([ActivityLinked(entity: acme)])
        given.when(.link(deal)).thenNothing()
        given.when(.link(EntityRef(Identifier<Gadget>()))).thenFails(where: isInvalid("link"))
        given.when(.link(EntityRef(given.id))).thenFails(.invalidValue(field: "link", reason: "an activity cannot be linked to itself"))
        given.when(.unlink(deal)).then([ActivityUnlinked(entity: deal)])
        given.when(.unlink(acme)).thenFails(.invalidValue(field: "link", reason: "activity \(given.id) is not linked to \(acme)"))
        let single = Given<Activity>([logged, ActivityUnlinked(entity: deal)])
        #expect(single.state.links == [ada])
        single.when(.unlink(ada)).thenFails(.invalidTransition(kind: "activity", id: single.id.description,
                                                               reason: "\(ada) is its only link; link another entity first"))
        let relinked = Given<Activity>([logged, ActivityUnlinked(entity: deal), ActivityLinked(entity: acme), ActivityLinked(entity: deal)])
        #expect(relinked.state.links == [ada, acme, deal])
    }

    @Test func anActivityLinksAtMostFiftyEntities() {
        let others = (2..<Activity.maximumLinks).map { _ in ActivityLinked(entity: EntityRef(ContactID())) as any Event }
        let full = Given<Activity>([logged] + others)
        #expect(full.state.links.count == Activity.maximumLinks)
        full.when(.link(acme)).thenFails(.invalidValue(field: "links", reason: "there are more than 50 of them"))
        full.when(.link(ada)).thenNothing()
    }

    @Test func everyEventCarriesEveryLinkedEntitysTag() {
        var activity = Given<Activity>([logged]).state
        #expect(activity.extraTags(for: ActivityNotesAmended(from: nil, to: "x")) == [ada.tag, deal.tag])
        // The unlink has already been applied when its tags are computed: it still names the entity it leaves.
        activity.apply(ActivityUnlinked(entity: deal))
        #expect(activity.extraTags(for: ActivityUnlinked(entity: deal)) == [ada.tag, deal.tag])
        #expect(activity.extraTags(for: ActivityOutcomeAmended(from: nil, to: "x")) == [ada.tag])
    }

    // MARK: removal

    @Test func removedActivitiesStayButRefuseChanges() {
        let given = Given<Activity>([logged])
        given.when(.remove(reason: " wrong contact ")).then([ActivityRemoved(reason: "wrong contact")])
        given.when(.remove()).then([ActivityRemoved(reason: nil)])
        given.when(.remove(reason: String(repeating: "r", count: 1_001)))
            .thenFails(.invalidValue(field: "reason", reason: "it is longer than 1000 characters"))
        let removed = Given<Activity>([logged, ActivityRemoved(reason: "wrong contact")])
        #expect(removed.state.isRemoved && removed.state.removalReason == "wrong contact")
        #expect(removed.state.type == .call && removed.state.links == [ada, deal], "a removed activity keeps its facts")
        let refusal = CRMError.invalidTransition(kind: "activity", id: removed.id.description, reason: "it was removed")
        removed.when(.remove()).thenFails(refusal)
        removed.when(.amendNotes("x")).thenFails(refusal)
        removed.when(.amendOutcome("x")).thenFails(refusal)
        removed.when(.link(acme)).thenFails(refusal)
        removed.when(.unlink(deal)).thenFails(refusal)
    }

    @Test func theStateFoldsTheLoggedFacts() {
        let state = Given<Activity>([logged]).state
        #expect(state.exists && state.type == .call && state.loggedBy == "user:anna" && state.ownerID == "user:anna")
        #expect(state.occurredAt == now && state.outcome == "wants a demo" && state.notes == nil)
        #expect(Given<Activity>([]).state.exists == false)
    }

    // MARK: with a store

    @Test func eventsCarryTheLinkedEntitiesTagsAndTheActorAndChannel() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        let contact = ContactID(), dealRef = EntityRef(DealID()), company = CompanyID()
        let activity = ActivityID()
        let ctx = CommandContext(actor: anna, channel: .phone)
        try await repository.execute(.logCall(.outbound, duration: 420, outcome: "interested", links: [EntityRef(contact), dealRef]),
                                     on: activity, context: ctx)
        try await repository.execute(.link(EntityRef(company)), on: activity, context: ctx)
        try await repository.execute(.amendNotes("Decision in May."), on: activity, context: ctx)
        try await repository.execute(.unlink(EntityRef(company)), on: activity, context: ctx)
        try await repository.execute(.amendOutcome("very interested"), on: activity, context: CommandContext(actor: anna, channel: .api))

        let all = try await store.readLog(from: 1, filter: .all, limit: 100)
        #expect(all.map(\.type) == ["ActivityLogged", "ActivityLinked", "ActivityNotesAmended", "ActivityUnlinked", "ActivityOutcomeAmended"])
        for event in all {
            #expect(event.streamID == activity.streamID)
            #expect(event.tags.contains(activity.tag))
            #expect(event.tags.contains(contact.tag), "every event carries the contact's tag")
            #expect(event.tags.contains(dealRef.tag), "every event carries the deal's tag")
            #expect(event.tags.contains(try Tag("owner:user:anna")))
            #expect(event.metadata.actor == anna)
        }
        #expect(all.map { $0.tags.contains(company.tag) } == [false, true, true, true, false])
        #expect(all.map(\.metadata.channel) == [.phone, .phone, .phone, .phone, .api])
        // The deal's history finds the whole activity by its tag.
        let forDeal = try await store.readLog(from: 1, filter: LogFilter(tags: [dealRef.tag]), limit: 100)
        #expect(forDeal.count == 5)

        let loaded = try await repository.load(activity)
        #expect(loaded.version == 5)
        #expect(loaded.state.links == [EntityRef(contact), dealRef])
        #expect(loaded.state.details == .call(direction: .outbound, duration: 420))
        #expect(loaded.state.notes == "Decision in May." && loaded.state.outcome == "very interested")
        #expect(loaded.state.loggedBy == anna.id && loaded.state.occurredAt == wholeSeconds(ctx.now))
    }

    @Test func aRefusedLogAppendsNothing() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        let activity = ActivityID()
        await #expect(throws: CRMError.invalidValue(field: "links", reason: "an activity must be linked to at least one contact, company or deal")) {
            try await repository.execute(.logNote("orphan", links: []), on: activity, context: context())
        }
        await #expect(throws: CRMError.notFound(kind: "activity", id: activity.description)) {
            try await repository.execute(.amendNotes("x"), on: activity, context: context())
        }
        #expect(try await store.headPosition() == .start)
        try await repository.execute(.logNote("first", links: [ada]), on: activity, context: context())
        await #expect(throws: CRMError.alreadyExists(kind: "activity", id: activity.description)) {
            try await repository.execute(.logNote("again", links: [ada]), on: activity, context: context())
        }
        try await repository.execute(.remove(reason: "typo"), on: activity, context: context())
        await #expect(throws: CRMError.invalidTransition(kind: "activity", id: activity.description, reason: "it was removed")) {
            try await repository.execute(.amendNotes("x"), on: activity, context: context())
        }
        #expect(try await store.headPosition() == 2)
        #expect(try await repository.load(activity).state.isRemoved)
    }

    @Test func onlyTheLoggerOrAManagerMayAmendUnderTheRoleBasedPolicy() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store, policy: RoleBasedAccessPolicy())
        let activity = ActivityID()
        try await repository.execute(.logNote("met at the fair", links: [ada]), on: activity, context: context(anna))
        await #expect(throws: CRMError.accessDenied(actor: boris.id, command: "activity.remove", entity: activity.tag.rawValue,
                                                    reason: "the activity is owned by user:anna")) {
            try await repository.execute(.remove(), on: activity, context: context(boris))
        }
        try await repository.execute(.amendNotes("met at the fair, stand 12"), on: activity,
                                     context: context(Principal(id: "user:maria", role: .salesManager)))
        #expect(try await store.streamVersion(of: activity.streamID) == 2)
    }
}
