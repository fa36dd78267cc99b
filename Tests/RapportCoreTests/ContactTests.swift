import Foundation
@testable import RapportCore
import RapportEventLog
import Testing

@Suite("Contact")
struct ContactTests {
    let ada = try! PersonName(given: "Ada", family: "Lovelace")
    var created: ContactCreated {
        ContactCreated(name: ada, email: try! EmailAddress("ada@example.com"), phone: nil, ownerID: "user:anna", lifecycleStage: .subscriber)
    }

    @Test func createNormalisesEmailAndPhone() throws {
        Given<Contact>([]).when(.create(name: ada, email: " Ada@Example.COM ", phone: "030 1234567", defaultCountryCode: "49", owner: "user:anna"))
            .then([ContactCreated(name: ada, email: try EmailAddress("Ada@example.com"), phone: try PhoneNumber("+49301234567"),
                                  ownerID: "user:anna", lifecycleStage: .subscriber)])
    }

    @Test func createRefusesABadEmailOrPhone() {
        Given<Contact>([]).when(.create(name: ada, email: "ada@")).thenFails(.invalidEmail("ada@"))
        Given<Contact>([]).when(.create(name: ada, email: "two@@example.com")).thenFails(.invalidEmail("two@@example.com"))
        Given<Contact>([]).when(.create(name: ada, phone: "12345")).thenFails(.invalidValue(field: "phone", reason: "\"12345\" has no country code"))
        Given<Contact>([]).when(.create(name: ada, phone: "+49 30 CALL ME")).thenFails(where: { if case .invalidValue(field: "phone", _) = $0 { true } else { false } })
    }

    @Test func namesMustNotBeBlank() {
        #expect(throws: CRMError.invalidValue(field: "name", reason: "it is empty")) { try PersonName(given: " ", family: "") }
    }

    @Test func aBlankOrTooLongNameIsNeverStored() {
        let empty = PersonName(splitting: " ")
        Given<Contact>([]).when(.create(name: empty)).thenFails(.invalidValue(field: "name", reason: "it is empty"))
        Given<Contact>([created]).when(.rename(to: empty)).thenFails(.invalidValue(field: "name", reason: "it is empty"))
        var long = ada
        long.family = String(repeating: "x", count: 201)
        Given<Contact>([]).when(.create(name: long)).thenFails(.invalidValue(field: "name", reason: "it is longer than 200 characters"))
        Given<Contact>([created]).when(.rename(to: long)).thenFails(.invalidValue(field: "name", reason: "it is longer than 200 characters"))
        // A name whose parts were changed is stored as PersonName(given:family:) makes it.
        var padded = ada
        padded.given = " Ada\n"
        Given<Contact>([]).when(.create(name: padded))
            .then([ContactCreated(name: ada, email: nil, phone: nil, ownerID: nil, lifecycleStage: .subscriber)])
        Given<Contact>([created]).when(.rename(to: padded)).thenNothing()
        Given<Contact>([created]).when(.rename(to: PersonName(splitting: " Ada  King "))).then([
            ContactRenamed(from: ada, to: try! PersonName(given: "Ada", family: "King")),
        ])
    }

    @Test func emailsAreAddedOnceAndRemovedOnlyWhenPresent() throws {
        let given = Given<Contact>([created])
        given.when(.addEmail("ada@work.example")).then([ContactEmailAdded(email: try EmailAddress("ada@work.example"))])
        given.when(.addEmail("ADA@EXAMPLE.com")).then([ContactEmailAdded(email: try EmailAddress("ADA@example.com"))])
        given.when(.addEmail("ada@example.com")).thenNothing()
        given.when(.removeEmail("ada@example.com")).then([ContactEmailRemoved(email: try EmailAddress("ada@example.com"))])
        given.when(.removeEmail("nobody@example.com")).thenFails(where: { if case .invalidValue(field: "email", _) = $0 { true } else { false } })
    }

    @Test func lifecycleMovesRecordWhereTheyCameFrom() {
        Given<Contact>([created]).when(.moveLifecycleStage(to: .customer)).then([ContactLifecycleStageChanged(from: .subscriber, to: .customer)])
        Given<Contact>([created, ContactLifecycleStageChanged(from: .subscriber, to: .customer)])
            .when(.moveLifecycleStage(to: .churned)).then([ContactLifecycleStageChanged(from: .customer, to: .churned)])
        Given<Contact>([created]).when(.moveLifecycleStage(to: .subscriber)).thenNothing()
    }

    @Test func consentIsRecordedWithSourceBasisAndTime() {
        let given = Given<Contact>([created])
        given.when(.recordConsent(.email, granted: true, source: "web-form:newsletter", lawfulBasis: "consent"))
            .then([ContactConsentRecorded(channel: .email, granted: true, source: "web-form:newsletter", lawfulBasis: "consent", at: given.context.now)])
        given.when(.recordConsent(.sms, granted: true, source: "", lawfulBasis: "consent"))
            .thenFails(.invalidValue(field: "consent source", reason: "it is empty"))
        given.when(.recordConsent(.sms, granted: true, source: "  ", lawfulBasis: "consent"))
            .thenFails(.invalidValue(field: "consent source", reason: "it is empty"))
        given.when(.recordConsent(.sms, granted: true, source: "call", lawfulBasis: "\n"))
            .thenFails(.invalidValue(field: "lawful basis", reason: "it is empty"))
        given.when(.recordConsent(.sms, granted: true, source: String(repeating: "s", count: 1_001), lawfulBasis: "consent"))
            .thenFails(.invalidValue(field: "consent source", reason: "it is longer than 1000 characters"))
        given.when(.recordConsent(.sms, granted: true, source: "call", lawfulBasis: String(repeating: "b", count: 1_001)))
            .thenFails(.invalidValue(field: "lawful basis", reason: "it is longer than 1000 characters"))
        given.when(.recordConsent(.phone, granted: false, source: " call:2024-03-01 ", lawfulBasis: " consent\n"))
            .then([ContactConsentRecorded(channel: .phone, granted: false, source: "call:2024-03-01", lawfulBasis: "consent", at: given.context.now)])
        var contact = given.state
        contact.apply(ContactConsentRecorded(channel: .sms, granted: false, source: "call", lawfulBasis: "consent", at: given.context.now))
        #expect(contact.consents[.sms]?.granted == false)
    }

    @Test func customFieldsAreTypedAndRecordTheirOldValue() {
        let given = Given<Contact>([created, ContactCustomFieldSet(field: "budget", from: nil, to: .number(100))])
        given.when(.setCustomField("budget", .number(250))).then([ContactCustomFieldSet(field: "budget", from: .number(100), to: .number(250))])
        given.when(.setCustomField("renewal", .date(Date(timeIntervalSince1970: 0))))
            .then([ContactCustomFieldSet(field: "renewal", from: nil, to: .date(Date(timeIntervalSince1970: 0)))])
        given.when(.setCustomField("bad name!", .flag(true)))
            .thenFails(.invalidValue(field: "custom field name", reason: "\"bad name!\" must be 1 to 64 letters, digits, _ or -"))
        given.when(.clearCustomField("budget")).then([ContactCustomFieldCleared(field: "budget", from: .number(100))])
        given.when(.clearCustomField("missing")).thenFails(.invalidValue(field: "missing", reason: "the field is not set on contact \(given.id)"))
    }

    /// Choices and lifecycle stages are labels: trimmed, refused when blank,
    /// too long or broken over lines.
    @Test func choicesAndLifecycleStagesAreTrimmedLabels() {
        let given = Given<Contact>([created])
        given.when(.setCustomField("tier", .choice(" gold "))).then([ContactCustomFieldSet(field: "tier", from: nil, to: .choice("gold"))])
        given.when(.setCustomField("tier", .choice(" "))).thenFails(.invalidValue(field: "tier", reason: "it is empty"))
        given.when(.setCustomField("tier", .choice(String(repeating: "g", count: 201))))
            .thenFails(.invalidValue(field: "tier", reason: "it is longer than 200 characters"))
        given.when(.setCustomField("tier", .choice("gold\nsilver"))).thenFails(.invalidValue(field: "tier", reason: "it holds a line break or a control character"))
        given.when(.moveLifecycleStage(to: LifecycleStage(rawValue: " evangelist ")))
            .then([ContactLifecycleStageChanged(from: .subscriber, to: LifecycleStage(rawValue: "evangelist"))])
        given.when(.moveLifecycleStage(to: LifecycleStage(rawValue: ""))).thenFails(.invalidValue(field: "lifecycle stage", reason: "it is empty"))
        Given<Contact>([]).when(.create(name: try! PersonName(given: "Ada", family: "L."), lifecycleStage: LifecycleStage(rawValue: "\t")))
            .thenFails(.invalidValue(field: "lifecycle stage", reason: "it is empty"))
    }

    @Test func customFieldDatesAreStoredToTheSecondBetween1900And9999() {
        let given = Given<Contact>([created])
        let renewal = Date(timeIntervalSince1970: 1_750_000_000)
        given.when(.setCustomField("renewal", .date(renewal + 0.75)))
            .then([ContactCustomFieldSet(field: "renewal", from: nil, to: .date(renewal))])
        let set = Given<Contact>([created, ContactCustomFieldSet(field: "renewal", from: nil, to: .date(renewal))])
        set.when(.setCustomField("renewal", .date(renewal + 0.25))).thenNothing()
        let outOfRange = "it is not between the years 1900 and 9999"
        given.when(.setCustomField("renewal", .date(Date(timeIntervalSince1970: -2_208_988_801))))
            .thenFails(.invalidValue(field: "renewal", reason: outOfRange))
        given.when(.setCustomField("renewal", .date(Date(timeIntervalSince1970: 253_402_300_800))))
            .thenFails(.invalidValue(field: "renewal", reason: outOfRange))
        given.when(.setCustomField("renewal", .date(.distantPast))).thenFails(.invalidValue(field: "renewal", reason: outOfRange))
        given.when(.setCustomField("score", .number(.nan))).thenFails(.invalidValue(field: "score", reason: "it is not a number"))
    }

    @Test func aCustomDateReadBackEqualsTheDecidedOne() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        let contact = ContactID()
        try await repository.execute(.create(name: ada), on: contact, context: context())
        // The state right after the command: the loaded one with the decided events applied.
        let renewal = Date(timeIntervalSince1970: 1_750_000_000.6)
        var decided = try await repository.load(contact).state
        for event in try Command<Contact>.setCustomField("renewal", .date(renewal)).decide(decided, context()) { decided.apply(event) }
        try await repository.execute(.setCustomField("renewal", .date(renewal)), on: contact, context: context())
        let stored = try await repository.load(contact)
        #expect(stored.state == decided)
        #expect(stored.state.customFields["renewal"] == .date(Date(timeIntervalSince1970: 1_750_000_000)))
        // The same date again, after a reload, changes nothing.
        try await repository.execute(.setCustomField("renewal", .date(renewal)), on: contact, context: context())
        #expect(try await store.streamVersion(of: contact.streamID) == stored.version)
    }

    @Test func rolesAndArchiveReasonsAreTrimmedAndAtMostAThousandCharacters() {
        let acme = CompanyID()
        let given = Given<Contact>([created])
        given.when(.linkToCompany(acme, role: " CTO\n")).then([ContactLinkedToCompany(companyID: acme, role: "CTO", previousCompanyID: nil)])
        given.when(.linkToCompany(acme, role: "  ")).then([ContactLinkedToCompany(companyID: acme, role: nil, previousCompanyID: nil)])
        given.when(.linkToCompany(acme, role: String(repeating: "r", count: 1_001)))
            .thenFails(.invalidValue(field: "role", reason: "it is longer than 1000 characters"))
        let linked = Given<Contact>([created, ContactLinkedToCompany(companyID: acme, role: "CTO", previousCompanyID: nil)])
        linked.when(.linkToCompany(acme, role: " CTO ")).thenNothing()
        #expect(linked.state.companyRole == "CTO")

        given.when(.archive(reason: " left the company ")).then([ContactArchived(reason: "left the company")])
        given.when(.archive(reason: " \n ")).then([ContactArchived(reason: nil)])
        given.when(.archive(reason: String(repeating: "r", count: 1_001)))
            .thenFails(.invalidValue(field: "reason", reason: "it is longer than 1000 characters"))
    }

    @Test func archivedContactsRefuseChangesUntilRestored() {
        let archived = Given<Contact>([created, ContactArchived(reason: "left the company")])
        archived.when(.addEmail("x@example.com")).thenFails(.archived(kind: "contact", id: archived.id.description))
        archived.when(.restore()).then([ContactRestored()])
        // Handing over a departing manager's records: an archived contact changes owner.
        archived.when(.assignOwner("user:boris")).then([ContactOwnerAssigned(from: "user:anna", to: "user:boris")])
        let active = Given<Contact>([created])
        active.when(.restore()).thenFails(.invalidTransition(kind: "contact", id: active.id.description, reason: "it is not archived"))
    }

    @Test func mergedContactsPointToTheSurvivor() {
        let survivor = ContactID()
        let merged = Given<Contact>([created, ContactMergedInto(survivor: survivor)])
        merged.when(.rename(to: ada)).thenFails(.contactMerged(id: merged.id.description, into: survivor.description))
        merged.when(.restore()).thenFails(.contactMerged(id: merged.id.description, into: survivor.description))
        merged.when(.assignOwner("user:boris")).thenFails(.contactMerged(id: merged.id.description, into: survivor.description))
        #expect(merged.state.mergedInto == survivor)
    }

    @Test func segmentsAndOwners() {
        let given = Given<Contact>([created])
        given.when(.addToSegment("enterprise")).then([ContactAddedToSegment(segment: "enterprise")])
        given.when(.removeFromSegment("enterprise")).thenNothing()
        given.when(.assignOwner("user:boris")).then([ContactOwnerAssigned(from: "user:anna", to: "user:boris")])
        given.when(.assignOwner("")).thenFails(.invalidValue(field: "owner", reason: "it is empty"))
        given.when(.changeJobTitle(to: "  CTO ")).then([ContactJobTitleChanged(from: nil, to: "CTO")])
    }
}
