import Foundation
import RapportEventLog
import Testing

/// Stream ids and tags are kept in Unicode normalization form C, so that
/// Swift's equality (canonical equivalence) and the stores' (bytes) agree.
@Suite("Stream ids and tags")
struct NameTests {
    @Test func spellingsSwiftConsidersEqualAreStoredAsTheSameBytes() throws {
        let composed = try StreamID("caf\u{E9}-1"), decomposed = try StreamID("cafe\u{301}-1")
        #expect(composed == decomposed)
        #expect(Array(decomposed.rawValue.utf8) == Array("caf\u{E9}-1".utf8))
        let tagComposed = try Tag("caf\u{E9}:1"), tagDecomposed = try Tag("cafe\u{301}:1")
        #expect(Array(tagDecomposed.rawValue.utf8) == Array(tagComposed.rawValue.utf8))
        // Hangul syllables written as jamo compose too; ASCII is left as it is.
        #expect(Array(try StreamID("\u{1100}\u{1161}-2").rawValue.utf8) == Array("\u{AC00}-2".utf8))
        #expect(try StreamID("deal-42").rawValue == "deal-42")
    }

    @Test func theLengthLimitAppliesToTheNormalizedName() throws {
        // 127 decomposed é are 381 bytes, and 254 bytes once composed: within the limit.
        let long = String(repeating: "e\u{301}", count: 127)
        #expect(Array(long.utf8).count > StreamID.maximumLength)
        #expect(try StreamID(long).rawValue.utf8.count == 254)
        #expect(throws: EventStoreError.self) { try StreamID(String(repeating: "\u{E9}", count: 128)) }
        #expect(throws: EventStoreError.self) { try Tag(String(repeating: "\u{E9}", count: 128)) }
    }
}
