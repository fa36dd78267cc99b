// A tour of the CRM core on the embedded LMDB store: a company and a contact,
// a lead converted into contact + company + deal in one atomic append, a call,
// the deal moved and won, a follow-up a week later, and every stored event.
//
//     swift run rapport-crm-tour [STORE_DIRECTORY]
import Foundation
import RapportCore
import RapportEventLog
import RapportLMDB

let path = CommandLine.arguments.dropFirst().first
    ?? FileManager.default.temporaryDirectory.appendingPathComponent("rapport-crm-tour-\(UUID().uuidString)").path
let admin = CommandContext(actor: Principal(id: "user:root", role: .admin), channel: .ui)
let anna = CommandContext(actor: Principal(id: "user:anna", role: .salesRep), channel: .ui)
let annaOnThePhone = CommandContext(actor: anna.actor, channel: .phone, correlationID: anna.correlationID)

do {
    let store = try LMDBEventStore(path: path)
    let repository = Repository(store: store, policy: RoleBasedAccessPolicy())

    // An admin defines the sales pipeline once; stages have stable keys.
    let pipeline = PipelineID()
    try await repository.execute(.define(name: "New business", stages: [
        PipelineStage(key: "qualification", name: "Qualification", probability: 0.1, kind: .open),
        PipelineStage(key: "proposal", name: "Proposal", probability: 0.4, kind: .open),
        PipelineStage(key: "negotiation", name: "Negotiation", probability: 0.7, kind: .open),
        PipelineStage(key: "won", name: "Won", probability: 1, kind: .won),
        PipelineStage(key: "lost", name: "Lost", probability: 0, kind: .lost),
    ]), on: pipeline, context: admin)

    // Anna records a company and a contact working there.
    let acme = CompanyID(), grace = ContactID()
    try await repository.execute(.create(name: "Acme GmbH", domain: "acme.example", owner: "user:anna"), on: acme, context: anna)
    try await repository.execute(.create(name: try PersonName(given: "Grace", family: "Hopper"), email: "grace@acme.example",
                                         owner: "user:anna"), on: grace, context: anna)
    try await repository.linkContact(grace, to: acme, role: "CTO", context: anna)

    // A web form brings a lead; Anna converts it into contact + company + deal at once.
    let lead = LeadID()
    try await repository.execute(.capture(name: try PersonName(given: "Ada", family: "Lovelace"), email: "ada@analytical.example",
                                          companyName: "Analytical Engines Ltd", source: .webForm, owner: "user:anna"),
                                 on: lead, context: CommandContext(actor: Principal(id: "form:contact-us", role: .system), channel: .webForm))
    let deal = DealDraft(title: "Analytical Engines: 12 licences", pipeline: pipeline,
                         amount: try Money(amount: Decimal(string: "24000")!, currency: "EUR"), contactRole: .decisionMaker)
    let conversion = try await repository.convertLead(lead, contact: .new(), company: .new(name: "Analytical Engines Ltd"), deal: deal, context: anna)
    print("Lead converted atomically at positions \(conversion.append.positions.lowerBound)...\(conversion.append.positions.upperBound)")

    // A call, two stage moves, and the win.
    let dealID = conversion.dealID!
    try await repository.execute(.logCall(.outbound, duration: 900, outcome: "wants a proposal",
                                          links: [EntityRef(conversion.contactID), EntityRef(dealID)]),
                                 on: ActivityID(), context: annaOnThePhone)
    try await repository.moveDeal(dealID, toStage: "proposal", context: anna)
    try await repository.moveDeal(dealID, toStage: "negotiation", context: anna)
    let won = try await repository.markDealWon(dealID, finalAmount: try Money(amount: Decimal(string: "22500")!, currency: "EUR"), context: anna)

    // "Call the client a week after the deal closes."
    let closedAt = try await store.readLog(from: won.lastPosition, filter: .all, limit: 1)[0].recordedAt
    try await repository.execute(.scheduleFollowUp(after: closedAt, delay: DateComponents(day: 7), title: "Call Ada: how is the rollout?",
                                                   assignee: "user:anna", links: [EntityRef(conversion.contactID), EntityRef(dealID)]),
                                 on: TaskID(), context: anna)

    // Access rights protect the base: Boris may not touch Anna's deal, and the attempt is recorded.
    let boris = CommandContext(actor: Principal(id: "user:boris", role: .salesRep), channel: .api)
    do {
        try await repository.execute(.rename(to: "Mine now"), on: dealID, context: boris)
    } catch {
        print("Refused: \(error)")
    }

    print("\nEvery stored event:")
    for try await event in store.events(from: 1) {
        let stamp = event.recordedAt.formatted(.iso8601.time(includingFractionalSeconds: false))
        print(String(format: "%4d", event.position.rawValue), stamp, event.metadata.actor.id.padding(toLength: 16, withPad: " ", startingAt: 0),
              event.metadata.channel.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0), event.type, "→", event.streamID.category)
    }
    let state = try await repository.load(dealID).state
    print("\nDeal \"\(state.title)\": \(state.status), expected \(state.amount.map(String.init(describing:)) ?? "-"), won at \(state.finalAmount.map(String.init(describing:)) ?? "-")")
    print("Store: \(path)")
    await store.close()
} catch {
    print("error: \(error)")
    exit(1)
}
