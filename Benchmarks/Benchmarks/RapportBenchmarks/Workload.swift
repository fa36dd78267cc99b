import Foundation
import RapportEventLog

/// The shapes of the micro workloads, from `shared/WORKLOAD.md`.
enum Workload {
    /// All randomness of every workload comes from this seed.
    static let seed: UInt64 = 42
    /// Payload size of W1 and W2, in bytes.
    static let payloadSize = 256
    /// W1: events in the store.
    static let bulkEvents = 1_000_000
    /// W1: events per append call (and per raw transaction).
    static let bulkBatchSize = 1_000
    /// W1: events are spread round-robin over `contact-0` … `contact-9999`.
    static let streamCount = 10_000
    /// W2: appends of one event each.
    static let singleAppends = 20_000
    /// W2: concurrent writers of the second run.
    static let concurrentWriters = 8
    /// W4: reads of one whole stream.
    static let streamReads = 10_000
    /// W4: events per stream in W1's store.
    static var eventsPerStream: Int { bulkEvents / streamCount }

    static let eventType = "ContactNoteAdded"
    static let metadata = EventMetadata(actor: Principal(id: "user:anna", role: .salesRep), channel: .api)

    /// `contact-0` … `contact-9999`, made once.
    static let streams: [StreamID] = (0..<streamCount).map { try! StreamID("contact-\($0)") }
}

/// The benchmarks draw every byte from the kernel's ``SplitMix64`` seeded
/// with ``Workload/seed``, so every run and every implementation sees the same bytes.
extension SplitMix64 {
    /// The workloads' generator.
    init() { self.init(seed: Workload.seed) }

    /// Fills `buffer` with the next bytes of the sequence (little-endian words).
    mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count % 8 == 0)
        for offset in stride(from: 0, to: buffer.count, by: 8) {
            buffer.storeBytes(of: next().littleEndian, toByteOffset: offset, as: UInt64.self)
        }
    }

    /// A number in `0..<bound` (the modulo bias is below 1e-15 for the bounds used here).
    mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// The payloads of a workload, in order: payload `n` is bytes
/// `n * 256 ..< (n + 1) * 256` of the SplitMix64(42) sequence, for Rapport and
/// raw LMDB alike.
final class PayloadSource {
    private var generator = SplitMix64()
    /// The payloads of the current batch, back to back.
    private(set) var buffer: UnsafeMutableRawBufferPointer

    init(batchSize: Int) {
        buffer = .allocate(byteCount: batchSize * Workload.payloadSize, alignment: 8)
    }

    deinit { buffer.deallocate() }

    /// Generates the next `buffer.count / 256` payloads.
    func nextBatch() { generator.fill(buffer) }

    /// Payload `index` of the current batch.
    func payload(_ index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer[(index * Workload.payloadSize)..<((index + 1) * Workload.payloadSize)])
    }
}

extension Workload {
    /// The append request of W1's batch `batch`: event `n = batch * 1000 + i`
    /// goes to stream `contact-(n % 10000)`, so one request holds 1,000
    /// different streams with one event each.
    static func bulkRequest(batch: Int, payloads: PayloadSource) -> AppendRequest {
        var parts: [StreamAppend] = []
        parts.reserveCapacity(bulkBatchSize)
        for i in 0..<bulkBatchSize {
            let n = batch * bulkBatchSize + i
            let event = NewEvent(type: eventType, metadata: metadata, payload: Data(payloads.payload(i)))
            parts.append(StreamAppend(streamID: streams[n % streamCount], expectedVersion: .any, events: [event]))
        }
        return AppendRequest(parts)
    }

    /// One event with payload `index` of the current batch.
    static func singleEvent(_ index: Int, payloads: PayloadSource) -> NewEvent {
        NewEvent(type: eventType, metadata: metadata, payload: Data(payloads.payload(index)))
    }
}
