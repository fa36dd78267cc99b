import Foundation
import RapportEventLog
import RapportLMDB
@testable import RapportProjections
import Testing

/// The in-place walk (bytes lent by the storage) against the copying walk,
/// and damaged values met on it, on the in-memory storage (the protocol's
/// default) and on LMDB (its memory map).
@Suite("In-place read-model walks")
struct InPlaceWalkTests {
    enum Kind: String, CaseIterable, CustomStringConvertible {
        case inMemory, lmdb
        var description: String { rawValue }
    }

    /// Runs `body` with an empty storage of `kind`, closed and removed afterwards.
    func withStorage(_ kind: Kind, _ body: (any ReadModelStorage) async throws -> Void) async throws {
        switch kind {
        case .inMemory:
            try await body(InMemoryReadModelStorage())
        case .lmdb:
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("rapport-in-place-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            let store = try LMDBEventStore(path: path)
            do { try await body(store) } catch {
                await store.close()
                throw error
            }
            await store.close()
        }
    }

    static let keys = ["h/a/1", "h/a/3", "h/a/5", "h/a/é", "h/b/0", "h/", "g/z", "h/a", "h/a/\u{10FFFF}", "i", ""]

    @Test("the in-place walk meets the keys and values of the copying walk, and stops when asked", arguments: Kind.allCases)
    func inPlaceMatchesCopying(_ kind: Kind) async throws {
        try await withStorage(kind) { storage in
            var writes: [String: [UInt8]?] = [:]
            for (index, key) in Self.keys.enumerated() { writes[key] = Array(key.utf8) + Array(repeating: UInt8(index), count: index) }
            writes["h/a/3"] = []  // an empty value
            try await storage.commit([ReadModelChanges(projection: "walk", writes: writes, checkpoint: ProjectionCheckpoint(version: 1, position: 1))])
            let walks: [(prefix: String, start: String)] = [
                ("h/a/", "h/a/"), ("h/a/", "h/a/2"), ("h/a/", "h/a/3"), ("h/a/", "a"), ("h/a/", "z"), ("h/a/", "h/a/f"),
                ("h/", "h/"), ("", ""), ("", "h/b"), ("zzz", "zzz"), ("h/a/é", "h/a/é"),
            ]
            for walk in walks {
                for limit in [1, 2, Int.max] {
                    let (copied, inPlace) = try storage.read("walk") { (reader) throws(EventStoreError) in
                        var copied: [(String, [UInt8])] = [], inPlace: [(String, [UInt8])] = []
                        try reader.forEach(keyPrefix: walk.prefix, from: walk.start) { key, value in
                            copied.append((key, value))
                            return copied.count < limit
                        }
                        try reader.forEachInPlace(keyPrefix: walk.prefix, from: walk.start) { key, value in
                            inPlace.append((String(decoding: key, as: UTF8.self), Array(value)))
                            return inPlace.count < limit
                        }
                        return (copied, inPlace)
                    }
                    #expect(copied.map(\.0) == inPlace.map(\.0), "\(walk) first \(limit)")
                    #expect(copied.map(\.1) == inPlace.map(\.1), "\(walk) first \(limit)")
                    let expected = Self.keys.filter { $0.hasPrefix(walk.prefix) && !$0.utf8.lexicographicallyPrecedes(walk.start.utf8) }
                        .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.prefix(limit)
                    #expect(inPlace.map(\.0) == Array(expected), "\(walk) first \(limit)")
                }
            }
        }
    }

    @Test("walks inside a walk, and many seeks in one read, each see what a walk alone sees", arguments: Kind.allCases)
    func nestedWalksAndRepeatedSeeks(_ kind: Kind) async throws {
        try await withStorage(kind) { storage in
            var writes: [String: [UInt8]?] = [:]
            for outer in 0..<20 { for inner in 0..<5 { writes["o/\(Key.padded(UInt64(outer)))/\(inner)"] = [UInt8(outer), UInt8(inner)] } }
            try await storage.commit([ReadModelChanges(projection: "nest", writes: writes, checkpoint: ProjectionCheckpoint(version: 1, position: 1))])
            let (outerKeys, innerValues, seeks) = try storage.read("nest") { (reader) throws(EventStoreError) in
                var outerKeys: [String] = [], innerValues: [[UInt8]] = [], seeks: [[UInt8]] = []
                // Every key of the outer walk starts an inner walk of its own group.
                try reader.forEachInPlace(keyPrefix: "o/", from: "o/") { key, _ in
                    let text = String(decoding: key, as: UTF8.self)
                    outerKeys.append(text)
                    let group = String(text.prefix(while: { $0 != "/" } ) + "/" + text.dropFirst(2).prefix(while: { $0 != "/" }) + "/")
                    try? reader.forEachInPlace(keyPrefix: group, from: group + "4") { _, value in
                        innerValues.append(Array(value))
                        return false
                    }
                    return true
                }
                // One seek per group, last first, in one read.
                for outer in (0..<20).reversed() {
                    try reader.forEachInPlace(keyPrefix: "o/\(Key.padded(UInt64(outer)))/", from: "o/\(Key.padded(UInt64(outer)))/2") { _, value in
                        seeks.append(Array(value))
                        return false
                    }
                }
                return (outerKeys, innerValues, seeks)
            }
            #expect(outerKeys == writes.keys.sorted())
            #expect(innerValues == (0..<20).flatMap { outer in Array(repeating: [UInt8(outer), 4], count: 5) })
            #expect(seeks == (0..<20).reversed().map { [UInt8($0), 2] })
        }
    }

    @Test("a range walk in place visits exactly the range, like the copying one", arguments: Kind.allCases)
    func rangeWalks(_ kind: Kind) async throws {
        try await withStorage(kind) { storage in
            var writes: [String: [UInt8]?] = [:]
            for number in UInt64(0)...300 where number % 3 != 1 {
                writes["n/\(Key.padded(number))"] = Array("\(number)".utf8)
                writes["n/\(Key.padded(number))/more"] = [2]
            }
            writes["n/\(Key.padded(UInt64.max))"] = [3]
            writes["n/12"] = [6]  // shorter than a number: before every number from 12 on
            writes["m/\(Key.padded(50))"] = [4]
            writes["o/\(Key.padded(50))"] = [5]
            try await storage.commit([ReadModelChanges(projection: "p", writes: writes, checkpoint: ProjectionCheckpoint(version: 1, position: 1))])
            let ranges: [ClosedRange<UInt64>] = [0...0, 0...9, 1...1, 7...123, 99...100, 120...135, 200...UInt64.max, 0...UInt64.max]
            for range in ranges {
                let (copied, inPlace) = try storage.read("p") { (reader) throws(EventStoreError) in
                    var copied: [String] = [], inPlace: [String] = []
                    try reader.forEach(base: "n/", in: range) { key, value in
                        copied.append("\(key)=\(value)")
                        return true
                    }
                    try reader.forEachInPlace(base: "n/", in: range) { key, value in
                        inPlace.append("\(String(decoding: key, as: UTF8.self))=\(Array(value))")
                        return true
                    }
                    return (copied, inPlace)
                }
                let expected = writes.filter {
                    guard $0.key.hasPrefix("n/") else { return false }
                    let digits = $0.key.dropFirst(2).prefix(Key.width)
                    guard let number = UInt64(digits) else { return false }
                    // A key too short to hold a number sorts before the numbers it is a prefix of.
                    return digits.count == Key.width ? range.contains(number) : Key.padded(range.lowerBound) <= $0.key.dropFirst(2)
                        && $0.key.dropFirst(2) <= Key.padded(range.upperBound)
                }.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { "\($0.key)=\($0.value!)" }
                #expect(copied == expected, "\(range)")
                #expect(inPlace == expected, "\(range)")
            }
        }
    }

    @Test("a damaged audit entry met on an in-place walk is a typed error naming its key, never a crash", arguments: Kind.allCases)
    func damagedEntries(_ kind: Kind) async throws {
        let entry = AuditEntry(
            position: 7, eventID: EventID(), streamID: "deal-42", recordedAt: day(1), occurredAt: day(0.5), actor: anna,
            entityKind: "deal", entityID: "42", action: "DealAmountChanged",
            changes: [FieldChange(field: "amount", oldValue: "12000", newValue: "{\"amount\":13000,\"currency\":\"EUR\"}")],
            channel: .api, correlationID: UUID(), causationID: nil)
        let bytes = entry.compactBytes
        let key = "actor/\(Key.component(anna.id))/\(Key.position(entry.position))"
        let audit = AuditTrail()
        try await withStorage(kind) { storage in
            // Whole, the entry reads back equal.
            try await storage.commit([ReadModelChanges(projection: audit.name, writes: [key: bytes], checkpoint: ProjectionCheckpoint(version: audit.version, position: 7))])
            #expect(try audit.entries(.actor(anna.id), in: storage).items == [entry])
            for value in [Array(bytes.prefix(1)), Array(bytes.prefix(bytes.count / 2)), Array(bytes.dropLast()), bytes + [0], [CompactWriter.marker, 0xFF]] {
                try await storage.commit([ReadModelChanges(projection: audit.name, writes: [key: value], checkpoint: ProjectionCheckpoint(version: audit.version, position: 7))])
                let error = #expect(throws: ProjectionQueryError.self) {
                    try audit.entries(AuditQuery(.actor(anna.id), positions: 1...7), in: storage)
                }
                guard case .corruptValue(let damaged, _)? = error else {
                    Issue.record("\(value.count) bytes: \(String(describing: error))")
                    continue
                }
                #expect(damaged == key)
            }
        }
    }
}
