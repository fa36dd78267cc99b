import Foundation
@testable import RapportCore
import RapportEventLog
import Testing

@Suite("Company")
struct CompanyTests {
    let ada = ContactID()
    var created: CompanyCreated {
        CompanyCreated(name: "Acme GmbH", details: [.domain: "acme.example", .industry: "Machinery"], ownerID: "user:anna")
    }

    @Test func createTrimsDetailsAndLeavesOutBlankOnes() {
        Given<Company>([]).when(.create(name: " Acme GmbH ", details: [.domain: " ACME.example ", .industry: "Machinery\n", .size: "  ",
                                                                       .address: "", .taxID: "\t"], owner: "user:anna"))
            .then([created])
        Given<Company>([]).when(.create(name: "Acme GmbH", domain: "  "))
            .then([CompanyCreated(name: "Acme GmbH", details: [:], ownerID: nil)])
        Given<Company>([]).when(.create(name: "Acme GmbH", details: [.industry: String(repeating: "i", count: 501)]))
            .thenFails(.invalidValue(field: "industry", reason: "it is longer than 500 characters"))
        Given<Company>([]).when(.create(name: "Acme GmbH", domain: "acme"))
            .thenFails(.invalidValue(field: "domain", reason: "\"acme\" is not a domain name"))
    }

    @Test func aBlankDetailClearsTheField() {
        let given = Given<Company>([created])
        given.when(.change(.industry, to: "  ")).then([CompanyFieldChanged(field: .industry, from: "Machinery", to: nil)])
        given.when(.change(.domain, to: " \n")).then([CompanyFieldChanged(field: .domain, from: "acme.example", to: nil)])
        given.when(.change(.industry, to: "")).then([CompanyFieldChanged(field: .industry, from: "Machinery", to: nil)])
        given.when(.change(.industry, to: nil)).then([CompanyFieldChanged(field: .industry, from: "Machinery", to: nil)])
        given.when(.change(.size, to: "  ")).thenNothing()
        given.when(.change(.industry, to: " Machinery ")).thenNothing()
        given.when(.change(.size, to: " 11-50 ")).then([CompanyFieldChanged(field: .size, from: nil, to: "11-50")])
        let cleared = Given<Company>([created, CompanyFieldChanged(field: .industry, from: "Machinery", to: nil)])
        #expect(cleared.state.details == [.domain: "acme.example"])
    }

    @Test func aCompanyIsNotItsOwnParent() {
        let given = Given<Company>([created])
        given.when(.setParent(given.id))
            .thenFails(.invalidTransition(kind: "company", id: given.id.description, reason: "a company cannot be its own parent"))
        let holding = CompanyID()
        given.when(.setParent(holding)).then([CompanyParentSet(from: nil, to: holding)])
        let child = Given<Company>([created, CompanyParentSet(from: nil, to: holding)])
        child.when(.setParent(holding)).thenNothing()
        child.when(.setParent(nil)).then([CompanyParentSet(from: holding, to: nil)])
        child.when(.setParent(child.id))
            .thenFails(.invalidTransition(kind: "company", id: child.id.description, reason: "a company cannot be its own parent"))
    }

    @Test func rolesAndArchiveReasonsAreTrimmedAndAtMostAThousandCharacters() {
        let given = Given<Company>([created])
        given.when(.linkContact(ada, role: " CTO ")).then([CompanyContactLinked(contactID: ada, role: "CTO")])
        given.when(.linkContact(ada, role: "\n")).then([CompanyContactLinked(contactID: ada, role: nil)])
        given.when(.linkContact(ada, role: String(repeating: "r", count: 1_001)))
            .thenFails(.invalidValue(field: "role", reason: "it is longer than 1000 characters"))
        let linked = Given<Company>([created, CompanyContactLinked(contactID: ada, role: "CTO")])
        linked.when(.linkContact(ada, role: "CTO ")).thenNothing()
        #expect(linked.state.contacts == [ada: "CTO"])
        let withoutRole = Given<Company>([created, CompanyContactLinked(contactID: ada, role: nil)])
        withoutRole.when(.linkContact(ada, role: "  ")).thenNothing()

        given.when(.archive(reason: " merged into Acme Holding ")).then([CompanyArchived(reason: "merged into Acme Holding")])
        given.when(.archive(reason: "  ")).then([CompanyArchived(reason: nil)])
        given.when(.archive(reason: String(repeating: "r", count: 1_001)))
            .thenFails(.invalidValue(field: "reason", reason: "it is longer than 1000 characters"))
    }

    @Test func aLinkWithATooLongRoleStoresNothingOnEitherSide() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        let acme = CompanyID(), contact = ContactID()
        try await repository.execute(.create(name: "Acme GmbH"), on: acme, context: context())
        try await repository.execute(.create(name: try PersonName(given: "Ada", family: "Lovelace")), on: contact, context: context())
        await #expect(throws: CRMError.invalidValue(field: "role", reason: "it is longer than 1000 characters")) {
            try await repository.linkContact(contact, to: acme, role: String(repeating: "r", count: 1_001), context: context())
        }
        #expect(try await store.headPosition() == 2)
        try await repository.linkContact(contact, to: acme, role: " CTO ", context: context())
        #expect(try await repository.load(contact).state.companyRole == "CTO")
        #expect(try await repository.load(acme).state.contacts == [contact: "CTO"])
    }

    @Test("unlinking a contact from its company removes the link on both sides, in one append")
    func unlinkingRemovesBothSides() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        let ada = ContactID(), acme = CompanyID()
        try await repository.execute(.create(name: try PersonName(given: "Ada", family: "Lovelace")), on: ada, context: context())
        try await repository.execute(.create(name: "Acme"), on: acme, context: context())
        try await repository.linkContact(ada, to: acme, role: "CTO", context: context())
        let result = try await repository.unlinkContactFromCompany(ada, context: context())
        #expect(result.positions.upperBound.rawValue - result.positions.lowerBound.rawValue == 1)
        #expect(try await repository.load(ada).state.companyID == nil)
        // Before, only the contact's side had a command: the company went on listing Ada.
        #expect(try await repository.load(acme).state.contacts.isEmpty)
        await #expect(throws: CRMError.self) { try await repository.unlinkContactFromCompany(ada, context: context()) }
        #expect(try await store.headPosition() == result.positions.upperBound)
    }

    @Test("a contact moves to another company when the previous one does not list it, or is archived")
    func movingAContactFromAPreviousCompanyThatDoesNotListIt() async throws {
        let repository = Repository(store: InMemoryEventStore())
        let ada = ContactID(), acme = CompanyID(), globex = CompanyID(), initech = CompanyID()
        try await repository.execute(.create(name: try PersonName(given: "Ada", family: "Lovelace")), on: ada, context: context())
        for (company, name) in [(acme, "Acme"), (globex, "Globex"), (initech, "Initech")] {
            try await repository.execute(.create(name: name), on: company, context: context())
        }
        // Linked on the contact's side only: Acme does not list Ada.
        try await repository.execute(.linkToCompany(acme), on: ada, context: context())
        try await repository.linkContact(ada, to: globex, context: context())
        #expect(try await repository.load(ada).state.companyID == globex)
        #expect(try await repository.load(globex).state.contacts[ada] != nil)
        #expect(try await repository.load(acme).state.contacts.isEmpty)
        // Globex lists her, then is archived: its list stays as it was, and she moves.
        try await repository.execute(.archive(), on: globex, context: context())
        // An archived company changes owner all the same (a departing manager's records handed over).
        try await repository.execute(.assignOwner("user:boris"), on: globex, context: context())
        #expect(try await repository.load(globex).state.owner == "user:boris")
        try await repository.linkContact(ada, to: initech, context: context())
        #expect(try await repository.load(ada).state.companyID == initech)
        #expect(try await repository.load(initech).state.contacts[ada] != nil)
        #expect(try await repository.load(globex).state.contacts[ada] != nil)
    }
}
