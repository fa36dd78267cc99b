import Foundation
import RapportCore
import RapportEventLog
@testable import RapportProjections
import RapportReplay
import RapportScenario
import Testing

/// The proof of the projections on the CRM scenario of WORKLOAD.md at size S.
@Suite("Projections on the generated scenario")
struct GeneratedScenarioTests {
    static let projections: [any Projection] = [ContactHistory(), AuditTrail(), DealStates()]

    func everything(_ storage: some ReadModelStorage) throws -> [String: [String: [UInt8]]] {
        var all: [String: [String: [UInt8]]] = [:]
        for projection in Self.projections {
            all[projection.name] = try storage.read(projection.name) { (reader) throws(EventStoreError) in
                var model: [String: [UInt8]] = [:]
                try reader.forEach(keyPrefix: "") { key, value in
                    model[key] = value
                    return true
                }
                return model
            }
        }
        return all
    }

    /// Every value with its `recordedAt` fields cleared: compact timeline and
    /// audit entries are decoded, JSON values parsed; other values unchanged.
    func withoutRecordedAt(_ models: [String: [String: [UInt8]]]) throws -> [String: [String: String]] {
        func strip(_ value: Any) -> Any {
            if var object = value as? [String: Any] {
                object["recordedAt"] = nil
                return object.mapValues(strip)
            }
            if let array = value as? [Any] { return array.map(strip) }
            return value
        }
        let epoch = Date(timeIntervalSince1970: 0)
        return try models.mapValues { model in
            var result: [String: String] = [:]
            for (key, bytes) in model {
                if bytes.first == CompactWriter.marker, key.hasPrefix("timeline/") {
                    var entry = try Stored.decode(TimelineEntry.self, bytes)
                    entry.recordedAt = epoch
                    result[key] = "\(entry)"
                } else if bytes.first == CompactWriter.marker, key.hasPrefix("entry/") || key.hasPrefix("actor/") {
                    var entry = try Stored.decode(AuditEntry.self, bytes)
                    entry.recordedAt = epoch
                    result[key] = "\(entry)"
                } else if let json = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) {
                    let data = try JSONSerialization.data(withJSONObject: strip(json), options: [.sortedKeys, .fragmentsAllowed])
                    result[key] = String(decoding: data, as: UTF8.self)
                } else {
                    result[key] = bytes.map { String($0, radix: 16) }.joined(separator: " ")
                }
            }
            return result
        }
    }

    @Test func liveEqualsRebuiltAndAsOfEqualsATruncatedBuild() async throws {
        // Size S (100,000 events) takes many minutes in a debug build: the suite runs
        // 20,000 events of the same scenario; RAPPORT_SCENARIO_EVENTS=100000 runs S.
        let size = ProcessInfo.processInfo.environment["RAPPORT_SCENARIO_EVENTS"].flatMap(Int.init) ?? 20_000
        let store = InMemoryEventStore()
        let summary = try await ScenarioGenerator.generate(into: store, configuration: ScenarioConfiguration(events: size))
        let head = try await store.headPosition()
        #expect(head.rawValue >= UInt64(size))

        // Live: the generator appended atomic batches of 1,000 events; a follower
        // catching up after each append commits at those boundaries. Batches of
        // 97 events put commit boundaries everywhere, inside appends too.
        let live = InMemoryReadModelStorage()
        try await ProjectionRunner(log: store, storage: live, projections: Self.projections, registry: .crm, batchSize: 97).catchUp()
        // Rebuilt: one pass in large batches.
        let rebuilt = InMemoryReadModelStorage()
        try await ProjectionRunner(log: store, storage: rebuilt, projections: Self.projections, registry: .crm, batchSize: 20_000).catchUp()
        let liveModel = try everything(live)
        let rebuiltModel = try everything(rebuilt)
        for projection in Self.projections {
            let a = liveModel[projection.name]!, b = rebuiltModel[projection.name]!
            #expect(a.count == b.count && a == b, "\(projection.name): live \(a.count) keys, rebuilt \(b.count); equal: \(a == b)")
        }
        #expect(liveModel["audit-trail"]!.keys.filter { $0.hasPrefix("entry/") }.count == Int(head.rawValue), "one audit entry per event")

        // As of P: bounded catch-up equals a full build of a store holding only events 1...P.
        for cut in [LogPosition(1), LogPosition(head.rawValue / 3), LogPosition(head.rawValue * 2 / 3 + 17)] {
            let bounded = InMemoryReadModelStorage()
            try await ProjectionRunner(log: store, storage: bounded, projections: Self.projections, registry: .crm).catchUp(upTo: cut)
            let truncated = InMemoryEventStore()
            for try await event in store.events(from: 1) {
                guard event.position <= cut else { break }
                try await truncated.append([NewEvent(id: event.id, type: event.type, schemaVersion: event.schemaVersion, occurredAt: event.occurredAt,
                                                     metadata: event.metadata, tags: event.tags, payload: event.payload)], to: event.streamID)
            }
            let fresh = InMemoryReadModelStorage()
            try await ProjectionRunner(log: truncated, storage: fresh, projections: Self.projections, registry: .crm).catchUp()
            // The copy re-stamps recorded-at with its own clock: compare every value without it.
            // A deal from its own streams equals the bounded build's.
            let deals = DealStates()
            for opened in try await store.readLog(from: 1, filter: LogFilter(types: [DealOpened.typeName]), limit: 40) {
                let id = try #require(DealID(String(opened.streamID.rawValue.dropFirst("deal-".count))))
                #expect(try await deals.state(of: id, asOf: cut, fromStreamsIn: store) == deals.state(of: id, in: bounded), "deal \(id) as of \(cut)")
                // And from the full read model's versions, one seek.
                #expect(try deals.state(of: id, asOf: cut, in: rebuilt) == deals.state(of: id, in: bounded), "stored deal \(id) as of \(cut)")
            }
            let then = Date(timeIntervalSince1970: 1_790_000_000)
            for pipeline in summary.pipelines {
                let stored = try deals.summary(of: pipeline, asOf: cut, in: rebuilt, now: then)
                #expect(stored == (try deals.summary(of: pipeline, in: bounded, now: then)), "stored summary of \(pipeline) as of \(cut)")
            }
            let boundedModel = try withoutRecordedAt(everything(bounded)), freshModel = try withoutRecordedAt(everything(fresh))
            for projection in Self.projections {
                let a = boundedModel[projection.name]!, b = freshModel[projection.name]!
                #expect(a.count == b.count && a == b, "\(projection.name) as of \(cut): \(a.count) keys against \(b.count)")
            }
        }

        // The pipeline summary as of the end equals the summary computed on the rebuilt model.
        let deals = DealStates()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let asOfEnd = try await deals.summary(of: summary.pipelines[0], asOf: head, from: store, now: now)
        let current = try deals.summary(of: summary.pipelines[0], in: rebuilt, now: now)
        #expect(asOfEnd != nil && asOfEnd == current)
    }

    /// Every audit index answers exactly what a scan of the log answers, for
    /// random selections, position ranges and page sizes.
    @Test func auditQueriesAgreeWithAScanOfTheLog() async throws {
        let store = InMemoryEventStore()
        _ = try await ScenarioGenerator.generate(into: store, configuration: ScenarioConfiguration(events: 5_000))
        let storage = InMemoryReadModelStorage()
        let audit = AuditTrail()
        try await ProjectionRunner(log: store, storage: storage, projections: [audit], registry: .crm, batchSize: 613).catchUp()
        var scan: [AuditEntry] = []
        for try await event in store.events(from: 1) { scan.append(AuditTrail.entry(for: event)) }
        let head = scan.count

        var random = SplitMix64(seed: 42)
        func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
        let actors = Array(Set(scan.map(\.actor.id))).sorted()
        let actions = Array(Set(scan.map(\.action))).sorted()
        var checked = 0
        for round in 0..<200 {
            let sample = pick(scan)
            let selection: AuditSelection
            let matches: (AuditEntry) -> Bool
            switch round % 5 {
            case 0:
                selection = .all
                matches = { _ in true }
            case 1:
                let actor = pick(actors)
                selection = .actor(actor)
                matches = { $0.actor.id == actor }
            case 2:
                selection = .entity(kind: sample.entityKind, id: sample.entityID)
                matches = { $0.entityKind == sample.entityKind && $0.entityID == sample.entityID }
            case 3:
                let action = pick(actions)
                selection = .action(action)
                matches = { $0.action == action }
            default:
                let field = sample.changes.isEmpty ? "amount" : pick(sample.changes).field
                selection = .field(field, kind: sample.entityKind, id: sample.entityID)
                matches = { $0.entityKind == sample.entityKind && $0.entityID == sample.entityID && $0.changes.contains { $0.field == field } }
            }
            let a = LogPosition(1 + random.next() % UInt64(head)), b = LogPosition(1 + random.next() % UInt64(head))
            let range: ClosedRange<LogPosition>? = round % 3 == 0 ? nil : min(a, b)...max(a, b)
            let limit = 1 + Int(random.next() % 40)
            let found = try allPages(limit: limit) { try audit.entries(AuditQuery(selection, positions: range), in: storage, page: $0) }
            var expected = scan.filter { matches($0) && (range?.contains($0.position) ?? true) }
            if case .field(let field, _, _) = selection {
                // A field's query narrows each entry to that field's change.
                expected = expected.map { entry in
                    var narrowed = entry
                    narrowed.changes = entry.changes.filter { $0.field == field }
                    return narrowed
                }
            }
            #expect(found == expected, "\(selection) in \(String(describing: range)), pages of \(limit): \(found.count) entries against \(expected.count)")
            checked += expected.count
        }
        #expect(checked > 1_000, "the random queries found entries")
    }
}
