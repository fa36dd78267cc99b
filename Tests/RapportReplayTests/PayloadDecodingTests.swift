import Foundation
import RapportEventLog
import RapportReplay
import Testing

/// A registered event type with one required field.
private struct Rated: Event {
    static let typeName = "Rated"
    var stars: Int
}

/// Sums the stars of the `Rated` events it is handed decoded.
private struct Stars: Projection {
    let name = "stars"
    let version = 1
    let interest = ProjectionInterest(types: ["Rated"], decoding: ["Rated"])

    func apply(_ event: RecordedEvent, decoded: (any Event)?, to model: inout ReadModelContext) throws {
        let stars = (decoded as? Rated)?.stars ?? 0
        try model.set((try model.get(Int.self, "total") ?? 0) + stars, "total")
    }
}

/// What the runner does with payloads it cannot give a projection: it says
/// so, and never applies nil in their place.
@Suite("Payload decoding in the runner")
struct PayloadDecodingTests {
    var registry: EventTypeRegistry {
        var registry = EventTypeRegistry()
        registry.register(Rated.self)
        return registry
    }

    func rate(_ store: InMemoryEventStore, _ payload: String) async throws {
        try await store.append([NewEvent(type: "Rated", metadata: EventMetadata(actor: actor, channel: .api), payload: Data(payload.utf8))],
                               to: try StreamID("film-1"))
    }

    @Test func anUndecodablePayloadStopsTheProjectionAtItsPosition() async throws {
        let store = InMemoryEventStore(), storage = InMemoryReadModelStorage()
        try await rate(store, #"{"stars":4}"#)
        try await rate(store, #"{"stars":5}"#)
        try await rate(store, #"{"bogus":1}"#)  // position 3: a registered type that does not decode
        try await rate(store, #"{"stars":1}"#)
        let runner = try ProjectionRunner(log: store, storage: storage, projections: [Stars()], registry: registry, batchSize: 2)
        await #expect {
            try await runner.catchUp()
        } throws: { error in
            guard case ReplayError.projectionFailed(let projection, let position, let reason) = error else { return false }
            return projection == "stars" && position == 3 && reason.contains("Rated")
        }
        let checkpoint = try storage.checkpoint(of: "stars")
        #expect(checkpoint?.position == 2, "the batch before it is committed, nothing from it on")
        #expect(try storage.read("stars") { (reader) throws(EventStoreError) in try reader.value(forKey: "total") } == Array("9".utf8))
    }

    @Test func aProjectionDecodingTypesTheRegistryLacksIsRefusedBeforeAnything() async throws {
        let store = InMemoryEventStore(), storage = InMemoryReadModelStorage()
        try await rate(store, #"{"stars":4}"#)
        let runner = try ProjectionRunner(log: store, storage: storage, projections: [Stars()])  // the empty default registry
        await #expect(throws: ReplayError.self) { try await runner.catchUp() }
        do {
            try await runner.catchUp()
        } catch {
            #expect(error.description == "Projection stars decodes Rated, which the runner's registry does not know; "
                + "give the runner a registry that has them (for the CRM's projections, registry: .crm).")
        }
        #expect(try storage.checkpoint(of: "stars") == nil, "nothing applied, nothing committed")
    }
}
