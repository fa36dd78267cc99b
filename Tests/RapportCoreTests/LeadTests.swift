import Foundation
@testable import RapportCore
import RapportEventLog
import Testing

@Suite("Lead")
struct LeadTests {
    let grace = try! PersonName(given: "Grace", family: "Hopper")
    let spring = EntityRef(CampaignID())
    var captured: LeadCaptured {
        LeadCaptured(name: grace, email: try! EmailAddress("grace@navy.example"), phone: try! PhoneNumber("+12025550100"),
                     companyName: "US Navy", source: .campaign, channel: .webForm, campaign: spring, ownerID: "user:anna")
    }
    func lead(_ more: [any Event] = []) -> Given<Lead> { Given<Lead>([captured] + more) }

    // MARK: Capture

    @Test func captureKeepsWhatTheLeadGaveAndWhereItCameFrom() {
        var given = Given<Lead>([])
        given.context.channel = .webForm
        given.when(.capture(name: grace, email: " grace@NAVY.example ", phone: "(202) 555-0100", defaultCountryCode: "1",
                            companyName: "  US Navy ", source: .campaign, campaign: spring, owner: "user:anna"))
            .then([captured])
        let state = lead().state
        #expect(state.exists && state.status == .new && state.source == .campaign && state.channel == .webForm)
        #expect(state.campaign == spring && state.companyName == "US Navy" && state.email?.value == "grace@navy.example")
        // An explicit channel wins over the context's.
        given.when(.capture(name: nil, email: "x@example.com", source: .referral, channel: .phone))
            .then([LeadCaptured(name: nil, email: try! EmailAddress("x@example.com"), phone: nil, companyName: nil, source: .referral,
                                channel: .phone, campaign: nil, ownerID: nil)])
    }

    @Test func captureRefusesBadInput() {
        let given = Given<Lead>([])
        given.when(.capture(name: nil, companyName: "Navy", source: .webForm))
            .thenFails(.invalidValue(field: "lead", reason: "it needs a name, an email address or a phone number"))
        given.when(.capture(name: grace, email: "grace@", source: .webForm)).thenFails(.invalidEmail("grace@"))
        given.when(.capture(name: grace, phone: "555-0100", source: .phone))
            .thenFails(.invalidValue(field: "phone", reason: "\"555-0100\" has no country code"))
        let notACampaign = EntityRef(DealID(spring.id))
        given.when(.capture(name: grace, source: .campaign, campaign: notACampaign))
            .thenFails(.invalidValue(field: "campaign", reason: "\(notACampaign) is not a campaign"))
        given.when(.capture(name: grace, companyName: String(repeating: "x", count: 301), source: .import))
            .thenFails(.invalidValue(field: "company name", reason: "it is longer than 300 characters"))
        given.when(.capture(name: grace, source: LeadSource(rawValue: ""))).thenFails(.invalidValue(field: "source", reason: "it is empty"))
        given.when(.capture(name: grace, source: .email, owner: "")).thenFails(.invalidValue(field: "owner", reason: "it is empty"))
    }

    @Test func captureRefusesABlankOrTooLongName() {
        let given = Given<Lead>([])
        // A blank name is refused, not taken for no name, even when an email address is given.
        given.when(.capture(name: PersonName(splitting: "  "), email: "x@example.com", source: .webForm))
            .thenFails(.invalidValue(field: "name", reason: "it is empty"))
        var long = grace
        long.given = String(repeating: "g", count: 201)
        given.when(.capture(name: long, source: .webForm)).thenFails(.invalidValue(field: "name", reason: "it is longer than 200 characters"))
        var padded = grace
        padded.family = " Hopper "
        given.when(.capture(name: padded, source: .referral, channel: .phone))
            .then([LeadCaptured(name: grace, email: nil, phone: nil, companyName: nil, source: .referral, channel: .phone, campaign: nil,
                                ownerID: nil)])
    }

    // MARK: Status

    @Test func statusMovesFromNewToWorkingToQualified() {
        lead().when(.startWorking()).then([LeadStatusChanged(from: .new, to: .working)])
        lead().when(.qualify()).then([LeadStatusChanged(from: .new, to: .qualified)])
        let working = lead([LeadStatusChanged(from: .new, to: .working)])
        working.when(.startWorking()).thenNothing()
        working.when(.qualify()).then([LeadStatusChanged(from: .working, to: .qualified)])
        let qualified = lead([LeadStatusChanged(from: .new, to: .qualified)])
        qualified.when(.qualify()).thenNothing()
        qualified.when(.startWorking()).thenFails(.invalidTransition(kind: "lead", id: qualified.id.description, reason: "it is qualified already"))
        #expect(qualified.state.status == .qualified)
    }

    @Test func disqualifiedLeadsRefuseStatusChangesUntilReopened() {
        let given = lead([LeadStatusChanged(from: .new, to: .working)])
        given.when(.disqualify(reason: " student, no budget ")).then([LeadDisqualified(from: .working, reason: "student, no budget")])
        given.when(.disqualify(reason: "")).thenFails(.invalidValue(field: "disqualification reason", reason: "it is empty"))
        given.when(.reopen()).thenFails(.invalidTransition(kind: "lead", id: given.id.description, reason: "it is not disqualified"))

        let out = Given<Lead>(given.events + [LeadDisqualified(from: .working, reason: "student, no budget")])
        #expect(out.state.status == .disqualified && out.state.disqualificationReason == "student, no budget")
        let refused = CRMError.invalidTransition(kind: "lead", id: out.id.description, reason: "it is disqualified (student, no budget); reopen it first")
        out.when(.startWorking()).thenFails(refused)
        out.when(.qualify()).thenFails(refused)
        out.when(.disqualify(reason: "again")).thenFails(refused)
        out.when(.markConverted(contact: ContactID(), company: nil, deal: nil)).thenFails(refused)
        out.when(.assignOwner("user:boris")).then([LeadOwnerAssigned(from: "user:anna", to: "user:boris")])
        out.when(.reopen()).then([LeadStatusChanged(from: .disqualified, to: .working)])

        let back = Given<Lead>(out.events + [LeadStatusChanged(from: .disqualified, to: .working)])
        #expect(back.state.status == .working && back.state.disqualificationReason == nil)
        back.when(.qualify()).then([LeadStatusChanged(from: .working, to: .qualified)])
    }

    @Test func convertedLeadsRefuseEverything() {
        let contact = ContactID(), company = CompanyID(), deal = DealID()
        lead().when(.markConverted(contact: contact, company: company, deal: deal))
            .then([LeadConverted(from: .new, contactID: contact, companyID: company, dealID: deal)])
        let converted = lead([LeadConverted(from: .new, contactID: contact, companyID: company, dealID: deal)])
        #expect(converted.state.status == .converted)
        #expect(converted.state.conversion == LeadConversionLinks(contactID: contact, companyID: company, dealID: deal))
        let refused = CRMError.invalidTransition(kind: "lead", id: converted.id.description, reason: "it was converted into contact \(contact)")
        converted.when(.startWorking()).thenFails(refused)
        converted.when(.qualify()).thenFails(refused)
        converted.when(.disqualify(reason: "late")).thenFails(refused)
        converted.when(.reopen()).thenFails(refused)
        converted.when(.assignOwner("user:boris")).thenFails(refused)
        converted.when(.markConverted(contact: ContactID(), company: nil, deal: nil)).thenFails(refused)
    }

    @Test func ownersAndTags() {
        let given = lead()
        given.when(.assignOwner("user:boris")).then([LeadOwnerAssigned(from: "user:anna", to: "user:boris")])
        given.when(.assignOwner("user:anna")).thenNothing()
        given.when(.assignOwner("")).thenFails(.invalidValue(field: "owner", reason: "it is empty"))
        let state = given.state
        #expect(state.extraTags(for: LeadStatusChanged(from: .new, to: .working)) == [spring.tag])
        let contact = ContactID(), deal = DealID()
        #expect(state.extraTags(for: LeadConverted(from: .new, contactID: contact, companyID: nil, dealID: deal)) == [spring.tag, contact.tag, deal.tag])
    }

    // MARK: Conversion, with a store

    struct World {
        let store = InMemoryEventStore()
        let repository: Repository
        let pipeline = PipelineID()
        let lead = LeadID()

        init(policy: any AccessPolicy = AllowAllPolicy()) {
            repository = Repository(store: store, policy: policy)
        }

        func setUp(_ captured: LeadCaptured) async throws {
            try await repository.execute(.define(name: "Sales", stages: salesStages), on: pipeline, context: context(admin))
            try await repository.execute(.capture(name: captured.name, email: captured.email?.value, phone: captured.phone?.value,
                                                  companyName: captured.companyName, source: captured.source, campaign: captured.campaign,
                                                  owner: captured.ownerID), on: lead, context: context())
            try await repository.execute(.qualify(), on: lead, context: context())
        }

        func versions(_ streams: [StreamID]) async throws -> [UInt64] {
            var result: [UInt64] = []
            for stream in streams { result.append(try await store.streamVersion(of: stream)) }
            return result
        }
    }

    @Test("a conversion that fails inside a caller's unit of work leaves none of it there, so a corrected one goes through")
    func aFailedConversionInAUnitOfWorkLeavesNothing() async throws {
        let world = World()
        // A lead that gave no name: a new contact needs one.
        try await world.setUp(LeadCaptured(name: nil, email: try EmailAddress("nameless@example.com"), phone: nil, companyName: nil,
                                           source: .webForm, channel: .webForm, campaign: nil, ownerID: nil))
        let contact = ContactID()
        try await world.repository.transaction(context: context()) { (unit) throws(CRMError) in
            do throws(CRMError) {
                try await unit.convertLead(world.lead, contact: .new(id: contact), company: nil, deal: nil)
                Issue.record("a lead without a name was converted into a contact without one")
            } catch {
                #expect(error == .invalidValue(field: "name", reason: "lead \(world.lead) has no name; give the new contact one"))
            }
            // Before, the lead stayed converted in the unit: this was refused, and the commit
            // stored LeadConverted pointing at a contact that never existed.
            try await unit.convertLead(world.lead, contact: .new(id: contact, name: try PersonName(given: "Nora", family: "Nameless")),
                                       company: nil, deal: nil)
        }
        let lead = try await world.repository.load(world.lead).state
        #expect(lead.status == .converted && lead.conversion?.contactID == contact)
        #expect(try await world.repository.load(contact).state.name?.full == "Nora Nameless")
    }

    @Test("a lead's company name is checked as a company's, and converting a lead that does not exist is decided by access first")
    func captureAndConversionInputs() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store, policy: RoleBasedAccessPolicy())
        // Before, "Acme\nGmbH" was captured, and converting the lead into a new company then failed.
        await #expect(throws: CRMError.invalidValue(field: "company name", reason: "it holds a line break or a control character")) {
            try await repository.execute(.capture(name: grace, companyName: "Acme\nGmbH", source: .webForm), on: LeadID(), context: context())
        }
        // Support may not touch leads: refused and recorded whether or not the lead exists (before: "not found").
        let support = Principal(id: "user:sam", role: .support)
        let missing = LeadID()
        do {
            _ = try await repository.convertLead(missing, contact: .new(), company: nil, deal: nil, context: context(support))
            Issue.record("support converted a lead")
        } catch {
            guard case .accessDenied = error else { Issue.record("expected accessDenied, got \(error)"); return }
        }
        let denials = try await store.readStream(try StreamID("access-denied"), from: 1, direction: .forward, limit: 10)
        #expect(denials.count == 1 && denials.first?.tags.contains(missing.tag) == true)
    }

    @Test("linking a contact in a unit of work is all or nothing: a refused link leaves the old company linked")
    func aRefusedLinkInAUnitOfWorkLeavesTheOldLink() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        let ada = ContactID(), acme = CompanyID(), globex = CompanyID()
        try await repository.execute(.create(name: try PersonName(given: "Ada", family: "Lovelace")), on: ada, context: context())
        try await repository.execute(.create(name: "Acme"), on: acme, context: context())
        try await repository.execute(.create(name: "Globex"), on: globex, context: context())
        try await repository.linkContact(ada, to: acme, role: "CTO", context: context())
        try await repository.transaction(context: context()) { (unit) throws(CRMError) in
            // The role is too long: the link to Globex is refused after the unlink from Acme was decided.
            do throws(CRMError) {
                try await unit.linkContact(ada, to: globex, role: String(repeating: "r", count: 1_001))
                Issue.record("a 1,001-character role was accepted")
            } catch {}
            try await unit.execute(.addToSegment("kept"), on: ada)
        }
        #expect(try await repository.load(ada).state.companyID == acme)
        #expect(try await repository.load(acme).state.contacts[ada] != nil)
    }

    @Test func aConversionWritesLeadContactCompanyAndDealInOneAppend() async throws {
        let world = World()
        try await world.setUp(captured)
        let head = try await world.store.headPosition()
        let outcome = try await world.repository.convertLead(
            world.lead, contact: .new(), company: .new(),
            deal: DealDraft(title: "Navy pilot", pipeline: world.pipeline, stage: "proposal", amount: usd("40000"), contactRole: .decisionMaker),
            context: context())
        let contact = outcome.contactID
        let company = try #require(outcome.companyID)
        let deal = try #require(outcome.dealID)

        // One append, right after the head, with no gap: lead, contact, company, deal.
        #expect(outcome.append.positions == LogPosition(head.rawValue + 1)...LogPosition(head.rawValue + 6))
        let written = try await world.store.readLog(from: LogPosition(head.rawValue + 1), filter: .all, limit: 100)
        #expect(written.map(\.type) == ["LeadConverted", "ContactCreated", "ContactLinkedToCompany", "CompanyCreated",
                                        "CompanyContactLinked", "DealOpened"])
        #expect(written.map(\.position.rawValue) == Array((head.rawValue + 1)...(head.rawValue + 6)))
        #expect(Set(written.map(\.metadata.correlationID)).count == 1)

        // The lead links to what it became, and each of those exists as expected.
        let lead = try await world.repository.load(world.lead).state
        #expect(lead.status == .converted)
        #expect(lead.conversion == LeadConversionLinks(contactID: contact, companyID: company, dealID: deal))
        let person = try await world.repository.load(contact).state
        #expect(try person.name == grace && person.emails == [EmailAddress("grace@navy.example")] && person.phones.count == 1)
        #expect(person.companyID == company && person.owner == "user:anna" && person.lifecycleStage == .opportunity)
        let firm = try await world.repository.load(company).state
        #expect(firm.name == "US Navy" && firm.contacts[contact] != nil)
        let opened = try await world.repository.load(deal).state
        #expect(opened.title == "Navy pilot" && opened.stage == "proposal" && opened.amount == usd("40000"))
        #expect(opened.companyID == company && opened.contacts == [contact: .decisionMaker] && opened.owner == "user:anna")
        // The conversion is findable from the lead, the contact and the deal.
        #expect(written[0].tags.contains(contact.tag) && written[0].tags.contains(deal.tag) && written[0].tags.contains(spring.tag))
        #expect(written[5].tags.contains(contact.tag) && written[5].tags.contains(company.tag) && written[5].tags.contains(world.pipeline.tag))

        // A second conversion is refused and writes nothing.
        let after = try await world.store.headPosition()
        await #expect(throws: CRMError.invalidTransition(kind: "lead", id: world.lead.description, reason: "it was converted into contact \(contact)")) {
            _ = try await world.repository.convertLead(world.lead, contact: .new(), company: nil, deal: nil, context: context())
        }
        #expect(try await world.store.headPosition() == after)
    }

    @Test func aConversionWithAnUnknownStageWritesNothingAnywhere() async throws {
        let world = World()
        try await world.setUp(captured)
        let head = try await world.store.headPosition()
        let contact = ContactID(), company = CompanyID(), deal = DealID()
        await #expect(throws: CRMError.unknownStage(stage: "closing", pipeline: world.pipeline.description)) {
            _ = try await world.repository.convertLead(
                world.lead, contact: .new(id: contact), company: .new(id: company),
                deal: DealDraft(id: deal, title: "Navy pilot", pipeline: world.pipeline, stage: "closing"), context: context())
        }
        #expect(try await world.store.headPosition() == head)
        #expect(try await world.versions([world.lead.streamID, contact.streamID, company.streamID, deal.streamID]) == [2, 0, 0, 0])
        #expect(try await world.repository.load(world.lead).state.status == .qualified)
    }

    @Test func aConversionWithAnEmptyContactRoleWritesNothingAnywhere() async throws {
        let world = World()
        try await world.setUp(captured)
        let head = try await world.store.headPosition()
        let contact = ContactID(), deal = DealID()
        await #expect(throws: CRMError.invalidValue(field: "contact role", reason: "it is empty")) {
            _ = try await world.repository.convertLead(
                world.lead, contact: .new(id: contact), company: nil,
                deal: DealDraft(id: deal, title: "Navy pilot", pipeline: world.pipeline, contactRole: DealContactRole(rawValue: "")),
                context: context())
        }
        #expect(try await world.store.headPosition() == head)
        #expect(try await world.versions([world.lead.streamID, contact.streamID, deal.streamID]) == [2, 0, 0])
    }

    @Test func aConversionToAContactIDInUseWritesNothingAnywhere() async throws {
        let world = World()
        try await world.setUp(captured)
        let taken = ContactID()
        try await world.repository.execute(.create(name: grace), on: taken, context: context())
        let head = try await world.store.headPosition()
        let company = CompanyID(), deal = DealID()
        await #expect(throws: CRMError.alreadyExists(kind: "contact", id: taken.description)) {
            _ = try await world.repository.convertLead(
                world.lead, contact: .new(id: taken), company: .new(id: company),
                deal: DealDraft(id: deal, title: "Navy pilot", pipeline: world.pipeline), context: context())
        }
        #expect(try await world.store.headPosition() == head)
        #expect(try await world.versions([world.lead.streamID, taken.streamID, company.streamID, deal.streamID]) == [2, 1, 0, 0])

        // Other parts that can fail: an existing company that is not, a lead without a company name.
        let ghost = CompanyID()
        await #expect(throws: CRMError.notFound(kind: "company", id: ghost.description)) {
            _ = try await world.repository.convertLead(world.lead, contact: .new(), company: .existing(ghost), deal: nil, context: context())
        }
        let ghostContact = ContactID()
        await #expect(throws: CRMError.notFound(kind: "contact", id: ghostContact.description)) {
            _ = try await world.repository.convertLead(world.lead, contact: .existing(ghostContact), company: nil, deal: nil, context: context())
        }
        #expect(try await world.store.headPosition() == head)
    }

    @Test func aConversionCanLinkExistingRecords() async throws {
        let world = World()
        var bare = captured
        bare.companyName = nil
        try await world.setUp(bare)
        let ada = ContactID(), acme = CompanyID(), old = CompanyID()
        try await world.repository.execute(.create(name: grace, owner: anna.id), on: ada, context: context())
        try await world.repository.execute(.create(name: "Acme"), on: acme, context: context())
        try await world.repository.execute(.create(name: "Old Corp"), on: old, context: context())
        try await world.repository.linkContact(ada, to: old, context: context())

        // A new company needs a name when the lead gave none.
        await #expect(throws: CRMError.invalidValue(field: "company name", reason: "lead \(world.lead) gave none; name the new company")) {
            _ = try await world.repository.convertLead(world.lead, contact: .existing(ada), company: .new(), deal: nil, context: context())
        }

        let outcome = try await world.repository.convertLead(world.lead, contact: .existing(ada), company: .existing(acme), deal: nil, context: context())
        #expect(outcome.contactID == ada && outcome.companyID == acme && outcome.dealID == nil)
        #expect(try await world.repository.load(ada).state.companyID == acme)
        #expect(try await world.repository.load(acme).state.contacts[ada] != nil)
        #expect(try await world.repository.load(old).state.contacts[ada] == nil, "the contact left its previous company on both sides")
        #expect(try await world.repository.load(world.lead).state.conversion == LeadConversionLinks(contactID: ada, companyID: acme, dealID: nil))
    }

    @Test func aConversionIntoAContactAlreadyAtTheCompanyKeepsItsRole() async throws {
        let world = World()
        var bare = captured
        bare.companyName = nil
        try await world.setUp(bare)
        let ada = ContactID(), acme = CompanyID()
        try await world.repository.execute(.create(name: grace, owner: anna.id), on: ada, context: context())
        try await world.repository.execute(.create(name: "Acme"), on: acme, context: context())
        try await world.repository.linkContact(ada, to: acme, role: "CTO", context: context())
        let head = try await world.store.headPosition()
        _ = try await world.repository.convertLead(world.lead, contact: .existing(ada), company: .existing(acme), deal: nil, context: context())
        #expect(try await world.repository.load(ada).state.companyRole == "CTO")
        #expect(try await world.repository.load(acme).state.contacts[ada] == "CTO")
        let written = try await world.store.readLog(from: LogPosition(head.rawValue + 1), filter: .all, limit: 10)
        #expect(written.map(\.streamID) == [world.lead.streamID], "only the lead changed: \(written.map(\.type))")
    }

    @Test func aConversionIsRefusedWholeWhenThePolicyRefusesAPart() async throws {
        let world = World(policy: RoleBasedAccessPolicy())
        try await world.setUp(captured)
        let marketer = Principal(id: "user:mo", role: .marketing)
        let head = try await world.store.headPosition()
        let contact = ContactID(), company = CompanyID(), deal = DealID()
        // Marketing may convert leads into contacts and companies, but not open deals.
        await #expect(throws: CRMError.accessDenied(actor: marketer.id, command: "deal.open", entity: deal.tag.rawValue,
                                                    reason: "the role marketing may not work on deals")) {
            _ = try await world.repository.convertLead(world.lead, contact: .new(id: contact), company: .new(id: company),
                                                       deal: DealDraft(id: deal, title: "Navy pilot", pipeline: world.pipeline), context: context(marketer))
        }
        // Only the refusal itself was recorded.
        let written = try await world.store.readLog(from: LogPosition(head.rawValue + 1), filter: .all, limit: 10)
        #expect(written.map(\.type) == ["AccessDenied"])
        #expect(try await world.versions([world.lead.streamID, contact.streamID, company.streamID, deal.streamID]) == [2, 0, 0, 0])

        // A rep who does not own the lead cannot convert it.
        await #expect(throws: CRMError.accessDenied(actor: boris.id, command: "lead.convert", entity: world.lead.tag.rawValue,
                                                    reason: "the lead is owned by user:anna")) {
            _ = try await world.repository.convertLead(world.lead, contact: .new(), company: nil, deal: nil, context: context(boris))
        }
        let outcome = try await world.repository.convertLead(world.lead, contact: .new(id: contact), company: .new(id: company), deal: nil,
                                                             context: context(marketer))
        #expect(outcome.append.positions.upperBound.rawValue - outcome.append.positions.lowerBound.rawValue == 4, "five events")
    }
}
