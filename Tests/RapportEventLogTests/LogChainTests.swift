import Foundation
@testable import RapportEventLog
import Testing

/// `LogChain`, the check every backend's verification and import share.
@Suite("Log chain")
struct LogChainTests {
    let event = NewEvent(
        type: "NoteAdded", metadata: EventMetadata(actor: Principal(id: "user:anna", role: .salesRep), channel: .api),
        payload: Data("{}".utf8))

    /// Records of one stream, each sound on its own and chained to the one
    /// before, recorded at the given microseconds.
    func records(recordedAt times: [Int64]) throws -> [[UInt8]] {
        let stream = try StreamID("note-1")
        var head = Head()
        var previous = RecordFormat.genesisChainHash
        var records: [[UInt8]] = []
        for (index, time) in times.enumerated() {
            let position = UInt64(index + 1)
            let links = head.append(position: position)
            let size = RecordFormat.encodedSize(of: event, in: stream)
            let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                previous.withUnsafeBytes { prev in
                    RecordFormat.write(
                        event, in: stream,
                        assigned: .init(position: position, streamVersion: position, streamPrevious: links.previous, streamSkip: links.skip, recordedAt: time),
                        tagLinks: [], previousChainHash: prev, into: UnsafeMutableRawBufferPointer(buffer))
                }
                count = size
            }
            previous = try bytes.withUnsafeBytes { Array(try RecordView(validating: $0, at: LogPosition(position)).chainHashBytes) }
            records.append(bytes)
        }
        return records
    }

    /// What `LogChain` says of each record, in order (nil: it continues the log).
    func follow(_ records: [[UInt8]]) throws -> [String?] {
        var chain = LogChain()
        return try records.enumerated().map { index, bytes in
            try bytes.withUnsafeBytes { chain.follow(try RecordView(validating: $0, at: LogPosition(UInt64(index + 1)))) }
        }
    }

    @Test func equalAndLaterRecordedAtTimesContinueTheLog() throws {
        #expect(try follow(try records(recordedAt: [100, 100, 101, 5_000])) == [nil, nil, nil, nil])
    }

    /// `position(asOf:)` is a binary search over recorded-at times: a log whose
    /// times go back would answer it wrongly, so verification and import refuse it.
    @Test func aRecordedAtEarlierThanTheRecordBeforeIsAProblem() throws {
        let said = try follow(try records(recordedAt: [100, 200, 199]))
        #expect(said[0] == nil && said[1] == nil)
        #expect(said[2] == "recorded at 199 µs since 1970, before the record before it (200 µs): recorded-at times never decrease")
    }
}
