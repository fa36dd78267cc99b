import Foundation
@testable import RapportEventLog
import Testing

@Suite("Record format")
struct RecordFormatTests {
    let event = NewEvent(
        type: "ContactCreated", schemaVersion: 2, occurredAt: Date(timeIntervalSince1970: 1_000),
        metadata: EventMetadata(actor: Principal(id: "user:anna", role: .salesRep), channel: .phone, correlationID: UUID()),
        tags: [try! Tag("contact:1"), try! Tag("owner:anna")], payload: Data("{\"name\":\"Ada\"}".utf8))

    func encode(position: UInt64 = 7, previous: [UInt8] = RecordFormat.genesisChainHash) -> [UInt8] {
        let stream = try! StreamID("contact-1")
        let size = RecordFormat.encodedSize(of: event, in: stream)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            previous.withUnsafeBytes { prev in
                RecordFormat.write(
                    event, in: stream,
                    assigned: .init(position: position, streamVersion: 3, streamPrevious: 5, streamSkip: 2, recordedAt: 42),
                    tagLinks: [.init(previous: 1, skip: 0), .init(previous: 6, skip: 4)],
                    previousChainHash: prev, into: UnsafeMutableRawBufferPointer(buffer))
            }
            count = size
        }
    }

    @Test func headerFieldsReadWithoutDecodingThePayload() throws {
        let bytes = encode()
        try bytes.withUnsafeBytes { raw in
            let view = try RecordView(validating: raw, at: 7)
            #expect(view.position == 7)
            #expect(view.streamVersion == 3)
            #expect(view.previousInStream == 5)
            #expect(view.skipInStream == 2)
            #expect(view.hasType("ContactCreated"))
            #expect(!view.hasType("ContactCreatedX"))
            #expect(view.isInStream(try StreamID("contact-1")))
            #expect(view.tagLink(for: try Tag("owner:anna")) == .init(previous: 6, skip: 4))
            #expect(view.tagLink(for: try Tag("owner:bob")) == nil)
            #expect(String(decoding: view.payload, as: UTF8.self) == "{\"name\":\"Ada\"}")
            let record = view.materialize()
            #expect(record.metadata == event.metadata)
            #expect(record.tags == event.tags)
            #expect(record.schemaVersion == 2)
            #expect(record.occurredAt == event.occurredAt)
            #expect(record.recordedAt == Date(timeIntervalSince1970: 0.000042))
        }
    }

    @Test func everyFlippedByteIsDetected() throws {
        let bytes = encode()
        for index in bytes.indices {
            var damaged = bytes
            damaged[index] ^= 0x01
            _ = damaged.withUnsafeBytes { raw in
                #expect(throws: EventStoreError.self, "byte \(index)") { _ = try RecordView(validating: raw, at: 7) }
            }
        }
    }

    /// A record whose checksum matches (made by another writer, say) but whose
    /// metadata lengths point past their section is refused, never read past its end.
    @Test func metadataLengthsThatDoNotAddUpAreCorruptEvenWithAMatchingChecksum() throws {
        let metadataStart = RecordFormat.headerSize + "contact-1".utf8.count + event.type.utf8.count
        for (field, length) in [(0, UInt16(0x7FFF)), (0, 0), (2, 200), (4, 1)] {
            var bytes = encode()
            // Find the field's length: the actor id's, then the role's, then the channel's.
            var at = metadataStart
            for _ in 0..<(field / 2) { at += 2 + Int(bytes[at]) + Int(bytes[at + 1]) << 8 }
            bytes[at] = UInt8(length & 0xFF)
            bytes[at + 1] = UInt8(length >> 8)
            let crc = bytes.withUnsafeBytes { RecordFormat.checksum(of: $0) }
            withUnsafeBytes(of: crc.littleEndian) { for (index, byte) in $0.enumerated() { bytes[RecordFormat.Offset.checksum + index] = byte } }
            _ = bytes.withUnsafeBytes { raw in
                #expect("field \(field) length \(length)") {
                    _ = try RecordView(validating: raw, at: 7)
                } throws: { error in
                    guard case .corruptedRecord(position: 7, let reason) = error as? EventStoreError else { return false }
                    return reason.contains("metadata")
                }
            }
        }
    }

    /// The reserved bytes are outside the chain hash: changed, with the checksum
    /// made to match, they would pass every other check.
    @Test func reservedBytesThatAreNotZeroAreCorruptEvenWithAMatchingChecksum() {
        for index in 0..<4 {
            var bytes = encode()
            bytes[RecordFormat.Offset.reserved + index] = 0x5A
            let crc = bytes.withUnsafeBytes { RecordFormat.checksum(of: $0) }
            withUnsafeBytes(of: crc.littleEndian) { for (at, byte) in $0.enumerated() { bytes[RecordFormat.Offset.checksum + at] = byte } }
            _ = bytes.withUnsafeBytes { raw in
                #expect(throws: EventStoreError.corruptedRecord(position: 7, reason: "the reserved header bytes are not zero"), "byte \(index)") {
                    _ = try RecordView(validating: raw, at: 7)
                }
            }
        }
    }

    @Test func aRecordAtTheWrongPositionIsCorrupt() {
        let bytes = encode(position: 8)
        _ = bytes.withUnsafeBytes { raw in
            #expect(throws: EventStoreError.corruptedRecord(position: 7, reason: "the record says it is at position 8")) {
                _ = try RecordView(validating: raw, at: 7)
            }
        }
    }

    @Test func theChainHashCoversThePreviousHash() throws {
        let first = encode()
        let other = encode(previous: [UInt8](repeating: 9, count: 32))
        try first.withUnsafeBytes { a in
            try other.withUnsafeBytes { b in
                let viewA = try RecordView(validating: a, at: 7)
                let viewB = try RecordView(validating: b, at: 7)
                #expect(!viewA.chainHashBytes.elementsEqual(viewB.chainHashBytes))
                RecordFormat.genesisChainHash.withUnsafeBytes { genesis in
                    #expect(viewA.chainHashMatches(previous: genesis))
                    #expect(!viewB.chainHashMatches(previous: genesis))
                }
            }
        }
    }

    @Test func crc32cMatchesTheStandardCheckValue() {
        // The CRC-32C check value for "123456789" (RFC 3720, appendix B.4).
        let value = Array("123456789".utf8).withUnsafeBytes { rapportCRC32C($0) }
        #expect(value == 0xE306_9283)
    }

    @Test func generatedIDsIncrease() {
        let ids = (0..<10_000).map { _ in EventID() }
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 })
        #expect(ids.allSatisfy { $0.bytes[6] >> 4 == 7 })
    }

    @Test func errorsSayWhatWentWrong() throws {
        let stream = try StreamID("deal-42")
        #expect(EventStoreError.wrongExpectedVersion(stream: stream, expected: .exactly(3), actual: 5).description
            == "Wrong expected version for stream deal-42: expected version 3, but it is at version 5.")
        #expect(EventStoreError.invalidStreamID("a\u{0}", reason: "x").description == "Invalid stream id \"a\\0\": x.")
    }

    @Test func validatedTextIsCheckedAgainWhenDecoded() throws {
        let decoder = JSONDecoder()
        #expect(try decoder.decode(StreamID.self, from: Data("\"deal-42\"".utf8)) == (try StreamID("deal-42")))
        #expect(throws: DecodingError.self) { try decoder.decode(StreamID.self, from: Data("\"\"".utf8)) }
        #expect(throws: DecodingError.self) { try decoder.decode(RapportEventLog.Tag.self, from: Data("\"a\\u0000b\"".utf8)) }
        #expect(String(decoding: try JSONEncoder().encode(try RapportEventLog.Tag("deal:42")), as: UTF8.self) == "\"deal:42\"")
    }

    @Test func limitsAboveWhatAHeaderHoldsAreHeldToIt() async throws {
        var limits = EventLimits()
        limits.maximumTagsPerEvent = 100_000
        let store = InMemoryEventStore(limits: limits)
        // 65,536 short tags fit the default record size, not the header's 16-bit count.
        let tags = try (0...Int(UInt16.max)).map { try Tag("t:\($0)") }
        let crowded = NewEvent(type: "Crowded", metadata: event.metadata, tags: tags, payload: Data())
        await #expect {
            try await store.append([crowded], to: try StreamID("crowded-1"))
        } throws: { error in
            guard case EventStoreError.invalidEvent(let message) = error else { return false }
            return message.contains("65536 tags; the limit is 65535")
        }
        #expect(try await store.headPosition() == 0, "nothing written")
        let fitting = NewEvent(type: "Crowded", metadata: event.metadata, tags: Array(tags.dropLast()), payload: Data())
        try await store.append([fitting], to: try StreamID("crowded-1"))
        #expect(try await store.readStream(try StreamID("crowded-1"), from: 1, direction: .forward, limit: 1).first?.tags.count == 65_535)
    }
}
