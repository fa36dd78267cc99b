import Foundation
@testable import RapportEventLog
import Testing

/// The library's UUID parser and printer must read exactly what Foundation's
/// `UUID(uuidString:)` reads, with the same value, and print what
/// `uuidString.lowercased()` prints.
@Suite struct UUIDTextTests {
    func randomUUID(_ random: inout SplitMix64) -> UUID {
        let a = random.next(), b = random.next()
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { out in
            out.storeBytes(of: a, as: UInt64.self)
            out.storeBytes(of: b, toByteOffset: 8, as: UInt64.self)
        }
        return UUID(uuid: bytes)
    }

    @Test func randomUUIDsRoundTripInEveryCase() {
        var random = SplitMix64(seed: 42)
        for round in 0..<5_000 {
            let uuid = randomUUID(&random)
            let lower = uuid.uuidString.lowercased()
            #expect(uuid.lowercasedText == lower)
            let mixed = String(lower.enumerated().map { index, character in
                (index + round) % 3 == 0 ? Character(character.uppercased()) : character
            })
            for text in [lower, uuid.uuidString, mixed] {
                #expect(UUID(text: text) == uuid, "\(text)")
                #expect(UUID(text: text) == UUID(uuidString: text), "\(text)")
            }
        }
    }

    @Test func byteOrderIsTextOrder() {
        var random = SplitMix64(seed: 7)
        for round in 0..<5_000 {
            let a = randomUUID(&random)
            // Every fourth pair shares its first half, so the second half decides.
            var b = randomUUID(&random)
            if round % 4 == 0 {
                var bytes = a.uuid
                withUnsafeMutableBytes(of: &bytes) { out in out.storeBytes(of: random.next(), toByteOffset: 8, as: UInt64.self) }
                b = UUID(uuid: bytes)
            }
            #expect(a.precedes(b) == (a.lowercasedText < b.lowercasedText), "\(a) \(b)")
            #expect(b.precedes(a) == (b.lowercasedText < a.lowercasedText), "\(a) \(b)")
            #expect(!a.precedes(a))
            #expect((EventID(a) < EventID(b)) == (a.lowercasedText < b.lowercasedText))
        }
    }

    @Test func otherTextsAreJudgedByFoundation() {
        let texts = [
            "", "0", "not a uuid", "0193a5b2-7c41-7d3e-8f00-1234567890a", "0193a5b2-7c41-7d3e-8f00-1234567890abc",
            "0193a5b27c417d3e8f001234567890ab", "0193a5b2_7c41-7d3e-8f00-1234567890ab", "0193a5b2-7c41-7d3e-8f00-1234567890ag",
            "{0193a5b2-7c41-7d3e-8f00-1234567890ab}", " 0193a5b2-7c41-7d3e-8f00-1234567890ab", "0193a5b2-7c41-7d3e-8f00-1234567890ab ",
            "0193a5b2-7c41-7d3e-8f0-01234567890ab", "+193a5b2-7c41-7d3e-8f00-1234567890ab", "0x93a5b2-7c41-7d3e-8f00-1234567890ab",
            "0193a5b2-7c41-7d3e-8f00-12345678９0ab", "00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
        ]
        for text in texts {
            #expect(UUID(text: text) == UUID(uuidString: text), "\(text)")
        }
        #expect(UUID(text: "not a uuid") == nil)
        #expect(UUID(text: "00000000-0000-0000-0000-000000000000")?.lowercasedText == "00000000-0000-0000-0000-000000000000")
    }

    struct Holder: Decodable {
        let id: EventID
    }

    @Test func decodingFailsAsFoundationDoes() throws {
        let good = try JSONDecoder().decode(Holder.self, from: Data(#"{"id":"0193A5B2-7C41-7D3E-8F00-1234567890AB"}"#.utf8))
        #expect(good.id.description == "0193a5b2-7c41-7d3e-8f00-1234567890ab")
        for bad in [#"{"id":"nope"}"#, #"{"id":12}"#, #"{"id":null}"#] {
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(Holder.self, from: Data(bad.utf8)) }
        }
        do {
            _ = try JSONDecoder().decode(Holder.self, from: Data(#"{"id":"nope"}"#.utf8))
        } catch DecodingError.dataCorrupted(let context) {
            #expect(context.debugDescription == "Attempted to decode UUID from invalid UUID string.")
            #expect(context.codingPath.map(\.stringValue) == ["id"])
        }
    }
}

/// A decoder that keeps UUIDs as UUIDs (as a binary format might): a text
/// request is a type mismatch, a UUID request is answered.
private struct NativeUUIDDecoder: Decoder, SingleValueDecodingContainer {
    let uuid: UUID
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        throw DecodingError.typeMismatch([String: Any].self, .init(codingPath: [], debugDescription: "a single value"))
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [], debugDescription: "a single value"))
    }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { false }
    func decode(_ type: String.Type) throws -> String {
        throw DecodingError.typeMismatch(String.self, .init(codingPath: [], debugDescription: "a UUID, not text"))
    }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if let uuid = uuid as? T { return uuid }
        throw DecodingError.typeMismatch(T.self, .init(codingPath: [], debugDescription: "only a UUID"))
    }
}

extension UUIDTextTests {
    @Test func aCoderThatKeepsUUIDsNativelyStillDecodesIds() throws {
        let uuid = UUID()
        #expect(try EventID(from: NativeUUIDDecoder(uuid: uuid)).uuid == uuid)
    }
}
