import Foundation
import RapportCore
import RapportEventLog
import Testing

/// Owners and dates are checked the same way on every aggregate: a principal
/// id (trimmed, no spaces), and a date the codec stores exactly.
@Suite("Owner and date inputs")
struct OwnerAndDateInputTests {
    func refuses(_ body: () async throws(CRMError) -> Void, _ field: String, sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            try await body()
            Issue.record("accepted", sourceLocation: sourceLocation)
        } catch {
            guard case .invalidValue(let refused, _) = error else {
                Issue.record("\(error)", sourceLocation: sourceLocation)
                return
            }
            #expect(refused == field, sourceLocation: sourceLocation)
        }
    }

    @Test("a context's time outside the years 1900 to 9999 is refused before anything is decided, and lead sources are labels")
    func theContextsTimeAndLeadSourcesAreChecked() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        let deal = DealID(), pipeline = PipelineID()
        try await repository.execute(.define(name: "Sales", stages: salesStages), on: pipeline, context: context(admin))
        try await repository.openDeal(deal, title: "Acme", pipeline: pipeline, context: context())
        let head = try await store.headPosition()
        // Before, DealWon stored the year 10000 as its close date (and contact lifecycle events did the same).
        for date in [Date(timeIntervalSince1970: 253_402_300_800), Date.distantPast] {
            var late = context()
            late.now = date
            await refuses({ () async throws(CRMError) in
                _ = try await repository.markDealWon(deal, finalAmount: try Money(amount: 1, currency: "EUR"), context: late)
            }, "now")
        }
        #expect(try await store.headPosition() == head)
        // Lead sources: trimmed one-line labels.
        let name = try PersonName(given: "Ada", family: "Lovelace")
        for source in ["trade\nfair", "fair\u{1B}[2J", String(repeating: "s", count: 101)] {
            await refuses({ () async throws(CRMError) in
                _ = try await repository.execute(.capture(name: name, source: LeadSource(rawValue: source)), on: LeadID(), context: context())
            }, "source")
        }
        try await repository.execute(.capture(name: name, source: LeadSource(rawValue: " trade-fair ")), on: LeadID(), context: context())
        #expect(try await store.headPosition() == LogPosition(head.rawValue + 1))
    }

    @Test func everyOwnerIsAPrincipalID() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        let name = try PersonName(given: "Ada", family: "Lovelace")
        for owner in ["", "  ", "user anna", "user:\tanna"] {
            await refuses({ () async throws(CRMError) in
                _ = try await repository.execute(.create(name: name, owner: owner), on: ContactID(), context: context())
            }, "owner")
            await refuses({ () async throws(CRMError) in
                _ = try await repository.execute(.create(name: "Acme", owner: owner), on: CompanyID(), context: context())
            }, "owner")
            await refuses({ () async throws(CRMError) in
                _ = try await repository.execute(.capture(name: name, source: .webForm, owner: owner), on: LeadID(), context: context())
            }, "owner")
        }
        #expect(try await store.headPosition() == 0, "nothing appended")
        // Surrounding spaces are trimmed, as for task assignees.
        let contact = ContactID()
        try await repository.execute(.create(name: name, owner: " user:anna "), on: contact, context: context())
        #expect(try await repository.load(contact).state.owner == "user:anna")
        await refuses({ () async throws(CRMError) in
            _ = try await repository.execute(.assignOwner("user boris"), on: contact, context: context(admin))
        }, "owner")

        let pipeline = PipelineID(), deal = DealID()
        try await repository.execute(.define(name: "Sales", stages: salesStages), on: pipeline, context: context(admin))
        await refuses({ () async throws(CRMError) in
            _ = try await repository.openDeal(deal, title: "Pilot", pipeline: pipeline, owner: "user anna", context: context())
        }, "owner")
        // A date the JSON codec cannot store exactly (year 11983) is refused, as for activities and tasks.
        await refuses({ () async throws(CRMError) in
            _ = try await repository.openDeal(deal, title: "Pilot", pipeline: pipeline, expectedCloseDate: Date(timeIntervalSince1970: 315_998_000_000),
                                              context: context())
        }, "expected close date")
        try await repository.openDeal(deal, title: "Pilot", pipeline: pipeline, owner: "user:anna", context: context())
        await refuses({ () async throws(CRMError) in
            _ = try await repository.execute(.changeExpectedCloseDate(to: Date(timeIntervalSince1970: -3_000_000_000)), on: deal, context: context())
        }, "expected close date")
        await refuses({ () async throws(CRMError) in
            _ = try await repository.execute(.assignOwner(""), on: deal, context: context(admin))
        }, "owner")
    }

    /// An owner id longer than its `owner:` tag can hold is refused (its tag was
    /// silently left off every event); a long actor's refusal is still recorded.
    @Test func ownersFitTheirTagAndLongActorsAreStillRecordedWhenRefused() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store, policy: RoleBasedAccessPolicy())
        let name = try PersonName(given: "Ada", family: "Lovelace")
        // 200 characters, 400 bytes: within the character limit, past the tag's.
        await refuses({ () async throws(CRMError) in
            _ = try await repository.execute(.create(name: name, owner: String(repeating: "é", count: 200)), on: ContactID(), context: context(admin))
        }, "owner")
        let longest = String(repeating: "é", count: 124) + "a"  // 249 bytes
        let ada = ContactID()
        try await repository.execute(.create(name: name, owner: longest), on: ada, context: context(admin))
        let created = try await store.readStream(ada.streamID, from: 1, direction: .forward, limit: 1)
        #expect(created.first?.tags.contains(try Tag("owner:" + longest)) == true)
        // An actor whose id (253 bytes) cannot be a tag, refused a sensitive command: the refusal is recorded.
        let rep = Principal(id: "user:" + String(repeating: "é", count: 124), role: .salesRep)
        await #expect(throws: CRMError.self) {
            try await repository.execute(.archive(), on: ada, context: context(rep))
        }
        let denials = try await store.readStream(try StreamID("access-denied"), from: 1, direction: .forward, limit: 10)
        #expect(denials.count == 1 && denials.first?.metadata.actor == rep)
    }
}
