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

    @Test func stringKeysCompareByTheirUTF8Bytes() {
        let keys = ["", "a", "a/", "a/b", "a0", "timeline/x/0001", "timeline/x/0002", "é", "e\u{301}", "z", "🎉", "\u{7F}", "A"]
        for a in keys {
            for b in keys {
                #expect(LMDBEventStore.precedes(a, b) == Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8)), "\(a) \(b)")
            }
        }
    }
}
