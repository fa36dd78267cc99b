import Foundation
import RapportEventLog
@testable import RapportReplay
import RapportTesting
import Testing

/// Keeps a flag that each event turns on or off (removing the key), and how
/// often it was turned on: a read of a key deleted by an earlier batch must
/// find it absent.
struct Toggle: Projection {
    let name = "toggle"
    let version = 1
    let interest = ProjectionInterest.everything

    func apply(_ event: RecordedEvent, decoded: (any Event)?, to model: inout ReadModelContext) throws {
        if try model.value(forKey: "flag") == nil {
            model.setValue([1], forKey: "flag")
            try model.set((try model.get(Int.self, "on") ?? 0) + 1, "on")
        } else {
            model.remove("flag")
        }
    }
}

@Suite("Projection runner: reads answered from memory")
struct ReadCacheTests {
    @Test("a key read again in a later batch of one catch-up is read from storage once; the read model is that of a clean build")
    func aKeyIsReadFromStorageOncePerCatchUp() async throws {
        let store = InMemoryEventStore()
        try await append(store, count: 20)
        let storage = ReadRecordingStorage(InMemoryReadModelStorage())
        try await ProjectionRunner(log: store, storage: storage, projections: [Tally()], batchSize: 1_000).catchUp()
        try await append(store, count: 60, offset: 20)
        storage.forgetReads()
        // 15 batches of 4 events; each event reads its type's count and its stream's list.
        try await ProjectionRunner(log: store, storage: storage, projections: [Tally()], batchSize: 4).catchUp()
        let keys = storage.keysRead
        #expect(keys.count == Set(keys).count, "read more than once: \(keys)")
        #expect(Set(keys).isSubset(of: ["type/DealOpened", "type/NoteAdded"] + (0..<5).map { "stream/s-\($0)" }))
        let clean = InMemoryReadModelStorage()
        try await ProjectionRunner(log: store, storage: clean, projections: [Tally()], batchSize: 1_000).catchUp()
        #expect(try snapshot(storage, "tally") == snapshot(clean, "tally"))
    }

    @Test("a key written or deleted by a batch is read as the batch left it by every later batch", arguments: [1, 2, 3, 7])
    func laterBatchesSeeEarlierWritesAndDeletes(batchSize: Int) async throws {
        let store = InMemoryEventStore()
        try await append(store, count: 3)
        let storage = ReadRecordingStorage(InMemoryReadModelStorage())
        // Committed state first, so that the cache starts from what storage holds.
        try await ProjectionRunner(log: store, storage: storage, projections: [Toggle()]).catchUp()
        try await append(store, count: 40, offset: 3)
        try await ProjectionRunner(log: store, storage: storage, projections: [Toggle()], batchSize: batchSize).catchUp()
        let model = try snapshot(storage, "toggle")
        #expect(model["flag"] == [1], "43 toggles leave the flag on")
        #expect(model["on"].map { String(decoding: $0, as: UTF8.self) } == "22")
        #expect(Set(storage.keysRead).count == storage.keysRead.count, "each key read from storage at most once")
    }

    @Test("the cache answers what it was told, applies later writes to the keys it holds only, and forgets all past its capacity")
    func theCacheKeepsWhatItIsToldWithinItsCapacity() {
        let cache = ReadCache(capacity: 1_000)
        #expect(cache.value(forKey: "a") == nil, "unknown")
        cache.remember(nil, forKey: "a")
        #expect(cache.value(forKey: "a") == .some(nil), "known to be absent")
        cache.remember([1, 2], forKey: "b")
        #expect(cache.value(forKey: "b") == .some([1, 2]))
        // Fewer writes than keys held, then more: both ways of matching them.
        cache.apply(["a": [7]])
        #expect(cache.value(forKey: "a") == .some([7]))
        cache.apply(["b": nil, "c": [3], "d": [4]])
        #expect(cache.value(forKey: "b") == .some(nil), "deleted by a batch")
        #expect(cache.value(forKey: "c") == nil, "a key it did not hold is not added")
        #expect(cache.count == 2)
        // A value that alone exceeds the capacity is not kept; passing the capacity starts afresh.
        cache.remember(Array(repeating: 0, count: 2_000), forKey: "huge")
        #expect(cache.value(forKey: "huge") == nil)
        for index in 0..<20 { cache.remember(Array(repeating: 1, count: 40), forKey: "k\(index)") }
        #expect(cache.count < 20, "forgot everything once past 1,000 bytes")
        #expect(cache.value(forKey: "k19") == .some(Array(repeating: 1, count: 40)), "the newest is kept")
        cache.apply(Dictionary(uniqueKeysWithValues: (0..<20).map { ("k\($0)", Optional(Array(repeating: UInt8(2), count: 600))) }))
        #expect(cache.count == 0, "writes that grow the cache past its capacity empty it")
    }
}
