import Foundation
@testable import RapportCore
import RapportEventLog
import Testing

func eur(_ amount: String) -> Money { try! Money(amount: dec(amount), currency: "EUR") }
func usd(_ amount: String) -> Money { try! Money(amount: dec(amount), currency: "USD") }

@Suite("Deal")
struct DealTests {
    let pipelineID = PipelineID()
    let acme = CompanyID()
    let ada = ContactID()
    let closeDate = Date(timeIntervalSince1970: 1_720_000_000)

    var pipeline: Pipeline { salesPipeline(pipelineID) }
    var opened: DealOpened {
        DealOpened(title: "Acme renewal", pipelineID: pipelineID, stage: "qualification", amount: eur("12000"), expectedCloseDate: nil,
                   ownerID: "user:anna", companyID: acme, contacts: [DealContact(contactID: ada, role: .decisionMaker)])
    }
    /// An open deal in `stage`.
    func deal(in stage: String = "qualification", _ more: [any Event] = []) -> Given<Deal> {
        var events: [any Event] = [opened]
        if stage != "qualification" { events.append(DealStageChanged(from: "qualification", to: stage, movedBack: false)) }
        return Given<Deal>(events + more)
    }
    let at = Date(timeIntervalSince1970: 1_700_000_000)  // the harness's clock

    // MARK: Opening

    @Test func openRecordsTheStageKeyAmountAndLinks() {
        Given<Deal>([]).when(.open(title: " Acme renewal ", in: pipeline, amount: eur("12000"), owner: "user:anna", company: acme,
                                   contacts: [DealContact(contactID: ada, role: .decisionMaker)]))
            .then([opened])
        let deal = deal().state
        #expect(deal.exists && deal.status == .open && deal.stage == "qualification")
        #expect(deal.pipelineID == pipelineID && deal.companyID == acme && deal.contacts == [ada: .decisionMaker])
        #expect(deal.amount == eur("12000"))
    }

    @Test func openRefusesBadInput() {
        let given = Given<Deal>([])
        given.when(.open(title: "X", in: pipeline, stage: "closing"))
            .thenFails(.unknownStage(stage: "closing", pipeline: pipelineID.description))
        given.when(.open(title: "X", in: pipeline, stage: "won"))
            .thenFails(.invalidTransition(kind: "deal", id: given.id.description, reason: "a deal opens in an open stage, and \"won\" is a won stage"))
        var negative = eur("10")
        negative.amount = -10
        given.when(.open(title: "X", in: pipeline, amount: negative)).thenFails(.invalidAmount("-10 is negative"))
        given.when(.open(title: "  ", in: pipeline)).thenFails(.invalidValue(field: "deal title", reason: "it is empty"))
        let missing = PipelineID()
        given.when(.open(title: "X", in: Pipeline(id: missing))).thenFails(.notFound(kind: "pipeline", id: missing.description))
        given.when(.open(title: "X", in: pipeline, contacts: [DealContact(contactID: ada, role: .evaluator), DealContact(contactID: ada, role: .other)]))
            .thenFails(.invalidValue(field: "contacts", reason: "a contact is listed twice"))
        given.when(.open(title: "X", in: pipeline, owner: "")).thenFails(.invalidValue(field: "owner", reason: "it is empty"))
    }

    @Test func openingRefusesAnEmptyContactRoleAsAddingOneDoes() {
        let given = Given<Deal>([])
        let bob = ContactID()
        given.when(.open(title: "X", in: pipeline, contacts: [DealContact(contactID: ada, role: .evaluator),
                                                              DealContact(contactID: bob, role: DealContactRole(rawValue: ""))]))
            .thenFails(.invalidValue(field: "contact role", reason: "it is empty"))
        deal().when(.addContact(bob, role: DealContactRole(rawValue: ""))).thenFails(.invalidValue(field: "contact role", reason: "it is empty"))
    }

    /// A role is a label on one line: trimmed before it is stored, refused
    /// when blank, over 100 characters or broken over lines, when a deal
    /// opens and when a contact is added.
    @Test func contactRolesAreTrimmedLabels() throws {
        let given = Given<Deal>([])
        let bob = ContactID()
        for (role, reason) in [("  ", "it is empty"), (String(repeating: "x", count: 101), "it is longer than 100 characters"),
                               ("buyer\nand payer", "it holds a line break or a control character")] {
            given.when(.open(title: "X", in: pipeline, contacts: [DealContact(contactID: bob, role: DealContactRole(rawValue: role))]))
                .thenFails(.invalidValue(field: "contact role", reason: reason))
            deal().when(.addContact(bob, role: DealContactRole(rawValue: role))).thenFails(.invalidValue(field: "contact role", reason: reason))
        }
        deal().when(.addContact(bob, role: DealContactRole(rawValue: "  champion "))).then([DealContactAdded(contactID: bob, role: DealContactRole(rawValue: "champion"))])
        let open = Command<Deal>.open(title: "X", in: pipeline, contacts: [DealContact(contactID: bob, role: DealContactRole(rawValue: " champion"))])
        let opened = try open.decide(given.state, given.context)
        #expect((opened.first as? DealOpened)?.contacts.map(\.role.rawValue) == ["champion"])
    }

    @Test func moneyNeverGoesNegative() {
        #expect(throws: CRMError.invalidAmount("-1 is negative")) { try Money(amount: -1, currency: "EUR") }
        #expect(throws: CRMError.invalidAmount("\"EURO\" is not a currency code")) { try Money(amount: 1, currency: "EURO") }
    }

    // MARK: Stages

    @Test func movesForwardAndBackAreRecordedWithBothKeys() {
        deal().when(.moveToStage("negotiation", in: pipeline))
            .then([DealStageChanged(from: "qualification", to: "negotiation", movedBack: false)])
        deal(in: "negotiation").when(.moveToStage("qualification", in: pipeline))
            .then([DealStageChanged(from: "negotiation", to: "qualification", movedBack: true)])
        deal(in: "negotiation").when(.moveToStage("negotiation", in: pipeline)).thenNothing()

        let history = deal(in: "negotiation", [DealStageChanged(from: "negotiation", to: "proposal", movedBack: true)])
        #expect(history.state.stage == "proposal")
    }

    @Test func movingToAStageOutsideThePipelineIsRefused() {
        let given = deal()
        given.when(.moveToStage("closing", in: pipeline)).thenFails(.unknownStage(stage: "closing", pipeline: pipelineID.description))
        given.when(.moveToStage("Negotiation", in: pipeline)).thenFails(.unknownStage(stage: "Negotiation", pipeline: pipelineID.description))
        let other = salesPipeline(PipelineID())
        given.when(.moveToStage("negotiation", in: other))
            .thenFails(.invalidValue(field: "pipeline", reason: "deal \(given.id) is in pipeline \(pipelineID), not \(other.id)"))
    }

    @Test func wonAndLostStagesAreReachedOnlyThroughMarkWonAndMarkLost() {
        let given = deal()
        given.when(.moveToStage("won", in: pipeline))
            .thenFails(.invalidTransition(kind: "deal", id: given.id.description, reason: "\"won\" is a won stage; use markWon(finalAmount:in:stage:)"))
        given.when(.moveToStage("lost", in: pipeline))
            .thenFails(.invalidTransition(kind: "deal", id: given.id.description, reason: "\"lost\" is a lost stage; use markLost(reason:in:stage:)"))
    }

    @Test func retiredStagesCanBeLeftButNotEntered() {
        let retired = salesPipeline(pipelineID, [PipelineStageRemoved(stage: salesStages[1])])
        deal().when(.moveToStage("proposal", in: retired)).thenFails(.unknownStage(stage: "proposal", pipeline: pipelineID.description))
        deal(in: "proposal").when(.moveToStage("negotiation", in: retired))
            .then([DealStageChanged(from: "proposal", to: "negotiation", movedBack: false)])
    }

    @Test func movedBackFollowsTheBoardOrderAtTheTime() {
        let reordered = salesPipeline(pipelineID, [PipelineStagesReordered(from: salesStages.map(\.key),
                                                                           to: ["negotiation", "proposal", "qualification", "won", "lost"])])
        deal().when(.moveToStage("negotiation", in: reordered))
            .then([DealStageChanged(from: "qualification", to: "negotiation", movedBack: true)])
    }

    // MARK: Amounts

    @Test func amountsKeepTheirCurrencyUntilChangedExplicitly() {
        let given = deal()
        given.when(.changeAmount(eur("15000"))).then([DealAmountChanged(from: eur("12000"), to: eur("15000"))])
        given.when(.changeAmount(eur("12000"))).thenNothing()
        given.when(.changeAmount(usd("15000")))
            .thenFails(.invalidAmount("the deal is in EUR, not USD; change its currency with changeCurrency(to:) first"))
        given.when(.changeCurrency(to: usd("13000"))).then([DealCurrencyChanged(from: eur("12000"), to: usd("13000"))])
        given.when(.changeCurrency(to: eur("13000"))).thenFails(.invalidAmount("the deal is already in EUR; use changeAmount(_:)"))

        var state = given.state
        state.apply(DealCurrencyChanged(from: eur("12000"), to: usd("13000")))
        #expect(state.amount == usd("13000"))
        Given<Deal>(given.events + [DealCurrencyChanged(from: eur("12000"), to: usd("13000"))]).when(.changeAmount(eur("1")))
            .thenFails(.invalidAmount("the deal is in USD, not EUR; change its currency with changeCurrency(to:) first"))
    }

    @Test func theFirstAmountSetsTheCurrency() {
        var noAmount = opened
        noAmount.amount = nil
        let given = Given<Deal>([noAmount])
        given.when(.changeAmount(usd("500"))).then([DealAmountChanged(from: nil, to: usd("500"))])
        given.when(.changeCurrency(to: usd("500"))).thenFails(.invalidAmount("the deal has no amount yet; set one with changeAmount(_:)"))
    }

    @Test func negativeAmountsAreRefusedEverywhere() {
        var negative = eur("100")
        negative.amount = dec("-0.01")
        let given = deal()
        given.when(.changeAmount(negative)).thenFails(.invalidAmount("-0.01 is negative"))
        given.when(.changeCurrency(to: negative)).thenFails(.invalidAmount("-0.01 is negative"))
        given.when(.markWon(finalAmount: negative, in: pipeline)).thenFails(.invalidAmount("-0.01 is negative"))
        var badCode = eur("1")
        badCode.currency = "euro"
        given.when(.changeAmount(badCode)).thenFails(.invalidAmount("\"euro\" is not a currency code"))
    }

    // MARK: Winning, losing, reopening

    @Test func winningRecordsTheFinalAmountAndTheStageItWasWonFrom() {
        let given = deal(in: "negotiation")
        given.when(.markWon(finalAmount: eur("11500"), in: pipeline))
            .then([DealWon(finalAmount: eur("11500"), stage: "won", fromStage: "negotiation", at: at)])
        given.when(.markWon(finalAmount: usd("11500"), in: pipeline))
            .thenFails(.invalidAmount("the deal is in EUR, not USD; change its currency with changeCurrency(to:) first"))
        given.when(.markWon(finalAmount: eur("1"), in: pipeline, stage: "lost"))
            .thenFails(.invalidValue(field: "stage", reason: "\"lost\" is a lost stage, not a won one"))
        given.when(.markWon(finalAmount: eur("1"), in: pipeline, stage: "signed"))
            .thenFails(.unknownStage(stage: "signed", pipeline: pipelineID.description))

        let won = Given<Deal>(given.events + [DealWon(finalAmount: eur("11500"), stage: "won", fromStage: "negotiation", at: at)]).state
        #expect(won.status == .won && won.stage == "won" && won.finalAmount == eur("11500") && won.closedAt == at)
    }

    @Test func aSecondWonStageCanBeChosen() {
        let renewal = PipelineStage(key: "won-renewal", name: "Won (renewal)", probability: 1, kind: .won)
        let withTwo = salesPipeline(pipelineID, [PipelineStageAdded(stage: renewal, index: 4)])
        deal().when(.markWon(finalAmount: eur("1"), in: withTwo, stage: "won-renewal"))
            .then([DealWon(finalAmount: eur("1"), stage: "won-renewal", fromStage: "qualification", at: at)])
    }

    @Test func losingKeepsTheStageItWasLostAt() {
        let given = deal(in: "proposal")
        given.when(.markLost(reason: " chose a competitor ", in: pipeline))
            .then([DealLost(reason: "chose a competitor", stage: "lost", lostAtStage: "proposal", at: at)])
        given.when(.markLost(reason: " ", in: pipeline)).thenFails(.invalidValue(field: "lost reason", reason: "it is empty"))
        given.when(.markLost(reason: "x", in: pipeline, stage: "won"))
            .thenFails(.invalidValue(field: "stage", reason: "\"won\" is a won stage, not a lost one"))

        let lost = Given<Deal>(given.events + [DealLost(reason: "chose a competitor", stage: "lost", lostAtStage: "proposal", at: at)]).state
        #expect(lost.status == .lost && lost.stage == "lost" && lost.lostAtStage == "proposal" && lost.lostReason == "chose a competitor")
    }

    @Test func closedDealsRefuseChangesUntilReopened() {
        let won = deal(in: "negotiation", [DealWon(finalAmount: eur("11500"), stage: "won", fromStage: "negotiation", at: at)])
        let lost = deal(in: "proposal", [DealLost(reason: "no budget", stage: "lost", lostAtStage: "proposal", at: at)])
        for (given, status) in [(won, "won"), (lost, "lost")] {
            let closed = CRMError.dealClosed(id: given.id.description, status: status)
            given.when(.rename(to: "New title")).thenFails(closed)
            given.when(.moveToStage("proposal", in: pipeline)).thenFails(closed)
            given.when(.changeAmount(eur("1"))).thenFails(closed)
            given.when(.changeCurrency(to: usd("1"))).thenFails(closed)
            given.when(.changeExpectedCloseDate(to: closeDate)).thenFails(closed)
            given.when(.setCompany(nil)).thenFails(closed)
            given.when(.addContact(ContactID(), role: .influencer)).thenFails(closed)
            given.when(.removeContact(ada)).thenFails(closed)
            given.when(.markWon(finalAmount: eur("1"), in: pipeline)).thenFails(closed)
            given.when(.markLost(reason: "again", in: pipeline)).thenFails(closed)
            // Handing a closed deal to another owner stays possible.
            given.when(.assignOwner("user:boris")).then([DealOwnerAssigned(from: "user:anna", to: "user:boris")])
        }
    }

    @Test func reopeningPutsAClosedDealBackIntoAnOpenStage() {
        let won = deal(in: "negotiation", [DealWon(finalAmount: eur("11500"), stage: "won", fromStage: "negotiation", at: at)])
        won.when(.reopen(toStage: "negotiation", in: pipeline)).then([DealReopened(fromStatus: .won, fromStage: "won", toStage: "negotiation")])
        won.when(.reopen(toStage: "lost", in: pipeline)).thenFails(.invalidValue(field: "stage", reason: "\"lost\" is a lost stage, not an open one"))
        won.when(.reopen(toStage: "closing", in: pipeline)).thenFails(.unknownStage(stage: "closing", pipeline: pipelineID.description))
        let open = deal()
        open.when(.reopen(toStage: "proposal", in: pipeline))
            .thenFails(.invalidTransition(kind: "deal", id: open.id.description, reason: "it is open"))

        let lost = deal(in: "proposal", [DealLost(reason: "no budget", stage: "lost", lostAtStage: "proposal", at: at)])
        lost.when(.reopen(toStage: "qualification", in: pipeline)).then([DealReopened(fromStatus: .lost, fromStage: "lost", toStage: "qualification")])
        let reopened = Given<Deal>(lost.events + [DealReopened(fromStatus: .lost, fromStage: "lost", toStage: "qualification")])
        let state = reopened.state
        #expect(state.status == .open && state.stage == "qualification" && state.lostReason == nil && state.lostAtStage == nil && state.closedAt == nil)
        // Open again: it takes changes.
        reopened.when(.moveToStage("proposal", in: pipeline)).then([DealStageChanged(from: "qualification", to: "proposal", movedBack: false)])
    }

    // MARK: Details, company, contacts

    @Test func detailsRecordTheirOldValues() {
        let given = deal()
        given.when(.rename(to: "Acme renewal 2025")).then([DealRenamed(from: "Acme renewal", to: "Acme renewal 2025")])
        given.when(.rename(to: "")).thenFails(.invalidValue(field: "deal title", reason: "it is empty"))
        given.when(.changeExpectedCloseDate(to: closeDate)).then([DealExpectedCloseDateChanged(from: nil, to: closeDate)])
        given.when(.changeExpectedCloseDate(to: nil)).thenNothing()
        given.when(.assignOwner("")).thenFails(.invalidValue(field: "owner", reason: "it is empty"))
        given.when(.assignOwner("user:anna")).thenNothing()
        let other = CompanyID()
        given.when(.setCompany(other)).then([DealCompanyChanged(from: acme, to: other)])
        given.when(.setCompany(acme)).thenNothing()
    }

    @Test func contactsHaveRoles() {
        let given = deal()
        let bob = ContactID()
        given.when(.addContact(bob, role: .evaluator)).then([DealContactAdded(contactID: bob, role: .evaluator)])
        given.when(.addContact(ada, role: .decisionMaker)).thenNothing()
        given.when(.addContact(ada, role: .influencer)).then([DealContactRoleChanged(contactID: ada, from: .decisionMaker, to: .influencer)])
        given.when(.addContact(bob, role: DealContactRole(rawValue: ""))).thenFails(.invalidValue(field: "contact role", reason: "it is empty"))
        given.when(.removeContact(ada)).then([DealContactRemoved(contactID: ada, role: .decisionMaker)])
        given.when(.removeContact(bob)).thenFails(.invalidTransition(kind: "deal", id: given.id.description, reason: "contact \(bob) is not on the deal"))

        let full = Given<Deal>([opened] + (1..<maximumDealContacts).map { _ in DealContactAdded(contactID: ContactID(), role: .other) })
        #expect(full.state.contacts.count == maximumDealContacts)
        full.when(.addContact(bob, role: .other)).thenFails(.invalidValue(field: "contacts", reason: "a deal has at most 50 contacts"))
    }

    @Test func eventsAreTaggedWithPipelineCompanyAndContacts() {
        let bob = ContactID()
        var state = deal([DealContactAdded(contactID: bob, role: .evaluator)]).state
        let tags = Set(state.extraTags(for: DealRenamed(from: "a", to: "b")))
        #expect(tags == [pipelineID.tag, acme.tag, ada.tag, bob.tag])

        // A removed contact or replaced company is tagged on the event that unlinks it.
        let removed = DealContactRemoved(contactID: bob, role: .evaluator)
        state.apply(removed)
        #expect(Set(state.extraTags(for: removed)) == [pipelineID.tag, acme.tag, ada.tag, bob.tag])
        let other = CompanyID()
        let moved = DealCompanyChanged(from: acme, to: other)
        state.apply(moved)
        #expect(Set(state.extraTags(for: moved)) == [pipelineID.tag, other.tag, acme.tag, ada.tag])
        #expect(Set(state.extraTags(for: DealRenamed(from: "a", to: "b"))) == [pipelineID.tag, other.tag, ada.tag])
    }

    // MARK: With a store

    @Test func aDealsLifeThroughTheRepository() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        try await repository.execute(.define(name: "Sales", stages: salesStages), on: pipelineID, context: context(admin))
        let deal = DealID()
        // The company and contact must be there (and active) for a deal to name them.
        let opening = { () async throws(CRMError) in
            try await repository.openDeal(deal, title: "Acme renewal", pipeline: pipelineID, amount: eur("12000"), owner: "user:anna",
                                          company: acme, contacts: [DealContact(contactID: ada, role: .decisionMaker)], context: context())
        }
        await #expect(throws: CRMError.notFound(kind: "company", id: acme.description)) { try await opening() }
        try await repository.execute(.create(name: "Acme"), on: acme, context: context())
        await #expect(throws: CRMError.notFound(kind: "contact", id: ada.description)) { try await opening() }
        let survivor = ContactID()
        for contact in [ada, survivor] {
            try await repository.execute(.create(name: try PersonName(given: "Ada", family: "Lovelace")), on: contact, context: context(admin))
        }
        try await repository.mergeContacts(survivor: survivor, duplicate: ada, context: context(admin))
        await #expect(throws: CRMError.contactMerged(id: ada.description, into: survivor.description)) { try await opening() }
        #expect(try await store.streamVersion(of: deal.streamID) == 0, "nothing of the refused openings stored")
        try await repository.openDeal(deal, title: "Acme renewal", pipeline: pipelineID, amount: eur("12000"), owner: anna.id,
                                      company: acme, contacts: [DealContact(contactID: survivor, role: .decisionMaker)], context: context())
        try await repository.moveDeal(deal, toStage: "negotiation", context: context())
        try await repository.moveDeal(deal, toStage: "proposal", context: context())
        try await repository.markDealLost(deal, reason: "timing", context: context())
        try await repository.reopenDeal(deal, toStage: "negotiation", context: context())
        try await repository.markDealWon(deal, finalAmount: eur("11000"), context: context())

        let records = try await store.readStream(deal.streamID, from: 1, direction: .forward, limit: 100)
        #expect(records.map(\.type) == ["DealOpened", "DealStageChanged", "DealStageChanged", "DealLost", "DealReopened", "DealWon"])
        let back = try records[2].decode(DealStageChanged.self)
        #expect(back.from == "negotiation" && back.to == "proposal" && back.movedBack)
        #expect(try records[3].decode(DealLost.self).lostAtStage == "proposal")
        for record in records {
            for tag in [deal.tag, pipelineID.tag, acme.tag, survivor.tag, try Tag("owner:user:anna")] {
                #expect(record.tags.contains(tag), "\(record.type) lacks \(tag)")
            }
        }
        let state = try await repository.load(deal).state
        #expect(state.status == .won && state.finalAmount == eur("11000") && state.stage == "won")

        // Everything about the pipeline is found by its tag.
        let byPipeline = try await store.readLog(from: 1, filter: LogFilter(tags: [pipelineID.tag]), limit: 100)
        #expect(byPipeline.count == 7)

        // A handover carries both owners: a query by the owner it leaves sees it (before, only the new one's).
        try await repository.execute(.assignOwner("user:boris"), on: deal, context: context())
        let handover = try #require(try await store.readStream(deal.streamID, from: 7, direction: .forward, limit: 1).first)
        let anna = try Tag("owner:user:anna"), boris = try Tag("owner:user:boris")
        #expect(handover.tags.contains(anna) && handover.tags.contains(boris))
        let annasLast = try await store.readLog(from: 1, filter: LogFilter(tags: [anna]), limit: 100).last
        #expect(annasLast?.type == "DealOwnerAssigned")

        let missing = DealID()
        await #expect(throws: CRMError.notFound(kind: "deal", id: missing.description)) {
            try await repository.moveDeal(missing, toStage: "proposal", context: context())
        }
        await #expect(throws: CRMError.dealClosed(id: deal.description, status: "won")) {
            try await repository.moveDeal(deal, toStage: "proposal", context: context())
        }
        let head = try await store.headPosition()
        await #expect(throws: CRMError.unknownStage(stage: "closing", pipeline: pipelineID.description)) {
            try await repository.openDeal(DealID(), title: "X", pipeline: pipelineID, stage: "closing", context: context())
        }
        #expect(try await store.headPosition() == head, "a refused command appends nothing")
    }

    @Test func renamingAStageDoesNotRewriteThePast() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        try await repository.execute(.define(name: "Sales", stages: salesStages), on: pipelineID, context: context(admin))
        let deal = DealID()
        try await repository.openDeal(deal, title: "Acme renewal", pipeline: pipelineID, context: context())
        try await repository.moveDeal(deal, toStage: "negotiation", context: context())
        let before = try await store.readStream(deal.streamID, from: 1, direction: .forward, limit: 10)

        try await repository.execute(.renameStage("negotiation", to: "Contract talks"), on: pipelineID, context: context(admin))

        let after = try await store.readStream(deal.streamID, from: 1, direction: .forward, limit: 10)
        #expect(after.map(\.payload) == before.map(\.payload), "the deal's stored events are byte for byte the same")
        #expect(after.map(\.position) == before.map(\.position))
        let move = try after[1].decode(DealStageChanged.self)
        #expect(move.to == "negotiation")
        #expect(!String(decoding: after[1].payload, as: UTF8.self).contains("Negotiation"), "events store keys, not names")
        // The key now reads with the new name; the deal is still in the same stage.
        let pipeline = try await repository.load(pipelineID).state
        #expect(pipeline.stage(move.to)?.name == "Contract talks")
        #expect(try await repository.load(deal).state.stage == "negotiation")
        try await repository.moveDeal(deal, toStage: "proposal", context: context())
        #expect(try await repository.load(deal).state.stage == "proposal")
    }

    @Test func twoActorsMovingOneDealAtOnceGetOneConflict() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        try await repository.execute(.define(name: "Sales", stages: salesStages), on: pipelineID, context: context(admin))
        let deal = DealID()
        try await repository.openDeal(deal, title: "Acme renewal", pipeline: pipelineID, context: context())
        // Both load version 1 of the deal, then both try to append.
        var first = UnitOfWork(repository: repository, context: context(anna))
        var second = UnitOfWork(repository: repository, context: context(boris))
        let seenByFirst = try await first.load(pipelineID)
        let seenBySecond = try await second.load(pipelineID)
        try await first.execute(.moveToStage("negotiation", in: seenByFirst), on: deal)
        try await second.execute(.moveToStage("proposal", in: seenBySecond), on: deal)
        _ = try await first.commit()
        await #expect(throws: CRMError.concurrencyConflict(stream: deal.streamID.rawValue, expected: 1, actual: 2)) {
            _ = try await second.commit()
        }
        // No lost update: the winner's move stands, the loser's left no trace.
        #expect(try await store.streamVersion(of: deal.streamID) == 2)
        #expect(try await repository.load(deal).state.stage == "negotiation")
        // Retrying decides again on fresh state, so the move is recorded from where the deal really was.
        try await repository.executeRetrying(.moveToStage("proposal", in: seenBySecond), on: deal, context: context(boris))
        let last = try await store.readStream(deal.streamID, from: 3, direction: .forward, limit: 1)[0]
        let move = try last.decode(DealStageChanged.self)
        #expect(move.from == "negotiation" && move.to == "proposal" && move.movedBack)
    }

    @Test func aSalesRepCannotChangeSomeoneElsesDeal() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store, policy: RoleBasedAccessPolicy())
        try await repository.execute(.define(name: "Sales", stages: salesStages), on: pipelineID, context: context(admin))
        let deal = DealID()
        try await repository.openDeal(deal, title: "Acme renewal", pipeline: pipelineID, amount: eur("1000"), owner: anna.id, context: context(anna))

        await #expect(throws: CRMError.accessDenied(actor: boris.id, command: "deal.moveToStage", entity: deal.tag.rawValue,
                                                    reason: "the deal is owned by user:anna")) {
            try await repository.moveDeal(deal, toStage: "negotiation", context: context(boris))
        }
        await #expect(throws: CRMError.accessDenied(actor: boris.id, command: "deal.changeAmount", entity: deal.tag.rawValue,
                                                    reason: "the deal is owned by user:anna")) {
            try await repository.execute(.changeAmount(eur("1")), on: deal, context: context(boris))
        }
        await #expect(throws: CRMError.accessDenied(actor: boris.id, command: "deal.markWon", entity: deal.tag.rawValue,
                                                    reason: "the deal is owned by user:anna")) {
            try await repository.markDealWon(deal, finalAmount: eur("1000"), context: context(boris))
        }
        #expect(try await store.streamVersion(of: deal.streamID) == 1, "nothing changed on the deal")
        let denials = try await store.readStream(try StreamID("access-denied"), from: 1, direction: .forward, limit: 10)
        #expect(denials.count == 3)

        // Marketing may not touch deals at all; the owner and a manager may.
        let marketer = Principal(id: "user:mo", role: .marketing)
        await #expect(throws: CRMError.accessDenied(actor: marketer.id, command: "deal.moveToStage", entity: deal.tag.rawValue,
                                                    reason: "the role marketing may not work on deals")) {
            try await repository.moveDeal(deal, toStage: "negotiation", context: context(marketer))
        }
        try await repository.moveDeal(deal, toStage: "negotiation", context: context(anna))
        try await repository.moveDeal(deal, toStage: "proposal", context: context(Principal(id: "user:mia", role: .salesManager)))
        #expect(try await repository.load(deal).state.stage == "proposal")

        // Access comes first for a deal that does not exist too: the same refusal, recorded,
        // so comparing the answers does not tell which deals exist. An allowed actor learns it is not there.
        let nowhere = DealID()
        await #expect(throws: CRMError.accessDenied(actor: marketer.id, command: "deal.moveToStage", entity: nowhere.tag.rawValue,
                                                    reason: "the role marketing may not work on deals")) {
            try await repository.moveDeal(nowhere, toStage: "negotiation", context: context(marketer))
        }
        await #expect(throws: CRMError.accessDenied(actor: marketer.id, command: "deal.markLost", entity: nowhere.tag.rawValue,
                                                    reason: "the role marketing may not work on deals")) {
            try await repository.markDealLost(nowhere, reason: "gone", context: context(marketer))
        }
        #expect(try await store.readStream(try StreamID("access-denied"), from: 1, direction: .forward, limit: 10).count == 6)
        await #expect(throws: CRMError.notFound(kind: "deal", id: nowhere.description)) {
            try await repository.moveDeal(nowhere, toStage: "negotiation", context: context(anna))
        }
    }
}
