import Foundation
@testable import RapportCore
import RapportEventLog
import Testing

@Suite("Repository")
struct RepositoryTests {
    let ada = try! PersonName(given: "Ada", family: "Lovelace")

    @Test func eventsCarryActorChannelCorrelationAndTags() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        let contact = ContactID(), company = CompanyID()
        let ctx = CommandContext(actor: anna, channel: .phone, causationID: UUID())
        try await repository.execute(.create(name: "Acme", domain: "ACME.example", owner: "user:anna"), on: company, context: ctx)
        try await repository.execute(.create(name: ada, owner: "user:anna"), on: contact, context: ctx)
        try await repository.linkContact(contact, to: company, role: "CTO", context: ctx)
        let all = try await store.readLog(from: 1, filter: .all, limit: 100)
        #expect(all.map(\.type) == ["CompanyCreated", "ContactCreated", "ContactLinkedToCompany", "CompanyContactLinked"])
        for event in all {
            #expect(event.metadata.actor == anna)
            #expect(event.metadata.channel == .phone)
            #expect(event.metadata.correlationID == ctx.correlationID)
            #expect(event.metadata.causationID == ctx.causationID)
            #expect(event.tags.contains(try Tag("owner:user:anna")))
        }
        #expect(all[2].tags.contains(company.tag) && all[2].tags.contains(contact.tag))
        #expect(all[3].tags.contains(contact.tag))
        // The link was one atomic append: both sides at consecutive positions.
        #expect(all[3].position.rawValue == all[2].position.rawValue + 1)
        let loaded = try await repository.load(company).state
        #expect(loaded.contacts[contact] == "CTO")
        #expect(loaded.details[.domain] == "acme.example")
    }

    @Test func aRefusedCommandAppendsNothing() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        let contact = ContactID()
        try await repository.execute(.create(name: ada), on: contact, context: context())
        await #expect(throws: CRMError.invalidEmail("bad")) {
            try await repository.execute(.addEmail("bad"), on: contact, context: context())
        }
        await #expect(throws: CRMError.alreadyExists(kind: "contact", id: contact.description)) {
            try await repository.execute(.create(name: ada), on: contact, context: context())
        }
        let missing = ContactID()
        await #expect(throws: CRMError.notFound(kind: "contact", id: missing.description)) {
            try await repository.execute(.addEmail("a@b.example"), on: missing, context: context())
        }
        #expect(try await store.headPosition() == 1)
    }

    @Test func theRoleBasedPolicyRecordsEveryRefusal() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store, policy: RoleBasedAccessPolicy())
        let contact = ContactID()
        try await repository.execute(.create(name: ada, owner: anna.id), on: contact, context: context(anna))
        // Boris is a rep and does not own the contact.
        await #expect(throws: CRMError.accessDenied(actor: boris.id, command: "contact.addEmail", entity: contact.tag.rawValue,
                                                    reason: "the contact is owned by user:anna")) {
            try await repository.execute(.addEmail("x@example.com"), on: contact, context: context(boris))
        }
        // Anna owns it but only an admin may archive.
        await #expect(throws: CRMError.accessDenied(actor: anna.id, command: "contact.archive", entity: contact.tag.rawValue,
                                                    reason: "only the role admin may run contact.archive")) {
            try await repository.execute(.archive(), on: contact, context: context(anna))
        }
        try await repository.execute(.archive(reason: "duplicate"), on: contact, context: context(admin))
        let denials = try await store.readStream(try StreamID("access-denied"), from: 1, direction: .forward, limit: 10)
        #expect(denials.count == 2)
        let first = try denials[0].decode(AccessDenied.self)
        #expect(first.command == "contact.addEmail" && first.entity == contact.tag.rawValue)
        #expect(denials[0].metadata.actor == boris)
        #expect(denials[0].tags.contains(contact.tag))
        // Nothing else changed on the contact's stream: created and archived.
        #expect(try await store.streamVersion(of: contact.streamID) == 2)
    }

    @Test func aRefusedSensitiveCommandNamesTheRolesTheRulesAllow() {
        func decision(_ rules: [Principal.Role: RoleBasedAccessPolicy.Rule], _ actor: Principal = anna, kind: String = "contact") -> AccessDecision {
            RoleBasedAccessPolicy(rules: rules).decide(AccessRequest(
                actor: actor, command: "\(kind).archive", entityKind: kind, entityID: "x", ownerID: actor.id, isCreation: false, isSensitive: true))
        }
        #expect(decision(RoleBasedAccessPolicy.defaultRules) == .deny(reason: "only the role admin may run contact.archive"))
        var rules = RoleBasedAccessPolicy.defaultRules
        rules[.salesManager] = .init(mayChangeOthers: true, maySensitive: true)
        #expect(decision(rules) == .deny(reason: "only the roles admin and sales-manager may run contact.archive"))
        // A role whose kinds leave out the entity's kind may not run it there.
        rules[.marketing] = .init(kinds: ["campaign", "lead"], mayChangeOthers: true, maySensitive: true)
        #expect(decision(rules) == .deny(reason: "only the roles admin and sales-manager may run contact.archive"))
        #expect(decision(rules, kind: "lead") == .deny(reason: "only the roles admin, marketing and sales-manager may run lead.archive"))
        // Without an admin, the message does not claim one may.
        let managers: [Principal.Role: RoleBasedAccessPolicy.Rule] = [
            .salesManager: .init(mayChangeOthers: true, maySensitive: true), .salesRep: .init(mayChangeOthers: false, maySensitive: false),
        ]
        #expect(decision(managers) == .deny(reason: "only the role sales-manager may run contact.archive"))
        #expect(decision([.salesRep: .init(mayChangeOthers: false, maySensitive: false)]) == .deny(reason: "no role may run contact.archive"))
        #expect(decision(managers, Principal(id: "user:mia", role: .salesManager)) == .allow)
    }

    @Test func twoActorsEditingAtOnceGetOneConflict() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        let contact = ContactID()
        try await repository.execute(.create(name: ada), on: contact, context: context())
        // Both load version 1, then both try to append.
        var first = UnitOfWork(repository: repository, context: context(anna))
        var second = UnitOfWork(repository: repository, context: context(boris))
        try await first.execute(.changeJobTitle(to: "CTO"), on: contact)
        try await second.execute(.changeJobTitle(to: "CEO"), on: contact)
        _ = try await first.commit()
        await #expect(throws: CRMError.concurrencyConflict(stream: contact.streamID.rawValue, expected: 1, actual: 2)) {
            _ = try await second.commit()
        }
        #expect(try await repository.load(contact).state.jobTitle == "CTO")
        // The retry helper runs the command again on fresh state.
        try await repository.executeRetrying(.changeJobTitle(to: "CEO"), on: contact, context: context(boris))
        #expect(try await repository.load(contact).state.jobTitle == "CEO")
    }

    @Test func mergingKeepsBothHistoriesAtomically() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store, policy: RoleBasedAccessPolicy())
        let survivor = ContactID(), duplicate = ContactID()
        try await repository.execute(.create(name: ada, email: "ada@example.com"), on: survivor, context: context(admin))
        try await repository.execute(.create(name: ada, email: "ada@work.example"), on: duplicate, context: context(admin))
        try await repository.execute(.addPhone("+44 20 7946 0958"), on: duplicate, context: context(admin))
        await #expect(throws: CRMError.self) {
            try await repository.mergeContacts(survivor: survivor, duplicate: duplicate, context: context(anna))
        }
        try await repository.mergeContacts(survivor: survivor, duplicate: duplicate, context: context(admin))
        #expect(try await repository.load(survivor).state.absorbed == [duplicate])
        #expect(try await repository.load(duplicate).state.mergedInto == survivor)
        #expect(try await store.streamVersion(of: duplicate.streamID) == 3, "the duplicate's history stays")
        await #expect(throws: CRMError.contactMerged(id: duplicate.description, into: survivor.description)) {
            try await repository.execute(.addEmail("x@example.com"), on: duplicate, context: context(admin))
        }
        // Merging into a merged contact is refused and writes nothing.
        let head = try await store.headPosition()
        await #expect(throws: CRMError.contactMerged(id: duplicate.description, into: survivor.description)) {
            try await repository.mergeContacts(survivor: duplicate, duplicate: survivor, context: context(admin))
        }
        #expect(try await store.headPosition() == head)
    }

    @Test func oldContactRecordsAreUpcastOnRead() async throws {
        let store = InMemoryEventStore()
        let contact = ContactID()
        // A record written by version 1 of the schema, when names were one field.
        let old = try NewEvent(ContactCreatedV1(name: "Ada King Lovelace", email: try EmailAddress("ada@example.com"), ownerID: "user:anna"),
                               metadata: context().metadata, tags: [contact.tag])
        try await store.append([old], to: contact.streamID)
        let stored = try await store.readStream(contact.streamID, from: 1, direction: .forward, limit: 1)[0]
        #expect(stored.schemaVersion == 1)
        let repository = Repository(store: store)
        let loaded = try await repository.load(contact).state
        #expect(loaded.name == (try PersonName(given: "Ada King", family: "Lovelace")))
        #expect(loaded.emails == [try EmailAddress("ada@example.com")])
        let decoded = try EventTypeRegistry.crm.decode(stored)
        #expect(decoded is ContactCreated)
        // Commands work on the upcast state.
        try await repository.execute(.rename(to: try PersonName(given: "Ada", family: "Lovelace")), on: contact, context: context())
        #expect(try await repository.load(contact).state.name?.given == "Ada")
    }

    @Test func anUnknownSchemaVersionIsAClearError() async throws {
        let store = InMemoryEventStore()
        let contact = ContactID()
        try await store.append([NewEvent(type: "ContactCreated", schemaVersion: 9, metadata: context().metadata, payload: Data("{}".utf8))],
                               to: contact.streamID)
        await #expect(throws: CRMError.store(.undecodablePayload(position: 1, type: "ContactCreated",
                                                                 reason: "schema version 9 has no upcaster to version 2"))) {
            _ = try await repository(store).load(contact)
        }
    }

    func repository(_ store: InMemoryEventStore) -> Repository { Repository(store: store) }
}

@Suite("Unit of work read set")
struct UnitOfWorkReadSetTests {
    let stages = [
        PipelineStage(key: "new", name: "New", probability: 0.1, kind: .open),
        PipelineStage(key: "proposal", name: "Proposal", probability: 0.5, kind: .open),
        PipelineStage(key: "won", name: "Won", probability: 1, kind: .won),
        PipelineStage(key: "lost", name: "Lost", probability: 0, kind: .lost),
    ]

    @Test func aDecisionOnAPipelineThatChangedMeanwhileConflicts() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        let pipeline = PipelineID(), deal = DealID(), other = DealID()
        try await repository.execute(.define(name: "Sales", stages: stages), on: pipeline, context: context(admin))
        try await repository.openDeal(deal, title: "Big one", pipeline: pipeline, context: context())
        try await repository.openDeal(other, title: "Small one", pipeline: pipeline, context: context())

        // Another deal of the same pipeline moving does not disturb this decision…
        var unit = UnitOfWork(repository: repository, context: context())
        let loaded = try await unit.load(pipeline)
        try await unit.execute(.moveToStage("proposal", in: loaded), on: deal)
        try await repository.moveDeal(other, toStage: "proposal", context: context())
        _ = try await unit.commit()

        // …but the pipeline itself changing does: the decision used its old definition.
        var stale = UnitOfWork(repository: repository, context: context())
        let before = try await stale.load(pipeline)
        try await stale.execute(.moveToStage("new", in: before), on: deal)
        try await repository.execute(.renameStage("new", to: "Fresh"), on: pipeline, context: context(admin))
        let head = try await store.headPosition()
        await #expect(throws: CRMError.concurrencyConflict(stream: pipeline.streamID.rawValue, expected: 1, actual: 2)) {
            _ = try await stale.commit()
        }
        #expect(try await store.headPosition() == head, "nothing of the stale decision was stored")
        #expect(try await repository.load(deal).state.stage == "proposal")
    }
}

@Suite("Replaying decided events")
struct ReplayEqualityTests {
    @Test func aDecidedStateEqualsTheStateReadBack() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        let contact = ContactID()
        let ctx = CommandContext(actor: anna, channel: .webForm, now: Date(timeIntervalSince1970: 1_700_000_000.987_654))
        #expect(ctx.now == Date(timeIntervalSince1970: 1_700_000_000))
        try await repository.execute(.create(name: try PersonName(given: "Ada", family: "L")), on: contact, context: ctx)
        try await repository.execute(.recordConsent(.email, granted: true, source: "form", lawfulBasis: "consent"), on: contact, context: ctx)
        var decided = Contact(id: contact)
        decided.apply(ContactCreated(name: try PersonName(given: "Ada", family: "L"), email: nil, phone: nil, ownerID: nil, lifecycleStage: .subscriber))
        decided.apply(ContactConsentRecorded(channel: .email, granted: true, source: "form", lawfulBasis: "consent", at: ctx.now))
        let replayed = try await repository.load(contact).state
        #expect(replayed.consents == decided.consents)
    }

    @Test("a context's time set after it was made is truncated too, so a unit's state equals the state read back")
    func aTimeSetLaterIsTruncatedToo() async throws {
        let repository = Repository(store: InMemoryEventStore())
        let contact = ContactID()
        var ctx = CommandContext(actor: anna, channel: .import)
        ctx.now = Date(timeIntervalSince1970: 1_700_000_000.5)
        #expect(ctx.now == Date(timeIntervalSince1970: 1_700_000_000))
        var kept: Contact?
        try await repository.transaction(context: ctx) { (unit) throws(CRMError) in
            try await unit.execute(.create(name: try PersonName(given: "Ada", family: "L")), on: contact)
            try await unit.execute(.recordConsent(.email, granted: true, source: "form", lawfulBasis: "consent"), on: contact)
            kept = try await unit.load(contact)
        }
        // Before, the unit kept the half second that the stored payload does not.
        #expect(try await repository.load(contact).state.consents == kept?.consents)
    }
}
