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

@Suite("Metadata names in normalization form C")
struct MetadataNameTests {
    let composed = "user:jos\u{E9}", decomposed = "user:jose\u{301}"

    @Test func principalsRolesChannelsAndTypesKeepTheComposedBytes() throws {
        var principal = Principal(id: decomposed, role: Principal.Role(rawValue: "ge\u{301}rant"))
        #expect(Array(principal.id.utf8) == Array(composed.utf8))
        #expect(Array(principal.role.rawValue.utf8) == Array("g\u{E9}rant".utf8))
        principal.id = "user:zoe\u{308}"
        #expect(Array(principal.id.utf8) == Array("user:zo\u{EB}".utf8), "a changed id too")
        var channel: Channel = "te\u{301}le\u{301}phone"
        #expect(Array(channel.rawValue.utf8) == Array("t\u{E9}l\u{E9}phone".utf8))
        channel.rawValue = "cafe\u{301}"
        #expect(Array(channel.rawValue.utf8) == Array("caf\u{E9}".utf8))
        var event = NewEvent(type: "Cre\u{301}e\u{301}", metadata: EventMetadata(actor: principal, channel: channel), payload: Data())
        #expect(Array(event.type.utf8) == Array("Cr\u{E9}\u{E9}".utf8))
        event.type = "Modifie\u{301}"
        #expect(Array(event.type.utf8) == Array("Modifi\u{E9}".utf8))
    }

    @Test func aDecodedPrincipalKeepsTheComposedBytes() throws {
        let json = Data(#"{"id":"user:jose\u0301","role":"ge\u0301rant"}"#.utf8)
        let principal = try JSONDecoder().decode(Principal.self, from: json)
        #expect(Array(principal.id.utf8) == Array(composed.utf8))
        #expect(Array(principal.role.rawValue.utf8) == Array("g\u{E9}rant".utf8))
        let again = try JSONDecoder().decode(Principal.self, from: try JSONEncoder().encode(principal))
        #expect(again == principal && Array(again.id.utf8) == Array(composed.utf8))
    }

    @Test func filtersHoldTheComposedBytes() {
        var filter = LogFilter(types: ["Cre\u{301}e\u{301}", "Plain"], actors: [decomposed])
        #expect(filter.actors.map { $0.map { Array($0.utf8) } } == [Array(composed.utf8)])
        #expect(Set(filter.types!.map { Array($0.utf8) }) == [Array("Cr\u{E9}\u{E9}".utf8), Array("Plain".utf8)])
        filter.actors = ["user:zoe\u{308}"]
        #expect(filter.actors.map { $0.map { Array($0.utf8) } } == [Array("user:zo\u{EB}".utf8)])
    }
}
