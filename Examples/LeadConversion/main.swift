// Lead conversion: a lead from the web form becomes a contact, a company and
// a deal in ONE atomic append (all or nothing); the deal then moves on, and
// two projections tell the story: the deal's state and the contact's history.
//
//     swift run rapport-lead-conversion [STORE_DIRECTORY]
import Foundation
import RapportCore
import RapportEventLog
import RapportLMDB
import RapportProjections
import RapportReplay

let path = CommandLine.arguments.dropFirst().first
    ?? FileManager.default.temporaryDirectory.appendingPathComponent("rapport-lead-conversion-\(UUID().uuidString)").path
let webForm = CommandContext(actor: Principal(id: "form:contact-us", role: .system), channel: .webForm)
let anna = CommandContext(actor: Principal(id: "user:anna", role: .salesRep), channel: .ui)

do {
    let store = try LMDBEventStore(path: path)
    let repository = Repository(store: store)
    let sales = PipelineID()
    try await repository.execute(.define(name: "New business", stages: [
        PipelineStage(key: "qualification", name: "Qualification", probability: 0.1, kind: .open),
        PipelineStage(key: "proposal", name: "Proposal", probability: 0.5, kind: .open),
        PipelineStage(key: "won", name: "Won", probability: 1, kind: .won),
        PipelineStage(key: "lost", name: "Lost", probability: 0, kind: .lost),
    ]), on: sales, context: anna)

    // A lead arrives through the web form, for Anna.
    let lead = LeadID()
    try await repository.execute(.capture(name: try PersonName(given: "Katherine", family: "Johnson"), email: "kj@orbital.example",
                                          companyName: "Orbital Mechanics Inc", source: .webForm, owner: "user:anna"),
                                 on: lead, context: webForm)

    // Anna converts it: contact, company and deal, linked to each other and to the lead.
    let outcome = try await repository.convertLead(
        lead, contact: .new(), company: .new(),
        deal: DealDraft(title: "Orbital: trajectory suite", pipeline: sales, amount: try Money(amount: 48_000, currency: "USD")),
        context: anna)
    let positions = outcome.append.positions
    print("Converted in one append, positions \(positions.lowerBound)...\(positions.upperBound):")
    for event in try await store.readLog(from: positions.lowerBound, filter: .all, limit: Int(positions.upperBound.rawValue - positions.lowerBound.rawValue + 1)) {
        print("  \(event.position)  \(event.type.padding(toLength: 24, withPad: " ", startingAt: 0)) \(event.streamID)")
    }

    // A converted lead cannot be converted again; nothing is appended.
    do {
        _ = try await repository.convertLead(lead, contact: .new(), company: nil, deal: nil, context: anna)
    } catch {
        print("Converting it again is refused: \(error)")
    }

    // The deal moves on; the projections follow the log.
    let deal = outcome.dealID!
    try await repository.moveDeal(deal, toStage: "proposal", context: anna)
    let states = DealStates(), history = ContactHistory()
    try await ProjectionRunner(log: store, storage: store, projections: [states, history], registry: .crm).catchUp()

    let state = try states.state(of: deal, in: store)!
    print("\nDeal \"\(state.title)\": \(state.status), stage \(state.stage) (probability \(state.probability ?? 0)), \(state.amount!), owner \(state.owner ?? "-")")
    print("Stages: " + state.stageHistory.map(\.stage).joined(separator: " → "))

    print("\nKatherine's history, oldest first:")
    for entry in try history.timeline(of: outcome.contactID, in: store).items.reversed() {
        print("  \(entry.position)  \(entry.type.padding(toLength: 24, withPad: " ", startingAt: 0)) \(entry.entityKind) (via \(entry.via.rawValue)) by \(entry.actor.id)")
    }
    print("\nStore: \(path)")
    await store.close()
} catch {
    print("error: \(error)")
    exit(1)
}
