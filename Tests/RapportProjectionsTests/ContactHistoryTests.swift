import Foundation
import RapportCore
import RapportEventLog
import RapportLMDB
import RapportProjections
import RapportReplay
import RapportScenario
import RapportTesting
import Testing

/// A small CRM: Acme with Ada and Bob, Carl elsewhere, a deal with Ada,
/// activities on several channels, a task on the deal, a campaign.
struct ContactScenario {
    let world: World
    let sales = PipelineID(), acme = CompanyID(), deal = DealID(), campaign = CampaignID()
    let ada = ContactID(), bob = ContactID(), carl = ContactID(), adaTwice = ContactID()
    let call = ActivityID(), companyEmail = ActivityID(), note = ActivityID(), sms = ActivityID()
    let task = TaskID()
    var history: ContactHistory { ContactHistory() }

    init() throws { world = try World() }
    init(world: World) { self.world = world }

    func build() async throws {
        let w = world
        try await w.run(.define(name: "Sales", stages: salesStages), on: sales, context(root, day: 0))
        try await w.run(.create(name: "Acme GmbH", domain: "acme.example"), on: acme, context(anna, day: 0))
        try await w.run(.create(name: try PersonName(given: "Ada", family: "Lovelace"), owner: "user:anna"), on: ada, context(anna, day: 1))
        try await w.run(.create(name: try PersonName(given: "Bob", family: "Byte"), owner: "user:anna"), on: bob, context(anna, .phone, day: 1))
        try await w.run(.create(name: try PersonName(given: "Carl", family: "Gauss"), owner: "user:boris"), on: carl, context(boris, day: 1))
        try await w.step { try await $0.linkContact(ada, to: acme, role: "CTO", context: context(anna, day: 2)) }
        try await w.step { try await $0.linkContact(bob, to: acme, context: context(anna, day: 2)) }
        try await w.step {
            try await $0.openDeal(deal, title: "Acme pilot", pipeline: sales, amount: eur("1000"), owner: "user:anna",
                                  company: acme, contacts: [DealContact(contactID: ada, role: .decisionMaker)], context: context(anna, day: 3))
        }
        try await w.run(.logCall(.outbound, duration: 300, links: [EntityRef(ada)]), on: call, context(anna, .phone, day: 10))
        try await w.run(.logEmail(.outbound, subject: "Offer", links: [EntityRef(acme)]), on: companyEmail, context(anna, .email, day: 12))
        try await w.run(.logNote("Prefers mornings", links: [EntityRef(bob)]), on: note, context(anna, day: 14))
        try await w.run(.create(title: "Send the contract", due: day(60), assignee: "user:anna", links: [EntityRef(deal)]),
                        on: task, context(anna, day: 15))
        try await w.run(.rename(to: "Acme AG"), on: acme, context(boris, day: 16))
        try await w.step { try await $0.moveDeal(deal, toStage: "proposal", context: context(anna, day: 17)) }
        try await w.run(.create(name: "Spring", channel: .email, budget: eur("500"), start: day(1), end: day(90)), on: campaign,
                        context(boris, day: 18))
        try await w.run(.addContact(ada), on: campaign, context(boris, day: 18))
        try await w.run(.changeJobTitle(to: "CTO"), on: carl, context(boris, day: 19))
    }

    func timeline(_ contact: ContactID, _ filter: TimelineFilter = TimelineFilter()) throws -> [TimelineEntry] {
        try allPages(limit: 1_000) { try history.timeline(of: contact, in: world.live, filter: filter, page: $0) }
    }
}

@Suite("Contact history")
struct ContactHistoryTests {
    @Test func aTimelineHoldsEverythingThatTouchesTheContactNewestFirst() async throws {
        let s = try ContactScenario()
        try await s.build()
        let ada = try s.timeline(s.ada)
        #expect(ada.map(\.type) == [
            "CampaignContactAdded", "DealStageChanged", "CompanyRenamed", "TaskCreated", "ActivityLogged", "ActivityLogged",
            "DealOpened", "CompanyContactLinked", "CompanyContactLinked", "ContactLinkedToCompany", "ContactCreated",
        ])
        // Newest first, strictly.
        #expect(zip(ada, ada.dropFirst()).allSatisfy { $0.position > $1.position })
        // How each reached Ada: deal events are tagged with her; the company's events (rename, the email
        // to the company, Bob joining it) through her company; the task on her deal through the deal.
        // Bob's own link event (in his stream) is not hers: she sees the company's side of it.
        #expect(ada.map(\.via) == [.contact, .contact, .company, .deal, .company, .contact, .contact, .company, .contact, .contact, .contact])
        #expect(ada[4].entityKind == "activity" && ada[4].activityType == "email" && ada[4].interactionChannel == .email)
        #expect(ada[5].activityType == "call" && ada[5].channel == .phone && ada[5].occurredAt == day(10))
        #expect(ada[2].actor == boris && ada[2].entityID == s.acme.description)

        // Bob: his company's events since he joined it, the company email, his note; not Ada's deal, call
        // or campaign, nor Ada joining Acme (before he was linked to it).
        let bob = try s.timeline(s.bob)
        #expect(bob.map(\.type) == ["CompanyRenamed", "ActivityLogged", "ActivityLogged", "CompanyContactLinked", "ContactLinkedToCompany", "ContactCreated"])
        #expect(bob.map(\.activityType) == [nil, "note", "email", nil, nil, nil])
        // Carl: only his own.
        #expect(try s.timeline(s.carl).map(\.type) == ["ContactJobTitleChanged", "ContactCreated"])
        try await expectLiveEqualsRebuilt(s.world)
    }

    @Test func timelinesFilterByKindChannelAndDateAndPage() async throws {
        let s = try ContactScenario()
        try await s.build()
        let all = try s.timeline(s.ada)
        #expect(try s.timeline(s.ada, TimelineFilter(kinds: ["activity"])).map(\.activityType) == ["email", "call"])
        #expect(try s.timeline(s.ada, TimelineFilter(kinds: ["deal", "task"])).map(\.type) == ["DealStageChanged", "TaskCreated", "DealOpened"])
        // Channel: the call's metadata channel is phone; the email matches by its interaction channel.
        #expect(try s.timeline(s.ada, TimelineFilter(channels: [.phone])).map(\.type) == ["ActivityLogged"])
        #expect(try s.timeline(s.ada, TimelineFilter(channels: [.email])).map(\.activityType) == ["email"])
        // A note takes place on no channel: it matches the channel it was entered through only.
        try await s.world.run(.logNote("Asked for a demo", links: [EntityRef(s.bob)]), on: ActivityID(), context(anna, .api, day: 20))
        #expect(try s.timeline(s.bob, TimelineFilter(channels: [.api])).map(\.activityType) == ["note"])
        #expect(try s.timeline(s.bob, TimelineFilter(channels: [.ui])).filter { $0.activityType == "note" }.map(\.channel) == [.ui])
        #expect(try s.timeline(s.bob, TimelineFilter(types: ["ActivityLogged"])).allSatisfy { $0.activityType != "note" || $0.interactionChannel == nil })
        // Dates: days 10 to 16 inclusive: company rename (16), task (15), email (12), call (10).
        let week = try s.timeline(s.ada, TimelineFilter(period: day(10)...day(16)))
        #expect(week.map(\.date) == [day(16), day(15), day(12), day(10)])
        #expect(try s.timeline(s.ada, TimelineFilter(types: ["ContactCreated"])).count == 1)
        // Pages of every size concatenate to the whole timeline.
        for limit in [1, 2, 5, 11, 12, 13] {
            let paged = try allPages(limit: limit) { try s.history.timeline(of: s.ada, in: s.world.live, page: $0) }
            #expect(paged == all, "limit \(limit)")
        }
        let firstTwo = try s.history.timeline(of: s.ada, in: s.world.live, page: PageRequest(limit: 2))
        #expect(firstTwo.items == Array(all.prefix(2)) && firstTwo.continuation != nil)
        // A page that holds the last entry has no continuation: exactly `limit` entries left is not "more".
        let whole = try s.history.timeline(of: s.ada, in: s.world.live, page: PageRequest(limit: all.count))
        #expect(whole.items == all && whole.continuation == nil)
        let start = try s.history.timeline(of: s.ada, in: s.world.live, page: PageRequest(limit: all.count - 2))
        let rest = try s.history.timeline(of: s.ada, in: s.world.live, page: PageRequest(limit: 2, after: start.continuation))
        #expect(rest.items == Array(all.suffix(2)) && rest.continuation == nil)
        let deals = try s.history.timeline(of: s.ada, in: s.world.live, filter: TimelineFilter(kinds: ["deal"]), page: PageRequest(limit: 2))
        #expect(deals.items.count == 2 && deals.continuation == nil)
        let filteredPages = try allPages(limit: 1) { try s.history.timeline(of: s.ada, in: s.world.live, filter: TimelineFilter(kinds: ["deal"]), page: $0) }
        #expect(filteredPages.map(\.type) == ["DealStageChanged", "DealOpened"])
    }

    @Test func lastContactedAndBaseRotation() async throws {
        let s = try ContactScenario()
        try await s.build()
        // Ada: the call on day 10 (the company email is not to her directly). Bob: a note does not count.
        let ada = try #require(try s.history.lastContacted(s.ada, in: s.world.live))
        #expect(ada.at == day(10) && ada.activityType == "call" && ada.activityID == s.call.description && ada.owner == "user:anna")
        #expect(try s.history.lastContacted(s.bob, in: s.world.live)?.at == nil)
        // Not contacted for 30 days as of day 45 (before day 15): Bob (never) first, then Ada (day 10).
        let stale = try s.history.contactsNotContacted(forDays: 30, asOf: day(45), owner: "user:anna", in: s.world.live)
        #expect(stale.items.map(\.contactID) == [s.bob, s.ada] && stale.continuation == nil)
        // As of day 20 Ada was contacted 10 days ago: only Bob.
        #expect(try s.history.contactsNotContacted(forDays: 30, asOf: day(20), owner: "user:anna", in: s.world.live).items.map(\.contactID) == [s.bob])
        #expect(try s.history.contactsNotContacted(forDays: 30, asOf: day(45), owner: "user:boris", in: s.world.live).items.map(\.contactID) == [s.carl])
        // Paged one at a time.
        let paged = try allPages(limit: 1) { try s.history.contactsNotContacted(forDays: 30, asOf: day(45), owner: "user:anna", in: s.world.live, page: $0) }
        #expect(paged.map(\.contactID) == [s.bob, s.ada])
        // A newer SMS to Ada takes her off the list; reassigning Bob moves him to Boris's list.
        try await s.world.run(.logSMS(.outbound, text: "See you!", links: [EntityRef(s.ada)]), on: s.sms, context(anna, .sms, day: 40))
        try await s.world.run(.assignOwner("user:boris"), on: s.bob, context(boris, day: 40))
        #expect(try s.history.lastContacted(s.ada, in: s.world.live)?.at == day(40))
        #expect(try s.history.contactsNotContacted(forDays: 30, asOf: day(45), owner: "user:anna", in: s.world.live).items.isEmpty)
        #expect(try s.history.contactsNotContacted(forDays: 30, asOf: day(45), owner: "user:boris", in: s.world.live).items.map(\.contactID).sorted()
                == [s.bob, s.carl].sorted())
        // Removing the SMS brings Ada's last contact back to the call.
        try await s.world.run(.remove(reason: "wrong contact"), on: s.sms, context(anna, day: 41))
        #expect(try s.history.lastContacted(s.ada, in: s.world.live)?.at == day(10))
        try await expectLiveEqualsRebuilt(s.world)
    }

    @Test func afterAMergeTheSurvivorsTimelineHoldsBothHistories() async throws {
        let s = try ContactScenario()
        try await s.build()
        let w = s.world
        try await w.run(.create(name: try PersonName(given: "Ada", family: "L."), owner: "user:anna"), on: s.adaTwice, context(anna, .webForm, day: 20))
        try await w.run(.logSMS(.inbound, text: "Call me", links: [EntityRef(s.adaTwice)]), on: s.sms, context(anna, .sms, day: 21))
        try await w.run(.changeJobTitle(to: "Chief"), on: s.adaTwice, context(anna, day: 22))
        let adaBefore = try s.timeline(s.ada)
        let duplicateBefore = try s.timeline(s.adaTwice)
        #expect(duplicateBefore.map(\.type) == ["ContactJobTitleChanged", "ActivityLogged", "ContactCreated"])

        let merge = try await w.step { try await $0.mergeContacts(survivor: s.ada, duplicate: s.adaTwice, context: context(root, day: 23)) }
        let merged = try s.timeline(s.ada)
        // Both histories, newest first, each event once; the merge itself (two events) on top.
        let positions = merged.map(\.position)
        #expect(positions == positions.sorted(by: >) && Set(positions).count == positions.count)
        #expect(Set(positions) == Set((adaBefore + duplicateBefore).map(\.position)).union([merge.positions.lowerBound, merge.positions.upperBound]))
        #expect(merged.prefix(2).map(\.type).sorted() == ["ContactAbsorbed", "ContactMergedInto"])
        #expect(merged.filter { $0.contactID == s.adaTwice }.map(\.type) == ["ContactJobTitleChanged", "ActivityLogged", "ContactCreated"])
        // Paging across the two histories.
        for limit in [1, 3, 4] {
            #expect(try allPages(limit: limit) { try s.history.timeline(of: s.ada, in: w.live, page: $0) } == merged)
        }
        // The duplicate's SMS (day 21) is now the survivor's last contact; the duplicate leaves the rotation.
        #expect(try s.history.lastContacted(s.ada, in: w.live)?.at == day(21))
        let rotation = try s.history.contactsNotContacted(forDays: 0, asOf: day(100), owner: "user:anna", in: w.live).items.map(\.contactID)
        #expect(rotation.contains(s.ada) && !rotation.contains(s.adaTwice))
        // A call linked to the duplicate after the merge counts for the survivor too.
        let late = ActivityID()
        try await w.run(.logCall(.inbound, duration: 60, links: [EntityRef(s.adaTwice)]), on: late, context(anna, .phone, day: 30))
        #expect(try s.history.lastContacted(s.ada, in: w.live)?.at == day(30))
        // Removed, it no longer does: the latest is the duplicate's SMS again.
        try await w.run(.remove(), on: late, context(anna, day: 31))
        #expect(try s.history.lastContacted(s.ada, in: w.live)?.at == day(21))
        // The duplicate's SMS removed: the survivor's own call (day 10).
        try await w.run(.remove(), on: s.sms, context(anna, day: 32))
        #expect(try s.history.lastContacted(s.ada, in: w.live)?.at == day(10))
        try await expectLiveEqualsRebuilt(w)
    }
}

/// ContactHistory with every wanted payload decoded: what the real one must
/// equal, whatever its `decoding` list leaves out.
struct ContactHistoryDecodingEverything: Projection {
    let inner = ContactHistory()
    var name: String { inner.name }
    var version: Int { inner.version }
    var interest: ProjectionInterest { ProjectionInterest(tagPrefixes: inner.interest.tagPrefixes) }

    func apply(_ event: RecordedEvent, decoded: (any Event)?, to model: inout ReadModelContext) throws {
        try inner.apply(event, decoded: decoded, to: &model)
    }
}

@Suite("Contact history: decoded payloads")
struct ContactHistoryDecodingTests {
    @Test("decoding only the payloads it lists gives the same read model as decoding every one")
    func decodingListIsComplete() async throws {
        let store = InMemoryEventStore()
        _ = try await ScenarioGenerator.generate(into: store, configuration: ScenarioConfiguration(events: 4_000))
        let listed = InMemoryReadModelStorage(), everything = InMemoryReadModelStorage()
        try await ProjectionRunner(log: store, storage: listed, projections: [ContactHistory()], registry: .crm).catchUp()
        try await ProjectionRunner(log: store, storage: everything, projections: [ContactHistoryDecodingEverything()], registry: .crm).catchUp()
        let a = try snapshot(listed, "contact-history"), b = try snapshot(everything, "contact-history")
        #expect(a.count > 1_000)
        let differing = Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
        #expect(differing.isEmpty, "\(differing.count) keys differ, such as \(differing.prefix(3))")
        // The decoded types the listed run skipped are there in the log: the comparison means something.
        let types = Set(try await store.readLog(from: 1, filter: .all, limit: 5_000).map(\.type))
        #expect(!types.subtracting(ContactHistory().interest.decoding!).isEmpty)
    }
}

@Suite("Contact history: owners spelled any way")
struct ContactHistoryOwnerKeyTests {
    /// An owner id of 78 three-byte characters and a combining accent (244
    /// bytes composed, within the 249 an owner may have): past a key
    /// component's 128 bytes, so its rotation key holds a digest, of the
    /// composed spelling; a query with either spelling finds the contact.
    @Test func aLongOrDecomposedOwnerHasOneRotationOnLMDB() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rapport-rotation-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try LMDBEventStore(path: path)
        let world = try World(store: store, live: store)
        let stem = "user:" + String(repeating: "\u{20AC}", count: 78)
        let contact = ContactID()
        try await world.run(.create(name: try PersonName(given: "Ada", family: "L."), owner: stem + "jose\u{301}"), on: contact, context(anna, day: 1))
        for owner in [stem + "jos\u{E9}", stem + "jose\u{301}"] {
            let found = try ContactHistory().contactsNotContacted(forDays: 0, asOf: day(2), owner: owner, in: store)
            #expect(found.items.map(\.contactID) == [contact])
            #expect(found.items.first.map { Array(($0.owner ?? "").utf8) } == Array((stem + "jos\u{E9}").utf8))
        }
        await store.close()
    }

    @Test("logging an activity reads nothing stored about it; linking one later reads it once")
    func loggingAnActivityReadsNothingAboutIt() async throws {
        // Each read of a stored key is a round trip on PostgreSQL: a rebuild used to read every new activity's key, to find nothing.
        let storage = ReadRecordingStorage(InMemoryReadModelStorage())
        let s = ContactScenario(world: try World(live: storage))
        try await s.build()
        #expect(storage.keysRead.filter { $0.hasPrefix("activity/") } == [], "three activities logged")
        try await s.world.run(.link(EntityRef(s.carl)), on: s.call, context(anna, day: 20))
        #expect(storage.keysRead.filter { $0.hasPrefix("activity/") } == ["activity/\(s.call)"])
        #expect(try s.timeline(s.carl).map(\.type).first == "ActivityLinked")
        try await expectLiveEqualsRebuilt(s.world)
    }
}
