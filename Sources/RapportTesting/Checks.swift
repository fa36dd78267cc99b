import Foundation
import RapportEventLog

let tester = Principal(id: "user:conformance", role: .admin)

/// What `chain` says of `record` (nil: it continues the log), and the record's chain hash.
func follow(_ record: StoredRecord, in chain: inout LogChain) throws -> (problem: String?, chainHash: [UInt8]) {
    try record.bytes.withUnsafeBytes { bytes in
        let view = try RecordView(validating: bytes, at: record.position)
        return (chain.follow(view), Array(view.chainHashBytes))
    }
}

func makeEvent(
    _ type: String = "TestEvent", tags: [Tag] = [], payload: String = "{}", id: EventID = EventID(),
    channel: Channel = .api, actor: Principal = tester
) -> NewEvent {
    NewEvent(id: id, type: type, metadata: EventMetadata(actor: actor, channel: channel), tags: tags, payload: Data(payload.utf8))
}

func stream(_ name: String) -> StreamID { try! StreamID(name) }
func tag(_ name: String) -> Tag { try! Tag(name) }

extension ConformanceSuite {
    static let checks: [Check] = [
        Check(name: "empty store reads as empty") { c in
            try c.expectEqual(try await c.store.headPosition(), LogPosition.start, "head of an empty store")
            try c.expectEqual(try await c.store.readLog(from: 1, filter: .all, limit: 10).count, 0, "events in an empty log")
            try c.expectEqual(try await c.store.readStream(stream("a-1"), from: 1, direction: .forward, limit: 10).count, 0, "events of a missing stream")
            try c.expectEqual(try await c.store.streamVersion(of: stream("a-1")), 0, "version of a missing stream")
            try c.expect(try await c.store.event(id: EventID()) == nil, "an unknown id must read as nil")
        },

        Check(name: "positions are gapless and in commit order") { c in
            var expected: [(StreamID, UInt64)] = []
            var versions: [StreamID: UInt64] = [:]
            for round in 0..<20 {
                let target = stream("order-\(round % 3)")
                let count = round % 4 + 1
                let result = try await c.store.append((0..<count).map { _ in makeEvent() }, to: target)
                try c.expectEqual(result.positions.lowerBound.rawValue, UInt64(expected.count + 1), "first position of append \(round)")
                try c.expectEqual(result.positions.upperBound.rawValue, UInt64(expected.count + count), "last position of append \(round)")
                for _ in 0..<count {
                    versions[target, default: 0] += 1
                    expected.append((target, versions[target]!))
                }
                try c.expectEqual(result.streamVersions[target], versions[target], "stream version after append \(round)")
            }
            let all = try await c.store.readLog(from: 1, filter: .all, limit: 1_000)
            try c.expectEqual(all.map(\.position.rawValue), Array(1...UInt64(expected.count)), "positions of the whole log")
            try c.expectEqual(all.map(\.streamID), expected.map(\.0), "streams in log order")
            try c.expectEqual(all.map(\.streamVersion), expected.map(\.1), "stream versions in log order")
            try c.expectEqual(try await c.store.headPosition().rawValue, UInt64(expected.count), "head position")
        },

        Check(name: "expected version: no stream") { c in
            let s = stream("ev-nostream")
            try await c.store.append([makeEvent()], to: s, expecting: .noStream)
            let before = try await c.snapshot([s])
            try await c.expectError("creating an existing stream", {
                if case .wrongExpectedVersion(s, .noStream, 1) = $0 { true } else { false }
            }) { () async throws(EventStoreError) in try await c.store.append([makeEvent()], to: s, expecting: .noStream) }
            try c.expectEqual(try await c.snapshot([s]), before, "head and version after a refused append")
            try await c.store.append([makeEvent()], to: stream("ev-other"), expecting: .exactly(0))
        },

        Check(name: "expected version: stream exists") { c in
            let s = stream("ev-exists")
            try await c.expectError("appending to a missing stream with .streamExists", {
                if case .wrongExpectedVersion(s, .streamExists, 0) = $0 { true } else { false }
            }) { () async throws(EventStoreError) in try await c.store.append([makeEvent()], to: s, expecting: .streamExists) }
            try c.expectEqual(try await c.snapshot([s]), [0, 0], "nothing written")
            try await c.store.append([makeEvent()], to: s, expecting: .any)
            let result = try await c.store.append([makeEvent()], to: s, expecting: .streamExists)
            try c.expectEqual(result.streamVersions[s], 2, "version after .streamExists append")
        },

        Check(name: "expected version: exact") { c in
            let s = stream("ev-exact")
            try await c.store.append([makeEvent(), makeEvent(), makeEvent()], to: s, expecting: .exactly(0))
            for stale: UInt64 in [0, 1, 2, 4, 100] {
                try await c.expectError("appending with stale version \(stale)", {
                    if case .wrongExpectedVersion(s, .exactly(stale), 3) = $0 { true } else { false }
                }) { () async throws(EventStoreError) in try await c.store.append([makeEvent()], to: s, expecting: .exactly(stale)) }
            }
            try c.expectEqual(try await c.snapshot([s]), [3, 3], "nothing written by refused appends")
            let result = try await c.store.append([makeEvent()], to: s, expecting: .exactly(3))
            try c.expectEqual(result.streamVersions[s], 4, "version after the exact append")
        },

        Check(name: "expected version: any") { c in
            let s = stream("ev-any")
            try await c.store.append([makeEvent()], to: s, expecting: .any)
            try await c.store.append([makeEvent()], to: s, expecting: .any)
            try c.expectEqual(try await c.store.streamVersion(of: s), 2, "version after two .any appends")
        },

        Check(name: "names spelled alike are one stream and one tag") { c in
            // "café" with é as one character, and with e and a combining accent:
            // equal as Swift strings, so they must be equal to the store too.
            let composed = stream("caf\u{E9}-1"), decomposed = stream("cafe\u{301}-1")
            try c.expectEqual(Array(decomposed.rawValue.utf8), Array(composed.rawValue.utf8), "a stream id's bytes in normalization form C")
            try await c.store.append([makeEvent(tags: [tag("caf\u{E9}:1")])], to: composed, expecting: .noStream)
            try await c.expectError("creating the stream again under the other spelling", {
                if case .wrongExpectedVersion(_, .noStream, 1) = $0 { true } else { false }
            }) { () async throws(EventStoreError) in try await c.store.append([makeEvent()], to: decomposed, expecting: .noStream) }
            try await c.store.append([makeEvent(tags: [tag("cafe\u{301}:1")])], to: decomposed, expecting: .exactly(1))
            try c.expectEqual(try await c.store.streamVersion(of: composed), 2, "version under one spelling after appends under both")
            let read = try await c.store.readStream(composed, from: 1, direction: .forward, limit: 10)
            try c.expectEqual(read.map(\.streamVersion), [1, 2], "the stream read under one spelling")
            try c.expectEqual(read.map { Array($0.streamID.rawValue.utf8) }, [Array(composed.rawValue.utf8), Array(composed.rawValue.utf8)], "stored stream ids")
            let tagged = try await c.store.readLog(from: 1, filter: LogFilter(tags: [tag("cafe\u{301}:1")]), limit: 10)
            try c.expectEqual(tagged.count, 2, "events read by the tag under the other spelling")
        },

        Check(name: "actors, roles, channels and types spelled alike are one") { c in
            // Written with combining accents, read back and found in normalization form C.
            let actor = Principal(id: "user:jose\u{301}", role: Principal.Role("ge\u{301}rant"))
            let event = makeEvent("Cre\u{301}e\u{301}", channel: Channel("te\u{301}le\u{301}phone"), actor: actor)
            try await c.store.append([event], to: stream("spelling-1"))
            let stored = try await c.store.readStream(stream("spelling-1"), from: 1, direction: .forward, limit: 1)
            try c.expectEqual(stored.count, 1, "the event stored")
            try c.expectEqual(Array(stored[0].metadata.actor.id.utf8), Array("user:jos\u{E9}".utf8), "the actor id's bytes")
            try c.expectEqual(Array(stored[0].metadata.actor.role.rawValue.utf8), Array("g\u{E9}rant".utf8), "the role's bytes")
            try c.expectEqual(Array(stored[0].metadata.channel.rawValue.utf8), Array("t\u{E9}l\u{E9}phone".utf8), "the channel's bytes")
            try c.expectEqual(Array(stored[0].type.utf8), Array("Cr\u{E9}\u{E9}".utf8), "the type name's bytes")
            for (filter, what) in [
                (LogFilter(actors: ["user:jos\u{E9}"]), "by the actor, composed"),
                (LogFilter(actors: ["user:jose\u{301}"]), "by the actor, decomposed"),
                (LogFilter(types: ["Cr\u{E9}\u{E9}"]), "by the type, composed"),
                (LogFilter(types: ["Cre\u{301}e\u{301}"]), "by the type, decomposed"),
            ] {
                let found = try await c.store.readLog(from: 1, filter: filter, limit: 10)
                try c.expectEqual(found.map(\.id), [event.id], "the event read \(what)")
            }
        },

        Check(name: "a retried append is idempotent") { c in
            let s = stream("idem-1")
            let events = [makeEvent(), makeEvent(), makeEvent()]
            try await c.store.append([makeEvent()], to: stream("idem-other"))
            let first = try await c.store.append(events, to: s, expecting: .noStream)
            try c.expect(!first.wasAlreadyStored, "a first append is not 'already stored'")
            let again = try await c.store.append(events, to: s, expecting: .noStream)
            try c.expect(again.wasAlreadyStored, "a retried append reports 'already stored'")
            try c.expectEqual(again.positions, first.positions, "positions of the retry")
            try c.expectEqual(again.streamVersions[s], 3, "stream version reported by the retry")
            try c.expectEqual(try await c.snapshot([s]), [4, 3], "nothing written by the retry")
            let ids = try await c.store.readStream(s, from: 1, direction: .forward, limit: 10).map(\.id)
            try c.expectEqual(ids, events.map(\.id), "ids stored once")
        },

        Check(name: "a reused event id in another append is refused") { c in
            let s = stream("dup-1")
            let stored = makeEvent()
            try await c.store.append([stored, makeEvent()], to: s)
            let before = try await c.snapshot([s, stream("dup-2")])
            try await c.expectError("a stored id mixed with new ones", {
                if case .duplicateEventID(stored.id, 1) = $0 { true } else { false }
            }) { () async throws(EventStoreError) in try await c.store.append([makeEvent(), stored], to: s) }
            try await c.expectError("a stored id appended to another stream", {
                if case .duplicateEventID(stored.id, 1) = $0 { true } else { false }
            }) { () async throws(EventStoreError) in try await c.store.append([stored], to: stream("dup-2")) }
            // A retry carries the same content: the same id with another payload or type is another event.
            try await c.expectError("a stored id with another payload", {
                if case .duplicateEventID(stored.id, 1) = $0 { true } else { false }
            }) { () async throws(EventStoreError) in
                try await c.store.append([makeEvent(payload: #"{"other":true}"#, id: stored.id)], to: s)
            }
            try await c.expectError("a stored id with another type", {
                if case .duplicateEventID(stored.id, 1) = $0 { true } else { false }
            }) { () async throws(EventStoreError) in
                try await c.store.append([makeEvent("OtherEvent", id: stored.id)], to: s)
            }
            try await c.expectError("an id twice in one request", {
                if case .invalidEvent = $0 { true } else { false }
            }) { () async throws(EventStoreError) in
                let twice = makeEvent()
                return try await c.store.append([twice, twice], to: stream("dup-2"))
            }
            try c.expectEqual(try await c.snapshot([s, stream("dup-2")]), before, "nothing written")
        },

        Check(name: "append condition on tags") { c in
            let deal = tag("deal:7")
            try await c.store.append([makeEvent(tags: [deal])], to: stream("deal-7"))
            let seen = try await c.store.headPosition()
            try await c.store.append([makeEvent(tags: [tag("contact:1")])], to: stream("contact-1"))
            // Unrelated tag stored after `seen`: the condition holds.
            try await c.store.append([makeEvent(tags: [deal])], to: stream("deal-7"), condition: AppendCondition(tags: [deal], after: seen))
            // Now a deal:7 event exists after `seen`: the same condition fails.
            let before = try await c.snapshot([stream("deal-7")])
            try await c.expectError("a condition with a newer tagged event", {
                if case .appendConditionFailed(_, seen, 3) = $0 { true } else { false }
            }) { () async throws(EventStoreError) in
                try await c.store.append([makeEvent()], to: stream("other-1"),
                                         condition: AppendCondition(tags: [deal, tag("x:1")], after: seen))
            }
            try c.expectEqual(try await c.snapshot([stream("deal-7")]), before, "nothing written")
            try await c.store.append([makeEvent()], to: stream("other-1"), condition: AppendCondition(tags: [deal], after: 3))
            try await c.store.append([makeEvent()], to: stream("other-1"), condition: AppendCondition(tags: [tag("never:1")], after: 0))
        },

        Check(name: "a multi-stream append is atomic") { c in
            let lead = stream("lead-1"), contact = stream("contact-1"), deal = stream("deal-1")
            try await c.store.append([makeEvent()], to: lead)
            try await c.store.append([makeEvent()], to: deal)
            let before = try await c.snapshot([lead, contact, deal])
            try await c.expectError("one part with a wrong version", {
                if case .wrongExpectedVersion(deal, .noStream, 1) = $0 { true } else { false }
            }) { () async throws(EventStoreError) in
                try await c.store.append(AppendRequest([
                    StreamAppend(streamID: lead, expectedVersion: .exactly(1), events: [makeEvent()]),
                    StreamAppend(streamID: contact, expectedVersion: .noStream, events: [makeEvent(), makeEvent()]),
                    StreamAppend(streamID: deal, expectedVersion: .noStream, events: [makeEvent()]),
                ]))
            }
            try c.expectEqual(try await c.snapshot([lead, contact, deal]), before, "no stream written")
            let result = try await c.store.append(AppendRequest([
                StreamAppend(streamID: lead, expectedVersion: .exactly(1), events: [makeEvent("LeadConverted")]),
                StreamAppend(streamID: contact, expectedVersion: .noStream, events: [makeEvent("ContactCreated"), makeEvent("ContactTagged")]),
                StreamAppend(streamID: deal, expectedVersion: .exactly(1), events: [makeEvent("DealOpened")]),
            ]))
            try c.expectEqual(result.positions, LogPosition(3)...LogPosition(6), "contiguous positions")
            try c.expectEqual(result.streamVersions, [lead: 2, contact: 2, deal: 2], "versions after the append")
            let types = try await c.store.readLog(from: 3, filter: .all, limit: 10).map(\.type)
            try c.expectEqual(types, ["LeadConverted", "ContactCreated", "ContactTagged", "DealOpened"], "request order kept")
            try await c.expectError("a stream twice in one request", {
                if case .invalidEvent = $0 { true } else { false }
            }) { () async throws(EventStoreError) in
                try await c.store.append(AppendRequest([
                    StreamAppend(streamID: lead, events: [makeEvent()]), StreamAppend(streamID: lead, events: [makeEvent()]),
                ]))
            }
        },

        Check(name: "a part without events only checks its stream's version") { c in
            let deal = stream("check-deal-1"), pipeline = stream("check-pipeline-1")
            try await c.store.append([makeEvent(), makeEvent()], to: pipeline)
            let result = try await c.store.append(AppendRequest([
                StreamAppend(streamID: deal, expectedVersion: .noStream, events: [makeEvent()]),
                StreamAppend(streamID: pipeline, expectedVersion: .exactly(2), events: []),
            ]))
            try c.expectEqual(result.positions, LogPosition(3)...LogPosition(3), "positions of the checked append")
            try c.expectEqual(result.streamVersions, [deal: 1, pipeline: 2], "versions reported")
            try c.expectEqual(try await c.snapshot([deal, pipeline]), [3, 1, 2], "the checked stream is unchanged")
            try await c.store.append([makeEvent()], to: pipeline)
            try await c.expectError("a check of a stream that changed", {
                if case .wrongExpectedVersion(pipeline, .exactly(2), 3) = $0 { true } else { false }
            }) { () async throws(EventStoreError) in
                try await c.store.append(AppendRequest([
                    StreamAppend(streamID: deal, expectedVersion: .exactly(1), events: [makeEvent()]),
                    StreamAppend(streamID: pipeline, expectedVersion: .exactly(2), events: []),
                ]))
            }
            _ = try await c.store.append(AppendRequest([
                StreamAppend(streamID: deal, expectedVersion: .exactly(1), events: [makeEvent()]),
                StreamAppend(streamID: stream("check-missing-1"), expectedVersion: .noStream, events: []),
            ]))
            try c.expectEqual(try await c.snapshot([deal, stream("check-missing-1")]), [5, 2, 0], "a checked missing stream stays missing")
            try await c.expectError("a request with no event at all", { if case .invalidEvent = $0 { true } else { false } }) { () async throws(EventStoreError) in
                try await c.store.append(AppendRequest([StreamAppend(streamID: deal, expectedVersion: .exactly(2), events: [])]))
            }
        },

        Check(name: "stream reads forward, backward and in pages") { c in
            let s = stream("paged-1")
            var ids: [EventID] = []
            for round in 0..<30 {
                let batch = (0..<10).map { _ in makeEvent() }
                ids += batch.map(\.id)
                try await c.store.append(batch, to: s)
                try await c.store.append([makeEvent()], to: stream("noise-\(round % 4)"))
            }
            func read(_ from: UInt64, _ direction: ReadDirection, _ limit: Int) async throws -> [EventID] {
                try await c.store.readStream(s, from: from, direction: direction, limit: limit).map(\.id)
            }
            for (from, limit) in [(1, 300), (1, 1), (2, 7), (100, 50), (257, 100), (300, 5), (301, 5), (0, 3)] {
                let start = max(from, 1)
                let expected = start > 300 ? [] : Array(ids[(start - 1)..<min(300, start - 1 + limit)])
                try c.expectEqual(try await read(UInt64(from), .forward, limit), expected, "forward from \(from) limit \(limit)")
            }
            for (from, limit) in [(300, 300), (300, 1), (128, 10), (5, 10), (1, 3), (1_000, 4)] {
                let start = min(from, 300)
                let expected = Array(ids[max(0, start - limit)..<start].reversed())
                try c.expectEqual(try await read(UInt64(from), .backward, limit), expected, "backward from \(from) limit \(limit)")
            }
            try c.expectEqual(try await read(UInt64.max, .backward, 2), [ids[299], ids[298]], "backward from the newest")
            try c.expectEqual(try await read(1, .backward, 0), [], "limit 0")
            // A limit meaning "no limit" reads to the end, never past a number's range.
            try c.expectEqual(try await read(2, .forward, .max), Array(ids[1...]), "forward from 2 limit .max")
            try c.expectEqual(try await read(299, .backward, .max), Array(ids[..<299].reversed()), "backward from 299 limit .max")
            try c.expectEqual(
                try await c.store.readLog(from: 2, filter: .all, limit: .max).count, 329, "the log from 2 with limit .max")
            var paged: [EventID] = []
            for try await event in c.store.events(in: s, pageSize: 7) { paged.append(event.id) }
            try c.expectEqual(paged, ids, "all events through pages of 7")
            var backwards: [EventID] = []
            for try await event in c.store.events(in: s, direction: .backward, pageSize: 11) { backwards.append(event.id) }
            try c.expectEqual(backwards, ids.reversed(), "all events backwards through pages of 11")
        },

        Check(name: "log reads filter by type, tag, actor and end position, in pages") { c in
            var all: [(type: String, tags: [Tag], actor: String)] = []
            var random = SplitMix64(seed: 42)
            let actors = ["user:anna", "user:boris", "system:import"].map { Principal(id: $0, role: .salesRep) }
            for index in 0..<600 {
                let type = ["Created", "Updated", "Noted"][Int(random.next() % 3)]
                var tags: [Tag] = []
                if random.next() % 2 == 0 { tags.append(tag("contact:\(random.next() % 5)")) }
                if random.next() % 3 == 0 { tags.append(tag("owner:\(random.next() % 2)")) }
                // Runs of one actor, as in real use, and a rare one.
                let actor = index % 97 == 0 ? actors[2] : actors[(index / 10) % 2]
                all.append((type, tags, actor.id))
                try await c.store.append([makeEvent(type, tags: tags, actor: actor)], to: stream("mixed-\(index % 7)"))
            }
            let filters: [LogFilter] = [
                LogFilter(types: ["Noted"]),
                LogFilter(tags: [tag("contact:3")]),
                LogFilter(tags: [tag("contact:1"), tag("owner:1")]),
                LogFilter(types: ["Created", "Updated"], tags: [tag("owner:0")]),
                LogFilter(tags: [tag("nobody:1")]),
                LogFilter(tags: []),
                LogFilter(actors: ["system:import"]),
                LogFilter(actors: ["user:anna", "system:import"]),
                LogFilter(types: ["Noted"], actors: ["user:boris"]),
                LogFilter(types: ["Created"], tags: [tag("contact:2")], actors: ["user:anna"]),
                LogFilter(actors: ["user:nobody"]),
                LogFilter(actors: []),
                LogFilter(types: ["NeverWritten"]),
                LogFilter(through: 10),
                LogFilter(types: ["Noted"], through: 300),
                LogFilter(tags: [tag("contact:3")], through: 150),
                LogFilter(actors: ["system:import"], through: 400),
                LogFilter(types: ["Created"], actors: ["user:boris"], through: 599),
            ]
            for filter in filters {
                for from: UInt64 in [1, 2, 150, 599, 600, 601] {
                    let expected = all.indices.filter { index in
                        UInt64(index + 1) >= from
                            && (filter.types?.contains(all[index].type) ?? true)
                            && (filter.tags.map { wanted in all[index].tags.contains(where: wanted.contains) } ?? true)
                            && (filter.actors?.contains(all[index].actor) ?? true)
                            && UInt64(index + 1) <= filter.through?.rawValue ?? .max
                    }.map { UInt64($0 + 1) }
                    let read = try await c.store.readLog(from: LogPosition(from), filter: filter, limit: 10_000).map(\.position.rawValue)
                    try c.expectEqual(read, expected, "filter \(filter) from \(from)")
                    let limited = try await c.store.readLog(from: LogPosition(from), filter: filter, limit: 3).map(\.position.rawValue)
                    try c.expectEqual(limited, Array(expected.prefix(3)), "filter \(filter) from \(from) limit 3")
                    var paged: [UInt64] = []
                    for try await event in c.store.events(from: LogPosition(from), filter: filter, pageSize: 4) { paged.append(event.position.rawValue) }
                    try c.expectEqual(paged, expected, "filter \(filter) from \(from) in pages of 4")
                }
            }
        },

        Check(name: "recorded fields round-trip") { c in
            let correlation = UUID(), causation = UUID()
            let occurred = Date(timeIntervalSince1970: 1_700_000_000.123456)
            let payload = Data((0..<1_000).map { UInt8($0 % 251) })
            let event = NewEvent(
                type: "DealWon", schemaVersion: 3, occurredAt: occurred,
                metadata: EventMetadata(actor: Principal(id: "user:anna", role: .salesManager), channel: .webForm,
                                        correlationID: correlation, causationID: causation),
                tags: [tag("deal:42"), tag("owner:anna")], payload: payload)
            let before = Date()
            let result = try await c.store.append([event], to: stream("deal-42"))
            let after = Date()
            guard let stored = try await c.store.event(id: event.id) else { throw c.fail("the event is not found by id") }
            try c.expectEqual(stored.position, result.lastPosition, "position")
            try c.expectEqual(stored.streamID, stream("deal-42"), "stream")
            try c.expectEqual(stored.streamVersion, 1, "stream version")
            try c.expectEqual(stored.type, "DealWon", "type")
            try c.expectEqual(stored.schemaVersion, 3, "schema version")
            try c.expectEqual(stored.metadata, event.metadata, "metadata")
            try c.expectEqual(stored.tags, event.tags, "tags")
            try c.expectEqual(stored.payload, payload, "payload")
            try c.expect(abs(stored.occurredAt!.timeIntervalSince(occurred)) < 0.000_002, "occurred-at kept to the microsecond")
            try c.expect(stored.recordedAt >= before.addingTimeInterval(-1) && stored.recordedAt <= after.addingTimeInterval(1),
                         "recorded-at by the store's clock")
            try c.expectEqual(stored.chainHash.count, 32, "chain hash size")
            let noDate = makeEvent()
            try await c.store.append([noDate], to: stream("deal-42"))
            try c.expect(try await c.store.event(id: noDate.id)?.occurredAt == nil, "no occurred-at stays nil")
        },

        Check(name: "recorded-at never decreases and dates map to positions") { c in
            var boundaries: [(Date, UInt64)] = []
            for round in 0..<12 {
                try await c.store.append([makeEvent(), makeEvent()], to: stream("time-\(round % 3)"))
                boundaries.append((Date(), UInt64(2 * (round + 1))))
                if round % 4 == 0 { try await Task.sleep(for: .milliseconds(3)) }
            }
            let all = try await c.store.readLog(from: 1, filter: .all, limit: 100)
            try c.expect(zip(all, all.dropFirst()).allSatisfy { $0.recordedAt <= $1.recordedAt }, "recorded-at in log order")
            try c.expectEqual(try await c.store.position(asOf: Date.distantPast), LogPosition.start, "as of the distant past")
            try c.expectEqual(try await c.store.position(asOf: Date.distantFuture), LogPosition(24), "as of the distant future")
            for event in all {
                let known = try await c.store.position(asOf: event.recordedAt)
                try c.expect(known >= event.position, "as of the recorded-at of \(event.position) includes it")
                try c.expect(all.filter { $0.recordedAt <= event.recordedAt }.count == Int(known.rawValue), "as of \(event.position) counts every earlier record")
            }
            for (date, written) in boundaries {
                try c.expect(try await c.store.position(asOf: date).rawValue >= written, "as of a time after \(written) events")
            }
        },

        Check(name: "chain hashes link every record") { c in
            for round in 0..<10 { try await c.store.append([makeEvent(), makeEvent()], to: stream("chain-\(round % 2)")) }
            let all = try await c.store.readLog(from: 1, filter: .all, limit: 100)
            try c.expectEqual(Set(all.map(\.chainHash)).count, all.count, "distinct chain hashes")
            let again = try await c.store.readLog(from: 1, filter: .all, limit: 100)
            try c.expectEqual(again.map(\.chainHash), all.map(\.chainHash), "stable chain hashes")
            // A store that hands out its records: each hash is the record's and its predecessor's.
            guard let records = c.store as? any StoredRecordLog else { return }
            let stored = try await records.storedRecords(from: 1, limit: 100)
            try c.expectEqual(stored.map(\.position), all.map(\.position), "positions of the stored records")
            var chain = LogChain()
            for (record, event) in zip(stored, all) {
                let (problem, hash) = try follow(record, in: &chain)
                try c.expect(problem == nil, "the stored record at \(record.position) continues the log: \(problem ?? "")")
                try c.expectEqual(event.chainHash, hash, "the chain hash read at \(record.position) is the stored record's")
            }
        },

        Check(name: "unknown event types stay readable") { c in
            try await c.store.append([makeEvent("FromTheFuture", payload: "\u{1}binary\u{0}")], to: stream("future-1"))
            let read = try await c.store.readStream(stream("future-1"), from: 1, direction: .forward, limit: 1)
            try c.expectEqual(read.first?.type, "FromTheFuture", "type of an unknown event")
            struct Known: Event { static let typeName = "Known"; var value: Int }
            try c.expectThrows("decoding as another type", {
                if case .typeMismatch(expected: "Known", found: "FromTheFuture", position: 1) = $0 { true } else { false }
            }) { () throws(EventStoreError) in try read[0].decode(Known.self) }
        },

        Check(name: "bad inputs are refused with their own error and write nothing") { c in
            for (bad, reason) in [("", "empty"), (String(repeating: "x", count: 256), "long"), ("a\u{0}b", "control"), ("line\nbreak", "control"), ("c1\u{85}", "control")] {
                try c.expectThrows("stream id (\(reason))", {
                    if case .invalidStreamID(bad, _) = $0 { true } else { false }
                }) { () throws(EventStoreError) in try StreamID(bad) }
                try c.expectThrows("tag (\(reason))", {
                    if case .invalidTag(bad, _) = $0 { true } else { false }
                }) { () throws(EventStoreError) in try Tag(bad) }
            }
            _ = try StreamID(String(repeating: "é", count: 127))  // 254 bytes of UTF-8
            let s = stream("bad-1")
            try await c.expectError("an empty type name", { if case .invalidEvent = $0 { true } else { false } }) { () async throws(EventStoreError) in
                try await c.store.append([makeEvent("")], to: s)
            }
            try await c.expectError("an empty actor", { if case .invalidEvent = $0 { true } else { false } }) { () async throws(EventStoreError) in
                try await c.store.append([NewEvent(type: "T", metadata: EventMetadata(actor: Principal(id: "", role: .admin), channel: .ui), payload: Data())], to: s)
            }
            // Texts of the header: control characters, over-long, empty; each refused alone.
            let badTexts: [(String, NewEvent)] = [
                ("a type name with a control character", makeEvent("Deal\u{7}Won")),
                ("a type name over the limit", makeEvent(String(repeating: "T", count: 256))),
                ("an empty role", makeEvent(actor: Principal(id: "user:x", role: Principal.Role(rawValue: "")))),
                ("an empty channel", makeEvent(channel: Channel(rawValue: ""))),
                ("an actor id with a line break", makeEvent(actor: Principal(id: "user:\nx", role: .admin))),
            ]
            for (what, event) in badTexts {
                try await c.expectError(what, { if case .invalidEvent = $0 { true } else { false } }) { () async throws(EventStoreError) in
                    try await c.store.append([makeEvent(), event], to: s)
                }
            }
            var early = makeEvent()
            early.occurredAt = Date(timeIntervalSince1970: -1e15)
            try await c.expectError("an occurred-at date out of range", { if case .invalidEvent = $0 { true } else { false } }) { () async throws(EventStoreError) in
                try await c.store.append([early], to: s)
            }
            for (what, metadata) in [("correlation", EventMetadata(actor: tester, channel: .api, correlationID: RecordFormat.noID)),
                                     ("causation", EventMetadata(actor: tester, channel: .api, causationID: RecordFormat.noID))] {
                // Stored, it would read back as no id at all.
                try await c.expectError("the nil UUID as a \(what) id", { if case .invalidEvent = $0 { true } else { false } }) { () async throws(EventStoreError) in
                    try await c.store.append([NewEvent(type: "T", metadata: metadata, payload: Data())], to: s)
                }
            }
            try await c.expectError("a request without events", { if case .invalidEvent = $0 { true } else { false } }) { () async throws(EventStoreError) in
                try await c.store.append([], to: s)
            }
            try await c.expectError("a request without streams", { if case .invalidEvent = $0 { true } else { false } }) { () async throws(EventStoreError) in
                try await c.store.append(AppendRequest([]))
            }
            try await c.expectError("the same tag twice", { if case .invalidEvent = $0 { true } else { false } }) { () async throws(EventStoreError) in
                try await c.store.append([makeEvent(tags: [tag("a:1"), tag("a:1")])], to: s)
            }
            try await c.expectError("too many tags", { if case .invalidEvent = $0 { true } else { false } }) { () async throws(EventStoreError) in
                try await c.store.append([makeEvent(tags: (0..<65).map { tag("t:\($0)") })], to: s)
            }
            let huge = makeEvent(payload: String(repeating: "x", count: 4 * 1024 * 1024))
            try await c.expectError("an event over the size limit", {
                if case .eventTooLarge(huge.id, let size, 4_194_304) = $0 { size > 4_194_304 } else { false }
            }) { () async throws(EventStoreError) in
                try await c.store.append([makeEvent(), huge], to: s)
            }
            try c.expectEqual(try await c.snapshot([s]), [0, 0], "nothing written by refused appends")
            try await c.store.append([makeEvent()], to: s)
            try c.expectEqual(try await c.snapshot([s]), [1, 1], "the store still works")
        },

        Check(name: "a reopened store reads back everything and continues") { c in
            guard c.canReopen else { return }
            var written: [RecordedEvent] = []
            for round in 0..<12 {
                try await c.store.append([makeEvent(tags: [tag("k:\(round % 3)")]), makeEvent()], to: stream("reopen-\(round % 4)"))
            }
            written = try await c.store.readLog(from: 1, filter: .all, limit: 100)
            try await c.reopen()
            let read = try await c.store.readLog(from: 1, filter: .all, limit: 100)
            try c.expectEqual(read, written, "every record after reopening")
            let result = try await c.store.append([makeEvent(tags: [tag("k:0")])], to: stream("reopen-0"), expecting: .exactly(6))
            try c.expectEqual(result.positions.lowerBound, 25, "position after reopening")
            let tagged = try await c.store.readLog(from: 1, filter: LogFilter(tags: [tag("k:0")]), limit: 100)
            try c.expectEqual(tagged.count, 5, "tag k:0 events after reopening")
            try c.expectEqual(try await c.store.streamVersion(of: stream("reopen-0")), 7, "stream version after reopening")
        },

        Check(name: "racing writers: one winner per version, nothing lost") { c in
            let s = stream("race-1")
            let store = c.store
            let perTask = 25
            let acknowledged = try await withThrowingTaskGroup(of: [(EventID, LogPosition)].self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        var mine: [(EventID, LogPosition)] = []
                        var attempts = 0
                        while mine.count < perTask {
                            // Each conflict means another task's append won: far fewer than this in a sound store.
                            attempts += 1
                            guard attempts <= 10_000 else {
                                throw c.fail("a task got \(mine.count) of \(perTask) appends through in 10,000 attempts with the version streamVersion(of:) read")
                            }
                            let version = try await store.streamVersion(of: s)
                            let event = makeEvent()
                            do {
                                let result = try await store.append([event], to: s, expecting: .exactly(version))
                                mine.append((event.id, result.lastPosition))
                            } catch let error as EventStoreError {
                                guard case .wrongExpectedVersion = error else { throw error }
                            }
                        }
                        return mine
                    }
                }
                var all: [(EventID, LogPosition)] = []
                for try await part in group { all += part }
                return all
            }
            let stored = try await c.store.readStream(s, from: 1, direction: .forward, limit: 1_000)
            try c.expectEqual(stored.count, 8 * perTask, "events in the stream")
            try c.expectEqual(stored.map(\.streamVersion), Array(1...UInt64(8 * perTask)), "one event per version")
            let byID = Dictionary(uniqueKeysWithValues: stored.map { ($0.id, $0.position) })
            for (id, position) in acknowledged {
                try c.expectEqual(byID[id], position, "acknowledged event \(id)")
            }
        },

        Check(name: "a closed store refuses work") { c in
            try await c.store.append([makeEvent()], to: stream("closed-1"))
            await c.store.close()
            try await c.expectError("append after close", { $0 == .storeClosed }) { () async throws(EventStoreError) in
                try await c.store.append([makeEvent()], to: stream("closed-1"))
            }
            try await c.expectError("read after close", { $0 == .storeClosed }) { () async throws(EventStoreError) in
                try await c.store.readLog(from: 1, filter: .all, limit: 1)
            }
            await c.store.close()
        },

        Check(name: "tag reads reach deep into long histories") { c in
            var expected: [UInt64] = []
            var batch: [NewEvent] = []
            for index in 0..<2_000 {
                let tagged = index % 3 == 0 || index % 7 == 0
                batch.append(makeEvent(tags: tagged ? [tag("hot:1")] : [tag("cold:\(index % 5)")]))
                if tagged { expected.append(UInt64(index + 1)) }
                if batch.count == 100 {
                    try await c.store.append(batch, to: stream("deep-\(index % 13)"))
                    batch = []
                }
            }
            var random = SplitMix64(seed: 42)
            for _ in 0..<40 {
                let from = random.next() % 2_100 + 1
                let limit = Int(random.next() % 50) + 1
                let read = try await c.store.readLog(from: LogPosition(from), filter: LogFilter(tags: [tag("hot:1")]), limit: limit)
                try c.expectEqual(read.map(\.position.rawValue), Array(expected.filter { $0 >= from }.prefix(limit)), "hot:1 from \(from) limit \(limit)")
            }
        },
    ]
}
