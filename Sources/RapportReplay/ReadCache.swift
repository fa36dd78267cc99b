import Synchronization

/// The values one projection read from committed storage during one
/// catch-up (absent keys included), kept up to date with the writes of the
/// batches applied after the read, so a key read again is answered from
/// memory. On PostgreSQL a read is a round trip: a rebuild reads the same
/// company, contact or deal for many events.
///
/// Sound because every batch is committed only onto the checkpoint the
/// runner committed last (``ReadModelChanges/condition``): while its commits
/// succeed, nobody else wrote the projection's keys, so what it read, with
/// its own later writes over it, is the read model as of its last applied
/// batch, which is what the next batch must see. When another runner
/// commits first, the catch-up starts again with a new cache. The cache
/// lives for one pass of ``ProjectionRunner/catchUp(upTo:progress:)``.
/// Its size is bounded: when the keys and values it holds pass `capacity`
/// bytes, it forgets everything and starts again (the next reads go to
/// storage).
final class ReadCache: Sendable {
    private struct State {
        var values: [String: [UInt8]?] = [:]
        var bytes = 0
    }

    private let state = Mutex(State())
    /// The most bytes of keys and values held (with a fixed cost per entry).
    let capacity: Int

    /// The default capacity: 16 MiB per projection.
    static let defaultCapacity = 16 << 20

    init(capacity: Int = ReadCache.defaultCapacity) { self.capacity = capacity }

    /// What the cache knows of `key`: nil when it does not know it;
    /// `.some(nil)` when the key is known to be absent.
    func value(forKey key: String) -> [UInt8]?? {
        state.withLock { $0.values[key] }
    }

    /// Remembers what storage answered for `key`.
    func remember(_ value: [UInt8]?, forKey key: String) {
        state.withLock { state in
            let cost = Self.cost(key, value)
            if state.bytes + cost > capacity {
                state.values.removeAll(keepingCapacity: true)
                state.bytes = 0
                guard cost <= capacity else { return }
            }
            if let old = state.values.updateValue(value, forKey: key) { state.bytes -= Self.cost(key, old) }
            state.bytes += cost
        }
    }

    /// Applies a batch's writes to the keys the cache holds (a key it does
    /// not hold is read from storage, or the batch's own writes, when needed).
    func apply(_ writes: [String: [UInt8]?]) {
        state.withLock { state in
            guard !state.values.isEmpty, !writes.isEmpty else { return }
            // Whichever is smaller is walked; the other is looked up.
            var changed: [(String, [UInt8]?)] = []
            if writes.count <= state.values.count {
                for (key, value) in writes where state.values[key] != nil { changed.append((key, value)) }
            } else {
                for key in state.values.keys { if let value = writes[key] { changed.append((key, value)) } }
            }
            for (key, value) in changed {
                let old = state.values.updateValue(value, forKey: key)!
                state.bytes += Self.cost(key, value) - Self.cost(key, old)
            }
            if state.bytes > capacity {
                state.values.removeAll(keepingCapacity: true)
                state.bytes = 0
            }
        }
    }

    /// How many keys it holds (for tests).
    var count: Int { state.withLock { $0.values.count } }

    private static func cost(_ key: String, _ value: [UInt8]?) -> Int { key.utf8.count + (value?.count ?? 0) + 64 }
}
