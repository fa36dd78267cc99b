// Quick start: open the embedded LMDB store, append a few CRM events, read them back.
//
//     swift run rapport-quickstart [STORE_DIRECTORY]
//
// Without a directory it makes a new store in the temporary directory. Give it
// one and run it twice: the second run reopens the store and appends after the
// first. (Its events are its own, not the CRM's: keep them out of a CRM store
// such as the demo's ./rapport-data.)
import Foundation
import RapportEventLog
import RapportLMDB

struct ContactCreated: Event {
    static let typeName = "ContactCreated"
    var name: String
    var email: String
}

struct CallLogged: Event {
    static let typeName = "CallLogged"
    var minutes: Int
    var outcome: String
}

let path = CommandLine.arguments.dropFirst().first
    ?? FileManager.default.temporaryDirectory.appendingPathComponent("rapport-quickstart-\(UUID().uuidString)").path
let anna = Principal(id: "user:anna", role: .salesRep)

do {
    let store = try LMDBEventStore(path: path)
    let contactID = UUID().uuidString.lowercased()
    let stream = try StreamID("contact-\(contactID)")
    let tag = try Tag("contact:\(contactID)")

    let created = try NewEvent(
        ContactCreated(name: "Ada Lovelace", email: "ada@example.com"),
        metadata: EventMetadata(actor: anna, channel: .ui), tags: [tag])
    let call = try NewEvent(
        CallLogged(minutes: 12, outcome: "interested"),
        metadata: EventMetadata(actor: anna, channel: .phone), tags: [tag])

    let result = try await store.append([created, call], to: stream, expecting: .noStream)
    print("Appended 2 events to \(stream) at positions \(result.positions.lowerBound)...\(result.positions.upperBound)")

    // Retrying the same append is safe: the ids are stored already.
    let retry = try await store.append([created, call], to: stream, expecting: .noStream)
    print("Retried the same append: already stored = \(retry.wasAlreadyStored), positions unchanged = \(retry.positions == result.positions)")

    // A stale expected version is refused with a typed error.
    do {
        try await store.append([try NewEvent(CallLogged(minutes: 1, outcome: "voicemail"), metadata: EventMetadata(actor: anna, channel: .phone))],
                               to: stream, expecting: .exactly(1))
    } catch {
        print("Refused: \(error)")
    }

    print("\nStream \(stream):")
    for try await event in store.events(in: stream) {
        print("  v\(event.streamVersion) @\(event.position) \(event.type) by \(event.metadata.actor) via \(event.metadata.channel)")
    }
    let head = try await store.headPosition()
    print("\nThe log at \(path) holds \(head) events. Last three:")
    for event in try await store.readLog(from: LogPosition(head.rawValue > 2 ? head.rawValue - 2 : 1), filter: .all, limit: 3) {
        let hash = event.chainHash.prefix(6).map { String(format: "%02x", $0) }.joined()
        print("  @\(event.position) \(event.streamID) \(event.type) chain \(hash)…")
    }
    await store.close()
} catch {
    print("error: \(error)")
    exit(1)
}
