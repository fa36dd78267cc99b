import Foundation
import RapportEventLog
@testable import RapportLMDB
import Testing

@Suite("Stored heads (format 3)")
struct StoredHeadTests {
    /// The heads a stream goes through when its events land at `positions`.
    func heads(at positions: [UInt64]) -> [Head] {
        var head = Head()
        return positions.map { position in
            _ = head.append(position: position)
            return head
        }
    }

    @Test func everyHeadComesBackAsItWasStored() throws {
        var generator = SplitMix64(seed: 42)
        var position: UInt64 = 0
        // Gaps from 1 to about a million positions, as streams in a busy log see.
        let positions = (0..<1_500).map { index -> UInt64 in
            position += 1 + generator.next() % (index % 3 == 0 ? 10 : 1_000_000)
            return position
        }
        for head in heads(at: positions) + heads(at: Array(1...300)) + [Head()] {
            let bytes = StoredHead.encoded(head)
            #expect(bytes.count == StoredHead.encodedCount(of: head))
            let decoded = bytes.withUnsafeBytes { StoredHead.decode($0) }
            #expect(decoded == head)
        }
    }

    @Test func aHeadTakesAFractionOfTheFixedForm() {
        // Stream 7 of 10,000 streams written round robin: 100 events, 10,000 positions apart.
        let head = heads(at: (0..<100).map { 7 + 10_000 * $0 }).last!
        #expect(head.encodedCount == 64)
        #expect(StoredHead.encodedCount(of: head) <= 20)
    }

    @Test func malformedBytesAreNotAHead() {
        func decode(_ bytes: [UInt8]) -> Head? { bytes.withUnsafeBytes { StoredHead.decode($0) } }
        #expect(decode([]) == nil)                    // no count
        #expect(decode([0x85]) == nil)                // a count that never ends
        #expect(decode([0x80, 0x00]) == nil)          // an overlong zero
        #expect(decode([0x01]) == nil)                // one event, no ladder entry
        #expect(decode([0x01, 0x05, 0x00]) == nil)    // a byte left over
        #expect(decode([0x01, 0x00]) == nil)          // a zero position
        #expect(decode([0x02, 0x05, 0x05]) == nil)    // a gap as large as the entry before it
        #expect(decode([0x03, 0x05, 0x03]) == Head(count: 3, ladder: [5, 2]))
        #expect(decode([0x00]) == Head())
        #expect(decode([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]) == nil)  // more than 64 bits
        // More events than the last one's position: 6 events, the last at 5 (entries 5, 4, 3).
        #expect(decode([0x06, 0x05, 0x01, 0x01]) == nil)
        #expect(decode([0x05, 0x05, 0x01, 0x01]) == Head(count: 5, ladder: [5, 4, 3]))
        // The count UInt64.max (no next event could be numbered), its 64 entries all 1: refused, not a trap at the next append.
        #expect(decode([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01] + [UInt8](repeating: 0, count: 63)) == nil)
    }
}
