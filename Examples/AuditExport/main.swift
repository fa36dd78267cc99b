// Audit export: who changed what, when, and through which channel. The audit
// trail projection is brought up to date, asked two questions (refused
// attempts; one person's changes in the last 30 days of the log), and that
// person's changes are exported as CSV, page by page in constant memory.
//
//     swift run rapport-audit-export [STORE_DIRECTORY [ACTOR]]
//
// An empty store (the default: a new one) first gets a few changes by Anna,
// and a refused attempt by Boris. Given a store that holds events, such as the
// demo's (`swift run rapport-audit-export rapport-data user:rep-3`), it appends
// none, but builds or brings up to date the audit-trail read model in that
// store (and upgrades a store of an older format): run it on a copy of a store
// that must stay as it is.
import Foundation
import RapportCore
import RapportEventLog
import RapportLMDB
import RapportProjections
import RapportReplay

let arguments = CommandLine.arguments.dropFirst()
let path = arguments.first
    ?? FileManager.default.temporaryDirectory.appendingPathComponent("rapport-audit-export-\(UUID().uuidString)").path
let actor = arguments.dropFirst().first ?? "user:anna"

do {
    let store = try LMDBEventStore(path: path)
    if try await store.headPosition() == .start { try await writeSampleChanges(to: store) }

    let audit = AuditTrail()
    try await ProjectionRunner(log: store, storage: store, projections: [audit], registry: .crm).catchUp()

    // Refused attempts are recorded too.
    for entry in try audit.entries(.action("AccessDenied"), in: store, page: PageRequest(limit: 3)).items {
        let reason = entry.changes.first { $0.field == "reason" }?.newValue ?? "?"
        print("refused: \(entry.actor.id) via \(entry.channel) on \(entry.entityKind):\(entry.entityID.prefix(8)), reason \(reason)")
    }

    // What the actor changed in the last 30 days of the log: a date range becomes a position range.
    let last = try await store.readLog(from: try await store.headPosition(), filter: .all, limit: 1)[0].recordedAt
    let period = last.addingTimeInterval(-30 * 86_400)...last
    guard let positions = try await AuditTrail.positions(from: period.lowerBound, through: period.upperBound, in: store) else {
        print("nothing recorded in that period")
        exit(0)
    }
    let query = AuditQuery(.actor(actor), positions: positions)
    for entry in try audit.entries(query, in: store, page: PageRequest(limit: 5)).items {
        print("\(entry.position)  \(entry.recordedAt.formatted(.iso8601))  \(entry.action)  \(describe(entry.changes))")
    }

    // The same entries as CSV, one row per field change.
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(actor.replacingOccurrences(of: ":", with: "-")).csv")
    _ = FileManager.default.createFile(atPath: file.path, contents: nil)
    let handle = try FileHandle(forWritingTo: file)
    let count = try audit.export(query, from: store, as: .csv, to: handle)
    try handle.close()
    print("\nExported \(count) entries by \(actor) to \(file.path)")
    await store.close()
} catch {
    print("error: \(error)")
    exit(1)
}

/// "amount: {"amount":12000,…} → {"amount":15000,…}; …" (∅: not set).
func describe(_ changes: [FieldChange]) -> String {
    changes.map { "\($0.field): \($0.oldValue ?? "∅") → \($0.newValue ?? "∅")" }.joined(separator: "; ")
}

/// Anna opens a deal and changes its amount on the phone; Boris, another
/// sales rep, tries to rename it and is refused (the refusal is recorded).
func writeSampleChanges(to store: LMDBEventStore) async throws {
    let repository = Repository(store: store, policy: RoleBasedAccessPolicy())
    let anna = CommandContext(actor: Principal(id: "user:anna", role: .salesRep), channel: .ui)
    let boris = CommandContext(actor: Principal(id: "user:boris", role: .salesRep), channel: .api)
    let sales = PipelineID(), deal = DealID()
    try await repository.execute(.define(name: "New business", stages: [
        PipelineStage(key: "qualification", name: "Qualification", probability: 0.1, kind: .open),
        PipelineStage(key: "won", name: "Won", probability: 1, kind: .won),
        PipelineStage(key: "lost", name: "Lost", probability: 0, kind: .lost),
    ]), on: sales, context: CommandContext(actor: Principal(id: "user:root", role: .admin), channel: .ui))
    try await repository.openDeal(deal, title: "Acme renewal", pipeline: sales, amount: try Money(amount: 12_000, currency: "EUR"),
                                  owner: "user:anna", context: anna)
    try await repository.execute(.changeAmount(try Money(amount: 15_000, currency: "EUR")), on: deal,
                                 context: CommandContext(actor: anna.actor, channel: .phone))
    do {
        try await repository.execute(.rename(to: "Mine now"), on: deal, context: boris)
    } catch {
        print("Boris was refused: \(error)")
    }
}
