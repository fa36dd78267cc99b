@testable import RapportLMDB
import RapportEventLog
import Testing

/// Read-model commits sort their keys the way LMDB compares them.
@Suite struct KeyOrderTests {
    @Test func precedesIsByteOrderWithTheShorterKeyFirst() {
        var random = SplitMix64(seed: 42)
        var keys: [[UInt8]] = [[0], [0, 0], [0, 1], [1], [0xFF], [0xFF, 0]]
        for _ in 0..<500 {
            let count = 1 + Int(random.next() % 6)
            keys.append((0..<count).map { _ in UInt8([0, 1, 0x7F, 0x80, 0xFF][Int(random.next() % 5)]) })
        }
        for a in keys {
            for b in keys.prefix(60) {
                #expect(LMDBEventStore.precedes(a, b) == a.lexicographicallyPrecedes(b), "\(a) \(b)")
            }
        }
    }

    @Test func aCommitsStringKeysComeInTheOrderOfTheirUTF8Bytes() {
        let keys = ["", "a", "a/", "a/b", "a0", "timeline/x/0001", "timeline/x/0002", "é", "e\u{301}", "z", "🎉", "\u{7F}", "A"]
        var writes: [String: [UInt8]?] = [:]
        for (index, key) in keys.enumerated() { writes[key] = .some(index % 3 == 0 ? nil : [UInt8(index)]) }  // nil: a deletion
        let sorted = LMDBEventStore.SortedWrites(ReadModelChanges(projection: "p", writes: writes, checkpoint: ProjectionCheckpoint(version: 1, position: 1)))
        var seen: [(key: [UInt8], value: [UInt8]?)] = []
        sorted.forEach { key, value in seen.append((Array(key), value)) }
        // Each key once, with its own value, in byte order ("é" and "e\u{301}" are one String key, the first one's bytes).
        #expect(seen.map(\.key) == writes.keys.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(seen.count == keys.count - 1)
        for (key, value) in seen {
            let text = String(decoding: key, as: UTF8.self)
            #expect(writes[text] == .some(value), "\(text)")
        }
        for a in seen.map(\.key) {
            for b in seen.map(\.key) {
                #expect(LMDBEventStore.precedes(a, b) == a.lexicographicallyPrecedes(b), "\(a) \(b)")
            }
        }
    }
}
