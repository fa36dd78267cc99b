import Foundation
@testable import RapportCore
import RapportEventLog
import Testing

@Suite("Campaign")
struct CampaignTests {
    let ada = ContactID(), grace = ContactID()
    let deal = EntityRef(DealID())
    let lead = EntityRef(LeadID())
    let now = Date(timeIntervalSince1970: 1_700_000_000)
    var april: CampaignPeriod { CampaignPeriod(start: now, end: now + 30 * 86_400) }
    let budget = try! Money(amount: 5000, currency: "EUR")

    var created: CampaignCreated {
        CampaignCreated(name: "Spring webinar", channel: .webinar, budget: budget, period: april, ownerID: "user:maria")
    }
    var launched: [any Event] { [created, CampaignContactAdded(contactID: ada), CampaignLaunched(at: now)] }

    func isInvalid(_ field: String) -> (CRMError) -> Bool {
        { if case .invalidValue(field: field, _) = $0 { true } else { false } }
    }

    // MARK: planning

    @Test func createTrimsTheNameAndKeepsThePeriodToTheSecond() {
        Given<Campaign>([]).when(.create(name: " Spring webinar ", channel: .webinar, budget: budget, start: now + 0.3,
                                         end: now + 30 * 86_400 + 0.6, owner: "user:maria"))
            .then([created])
        Given<Campaign>([]).when(.create(name: "Podcast ads", channel: CampaignChannel(rawValue: "podcast"),
                                         budget: try! Money(amount: 0, currency: "usd"), start: now, end: now + 1))
            .then([CampaignCreated(name: "Podcast ads", channel: CampaignChannel(rawValue: "podcast"),
                                   budget: try! Money(amount: 0, currency: "USD"), period: CampaignPeriod(start: now, end: now + 1), ownerID: nil)])
    }

    @Test func createRefusesBadInput() {
        let given = Given<Campaign>([])
        given.when(.create(name: "", channel: .email, budget: budget, start: now, end: now + 60))
            .thenFails(.invalidValue(field: "campaign name", reason: "it is empty"))
        given.when(.create(name: String(repeating: "n", count: 301), channel: .email, budget: budget, start: now, end: now + 60))
            .thenFails(.invalidValue(field: "campaign name", reason: "it is longer than 300 characters"))
        given.when(.create(name: "Spring", channel: CampaignChannel(rawValue: "Paid Ads"), budget: budget, start: now, end: now + 60))
            .thenFails(.invalidValue(field: "channel", reason: "\"Paid Ads\" is not a channel name (lower-case letters, digits and -)"))
        given.when(.create(name: "Spring", channel: .email, budget: budget, start: now, end: now))
            .thenFails(.invalidValue(field: "campaign end", reason: "it is not after the start"))
        given.when(.create(name: "Spring", channel: .email, budget: budget, start: now, end: now - 86_400))
            .thenFails(.invalidValue(field: "campaign end", reason: "it is not after the start"))
        given.when(.create(name: "Spring", channel: .email, budget: budget, start: Date(timeIntervalSince1970: -2_208_988_801), end: now))
            .thenFails(.invalidValue(field: "campaign start", reason: "it is not between the years 1900 and 9999"))
        given.when(.create(name: "Spring", channel: .email, budget: budget, start: now, end: now + 60, owner: "maria m"))
            .thenFails(.invalidValue(field: "owner", reason: "\"maria m\" is not a principal id"))
        given.when(.create(name: "Spring", channel: .email, budget: budget, start: now, end: now + 60, owner: " "))
            .thenFails(.invalidValue(field: "owner", reason: "it is empty"))
        #expect(throws: CRMError.invalidAmount("-1 is negative")) { try Money(amount: -1, currency: "EUR") }
    }

    @Test func renamingBudgetAndPeriodRecordTheOldValue() {
        let given = Given<Campaign>([created])
        given.when(.rename(to: "Spring webinar 2025")).then([CampaignRenamed(from: "Spring webinar", to: "Spring webinar 2025")])
        given.when(.rename(to: " Spring webinar")).thenNothing()
        given.when(.rename(to: " ")).thenFails(.invalidValue(field: "campaign name", reason: "it is empty"))
        let more = try! Money(amount: 7500, currency: "EUR")
        given.when(.changeBudget(to: more)).then([CampaignBudgetChanged(from: budget, to: more)])
        given.when(.changeBudget(to: budget)).thenNothing()
        given.when(.changeBudget(to: try! Money(amount: 7500, currency: "USD"))).thenFails(.invalidAmount("the budget is in EUR, not USD"))
        let longer = CampaignPeriod(start: now, end: now + 45 * 86_400)
        given.when(.changePeriod(start: now, end: now + 45 * 86_400)).then([CampaignPeriodChanged(from: april, to: longer)])
        given.when(.changePeriod(start: april.start, end: april.end + 0.5)).thenNothing()
        given.when(.changePeriod(start: now + 86_400, end: now))
            .thenFails(.invalidValue(field: "campaign end", reason: "it is not after the start"))
        let state = Given<Campaign>([created, CampaignRenamed(from: "Spring webinar", to: "Spring 25"), CampaignBudgetChanged(from: budget, to: more),
                                     CampaignPeriodChanged(from: april, to: longer)]).state
        #expect(state.name == "Spring 25" && state.budget == more && state.period == longer && state.channel == .webinar && state.owner == "user:maria")
    }

    @Test func budgetsAreCheckedAgainBeforeTheyAreStored() {
        var negative = budget
        negative.amount = -1
        var badCode = budget
        badCode.currency = "EU"
        var lowerCase = budget
        lowerCase.currency = "eur"
        let new = Given<Campaign>([])
        new.when(.create(name: "Spring webinar", channel: .webinar, budget: negative, start: now, end: now + 60))
            .thenFails(.invalidAmount("-1 is negative"))
        new.when(.create(name: "Spring webinar", channel: .webinar, budget: badCode, start: now, end: now + 60))
            .thenFails(.invalidAmount("\"EU\" is not a currency code"))
        new.when(.create(name: "Spring webinar", channel: .webinar, budget: lowerCase, start: april.start, end: april.end, owner: "user:maria"))
            .then([created])
        let given = Given<Campaign>([created])
        given.when(.changeBudget(to: negative)).thenFails(.invalidAmount("-1 is negative"))
        given.when(.changeBudget(to: badCode)).thenFails(.invalidAmount("\"EU\" is not a currency code"))
        given.when(.changeBudget(to: lowerCase)).thenNothing()
        var more = lowerCase
        more.amount = 7500
        given.when(.changeBudget(to: more)).then([CampaignBudgetChanged(from: budget, to: try! Money(amount: 7500, currency: "EUR"))])
    }

    // MARK: audience

    @Test func contactsAreAddedOnceAndRemovedOnlyWhenPresent() {
        let given = Given<Campaign>([created, CampaignContactAdded(contactID: ada)])
        given.when(.addContacts([ada, grace, grace])).then([CampaignContactAdded(contactID: grace)])
        given.when(.addContact(ada)).thenNothing()
        given.when(.addContacts([])).thenFails(.invalidValue(field: "contacts", reason: "there are none"))
        given.when(.removeContact(ada, reason: " asked not to be contacted "))
            .then([CampaignContactRemoved(contactID: ada, reason: "asked not to be contacted")])
        given.when(.removeContact(grace)).thenFails(.invalidValue(field: "contact", reason: "contact \(grace) is not in campaign \(given.id)"))
        given.when(.removeContact(ada, reason: String(repeating: "r", count: 1_001)))
            .thenFails(.invalidValue(field: "reason", reason: "it is longer than 1000 characters"))
        let state = Given<Campaign>([created, CampaignContactAdded(contactID: ada), CampaignContactAdded(contactID: grace),
                                     CampaignContactRemoved(contactID: ada, reason: nil)]).state
        #expect(state.contacts == [grace])
    }

    // MARK: responses

    @Test func responsesNeedALaunchedCampaignAndAContactInIt() {
        let given = Given<Campaign>(launched)
        given.when(.recordResponse(.clicked, from: ada, detail: " https://example.com/offer "))
            .then([CampaignResponseRecorded(contactID: ada, response: CampaignResponse(kind: .clicked, detail: "https://example.com/offer", at: now))])
        let sent = Date(timeIntervalSince1970: 1_700_000_100.5)
        given.when(.recordResponse(.opened, from: ada, detail: " ", at: sent))
            .then([CampaignResponseRecorded(contactID: ada, response: CampaignResponse(kind: .opened, at: Date(timeIntervalSince1970: 1_700_000_100)))])
        given.when(.recordResponse(.replied, from: grace))
            .thenFails(.invalidValue(field: "contact", reason: "contact \(grace) is not in campaign \(given.id)"))
        given.when(.recordResponse(.replied, from: ada, detail: String(repeating: "d", count: 2_001)))
            .thenFails(.invalidValue(field: "detail", reason: "it is longer than 2000 characters"))
        given.when(.recordResponse(.opened, from: ada, at: Date(timeIntervalSince1970: 1e13)))
            .thenFails(.invalidValue(field: "response date", reason: "it is not between the years 1900 and 9999"))
        let planned = Given<Campaign>([created, CampaignContactAdded(contactID: ada)])
        planned.when(.recordResponse(.opened, from: ada))
            .thenFails(.invalidTransition(kind: "campaign", id: planned.id.description, reason: "it has not been launched"))
        // Late replies still count after the campaign ended.
        let ended = Given<Campaign>(launched + [CampaignCompleted(at: now)])
        ended.when(.recordResponse(.unsubscribed, from: ada))
            .then([CampaignResponseRecorded(contactID: ada, response: CampaignResponse(kind: .unsubscribed, at: now))])
    }

    @Test func responsesAreKeptPerContactInOrder() {
        let opened = CampaignResponse(kind: .opened, at: now), clicked = CampaignResponse(kind: .clicked, detail: "/offer", at: now + 60)
        let state = Given<Campaign>(launched + [
            CampaignContactAdded(contactID: grace),
            CampaignResponseRecorded(contactID: ada, response: opened), CampaignResponseRecorded(contactID: grace, response: opened),
            CampaignResponseRecorded(contactID: ada, response: clicked),
        ]).state
        #expect(state.responses[ada] == [opened, clicked])
        #expect(state.responses[grace] == [opened])
    }

    // MARK: attribution

    @Test func leadsAndDealsAreAttributedOnce() {
        let given = Given<Campaign>(launched)
        given.when(.attribute(deal)).then([CampaignAttributed(entity: deal)])
        given.when(.attribute(lead)).then([CampaignAttributed(entity: lead)])
        given.when(.attribute(EntityRef(ada)))
            .thenFails(.invalidValue(field: "attribution", reason: "only leads and deals are attributed to a campaign, not a contact"))
        given.when(.attribute(EntityRef(Identifier<Gadget>()))).thenFails(where: isInvalid("attribution"))
        let attributed = Given<Campaign>(launched + [CampaignAttributed(entity: deal)])
        attributed.when(.attribute(deal))
            .thenFails(.invalidTransition(kind: "campaign", id: attributed.id.description, reason: "\(deal) is already attributed to it"))
        attributed.when(.attribute(lead)).then([CampaignAttributed(entity: lead)])
        #expect(attributed.state.attributions == [deal])
        let planned = Given<Campaign>([created])
        planned.when(.attribute(deal)).thenFails(.invalidTransition(kind: "campaign", id: planned.id.description, reason: "it has not been launched"))
        // Deals close after the campaign ends: they are still credited to it.
        Given<Campaign>(launched + [CampaignCompleted(at: now)]).when(.attribute(deal)).then([CampaignAttributed(entity: deal)])
    }

    // MARK: status

    @Test func aCampaignIsLaunchedThenCompleted() {
        let planned = Given<Campaign>([created])
        planned.when(.launch()).then([CampaignLaunched(at: now)])
        planned.when(.complete()).thenFails(.invalidTransition(kind: "campaign", id: planned.id.description, reason: "it has not been launched"))
        let active = Given<Campaign>(launched)
        active.when(.launch()).thenFails(.invalidTransition(kind: "campaign", id: active.id.description, reason: "it is already active"))
        active.when(.complete()).then([CampaignCompleted(at: now)])
        #expect(active.state.status == .active && active.state.launchedAt == now)
        let ended = Given<Campaign>(launched + [CampaignCompleted(at: now + 86_400)])
        #expect(ended.state.status == .completed && ended.state.completedAt == now + 86_400)
        ended.when(.launch()).thenFails(.invalidTransition(kind: "campaign", id: ended.id.description, reason: "it is already completed"))
        ended.when(.complete()).thenFails(.invalidTransition(kind: "campaign", id: ended.id.description, reason: "it is completed"))
    }

    @Test func aCompletedCampaignRefusesChanges() {
        let ended = Given<Campaign>(launched + [CampaignCompleted(at: now)])
        let refusal = CRMError.invalidTransition(kind: "campaign", id: ended.id.description, reason: "it is completed")
        ended.when(.rename(to: "Other")).thenFails(refusal)
        ended.when(.changeBudget(to: try! Money(amount: 1, currency: "EUR"))).thenFails(refusal)
        ended.when(.changePeriod(start: now, end: now + 60)).thenFails(refusal)
        ended.when(.addContact(grace)).thenFails(refusal)
        ended.when(.removeContact(ada)).thenFails(refusal)
    }

    @Test func eventsCarryTheTagOfTheEntityTheyTouch() {
        let state = Given<Campaign>(launched).state
        #expect(state.extraTags(for: CampaignContactAdded(contactID: grace)) == [grace.tag])
        #expect(state.extraTags(for: CampaignContactRemoved(contactID: ada, reason: nil)) == [ada.tag])
        #expect(state.extraTags(for: CampaignResponseRecorded(contactID: ada, response: CampaignResponse(kind: .opened, at: now))) == [ada.tag])
        #expect(state.extraTags(for: CampaignAttributed(entity: deal)) == [deal.tag])
        #expect(state.extraTags(for: CampaignLaunched(at: now)).isEmpty)
    }

    // MARK: with a store

    @Test func aCampaignRunsThroughTheRepository() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store, policy: RoleBasedAccessPolicy())
        let maria = Principal(id: "user:maria", role: .marketing)
        let campaign = CampaignID()
        let start = wholeSeconds(Date())
        try await repository.execute(.create(name: "Spring webinar", channel: .webinar, budget: budget, start: start, end: start + 86_400 * 30,
                                             owner: maria.id), on: campaign, context: context(maria))
        try await repository.execute(.addContacts([ada, grace]), on: campaign, context: context(maria, .import))
        try await repository.execute(.launch(), on: campaign, context: context(maria))
        try await repository.execute(.recordResponse(.registered, from: ada), on: campaign, context: context(maria, .webForm))
        try await repository.execute(.attribute(deal), on: campaign, context: context(maria))
        await #expect(throws: CRMError.invalidTransition(kind: "campaign", id: campaign.description, reason: "\(deal) is already attributed to it")) {
            try await repository.execute(.attribute(deal), on: campaign, context: context(maria))
        }
        // A sales rep may not change a campaign someone else owns.
        await #expect(throws: CRMError.accessDenied(actor: anna.id, command: "campaign.complete", entity: campaign.tag.rawValue,
                                                    reason: "the campaign is owned by user:maria")) {
            try await repository.execute(.complete(), on: campaign, context: context(anna))
        }

        let log = try await store.readStream(campaign.streamID, from: 1, direction: .forward, limit: 20)
        #expect(log.map(\.type) == ["CampaignCreated", "CampaignContactAdded", "CampaignContactAdded", "CampaignLaunched",
                                    "CampaignResponseRecorded", "CampaignAttributed"])
        #expect(log[1].tags.contains(ada.tag) && log[2].tags.contains(grace.tag) && !log[1].tags.contains(grace.tag))
        #expect(log[1].metadata.channel == .import && log[4].metadata.channel == .webForm)
        #expect(log[4].tags.contains(ada.tag) && log[5].tags.contains(deal.tag))
        let owner = try Tag("owner:user:maria")
        for event in log { #expect(event.tags.contains(campaign.tag) && event.tags.contains(owner)) }
        // Ada's history shows the campaign.
        let forAda = try await store.readLog(from: 1, filter: LogFilter(tags: [ada.tag]), limit: 20)
        #expect(forAda.map(\.type) == ["CampaignContactAdded", "CampaignResponseRecorded"])

        let loaded = try await repository.load(campaign).state
        #expect(loaded.status == .active && loaded.contacts == [ada, grace] && loaded.attributions == [deal])
        #expect(loaded.responses[ada]?.map(\.kind) == [.registered])
        #expect(loaded.period == CampaignPeriod(start: start, end: start + 86_400 * 30))
    }
}
