public import RapportEventLog

/// A read-model storage handed to ``ReadModelStorageSuite``, with what the
/// suite needs to reopen it and to clean up.
///
/// ```swift
/// ReadModelStorageUnderTest(
///     storage: try LMDBEventStore(path: dir),
///     reopen: { try LMDBEventStore(path: dir) },
///     close: { await ($0 as! LMDBEventStore).close() },
///     destroy: { try? FileManager.default.removeItem(atPath: dir) })
/// ```
public struct ReadModelStorageUnderTest: Sendable {
    /// A new, empty storage.
    public var storage: any ReadModelStorage
    /// Opens the same storage again after ``close``; nil for storage that
    /// keeps nothing once closed (in memory).
    public var reopen: (@Sendable () async throws -> any ReadModelStorage)?
    /// Closes a storage the suite is done with (the first or a reopened one).
    public var close: @Sendable (any ReadModelStorage) async -> Void
    /// Removes what the storage left behind. Called once the check is over.
    public var destroy: @Sendable () async -> Void

    public init(
        storage: any ReadModelStorage, reopen: (@Sendable () async throws -> any ReadModelStorage)? = nil,
        close: @escaping @Sendable (any ReadModelStorage) async -> Void = { _ in },
        destroy: @escaping @Sendable () async -> Void = {}
    ) {
        self.storage = storage
        self.reopen = reopen
        self.close = close
        self.destroy = destroy
    }
}

/// The behaviour every ``ReadModelStorage`` promises, written once and run
/// against each backend (in memory, LMDB, PostgreSQL, or yours): checkpoints,
/// writes and deletes committed together, prefix walks in UTF-8 byte order,
/// projections kept apart, resets, and values stored byte for byte.
///
/// ```swift
/// let suite = ReadModelStorageSuite { ReadModelStorageUnderTest(storage: InMemoryReadModelStorage()) }
///
/// @Test(arguments: ReadModelStorageSuite.checkNames)
/// func readModels(_ check: String) async throws {
///     try await suite.run(check)
/// }
/// ```
public struct ReadModelStorageSuite: Sendable {
    /// Makes a new, empty storage for one check.
    public let makeStorage: @Sendable () async throws -> ReadModelStorageUnderTest

    /// Creates a suite over storages made by `makeStorage`.
    public init(makeStorage: @escaping @Sendable () async throws -> ReadModelStorageUnderTest) {
        self.makeStorage = makeStorage
    }

    /// The names of every check, in a stable order.
    public static var checkNames: [String] { checks.map(\.name) }

    /// Runs the check called `name` on a new storage.
    ///
    /// - Throws: ``ConformanceFailure`` when the storage does not behave as
    ///   promised, or the error the storage threw where none was expected.
    public func run(_ name: String) async throws {
        try await runCheck(name, of: Self.checks) { ReadModelCheckContext(name: name, subject: try await makeStorage()) }
    }

    typealias Check = NamedCheck<ReadModelCheckContext>

    static let checks: [Check] = [
        Check(name: "a projection never committed has no checkpoint and no keys") { c in
            try c.expect(try c.storage.checkpoint(of: "never") == nil, "checkpoint of a projection never committed")
            try c.expectEqual(try c.value("never", "a"), nil, "value of a missing key")
            try c.expectEqual(try c.keys("never", ""), [], "keys of a projection never committed")
        },

        Check(name: "a commit stores the writes and the checkpoint together") { c in
            try await c.storage.commit([ReadModelChanges(
                projection: "p", writes: ["a": [1], "b": [2, 2]], checkpoint: ProjectionCheckpoint(version: 3, position: 10))])
            try c.expectEqual(try c.storage.checkpoint(of: "p"), ProjectionCheckpoint(version: 3, position: 10), "checkpoint")
            try c.expectEqual(try c.value("p", "a"), [1], "value of a")
            try c.expectEqual(try c.value("p", "b"), [2, 2], "value of b")
            try await c.storage.commit([ReadModelChanges(
                projection: "p", writes: ["a": nil, "b": [3], "c": [4]], checkpoint: ProjectionCheckpoint(version: 3, position: 20))])
            try c.expectEqual(try c.storage.checkpoint(of: "p"), ProjectionCheckpoint(version: 3, position: 20), "checkpoint after the second commit")
            try c.expectEqual(try c.value("p", "a"), nil, "a deleted by nil")
            try c.expectEqual(try c.value("p", "b"), [3], "b overwritten")
            try c.expectEqual(try c.keys("p", ""), ["b", "c"], "keys after the second commit")
            // Deleting a key that is not there is no error; a commit without writes moves the checkpoint.
            try await c.storage.commit([ReadModelChanges(
                projection: "p", writes: ["missing": nil], checkpoint: ProjectionCheckpoint(version: 3, position: 25))])
            try c.expectEqual(try c.storage.checkpoint(of: "p")?.position, 25, "checkpoint after a commit that deleted nothing")
            try c.expectEqual(try c.keys("p", ""), ["b", "c"], "keys after deleting a missing key")
        },

        Check(name: "a reader sees the checkpoint of the state it reads, its own projection's") { c in
            try await c.storage.commit([
                ReadModelChanges(projection: "p", writes: ["a": [1]], checkpoint: ProjectionCheckpoint(version: 2, position: 10)),
                ReadModelChanges(projection: "q", writes: ["a": [7]], checkpoint: ProjectionCheckpoint(version: 5, position: 3)),
            ])
            let (checkpoint, value) = try c.storage.read("p") { (reader) throws(EventStoreError) in (try reader.checkpoint(), try reader.value(forKey: "a")) }
            try c.expectEqual(checkpoint, ProjectionCheckpoint(version: 2, position: 10), "the checkpoint a reader of p sees")
            try c.expectEqual(value, [1], "the value that reader sees")
            let other = try c.storage.read("q") { (reader) throws(EventStoreError) -> ProjectionCheckpoint? in try reader.checkpoint() }
            try c.expectEqual(other, ProjectionCheckpoint(version: 5, position: 3), "the checkpoint a reader of q sees")
            let none = try c.storage.read("never") { (reader) throws(EventStoreError) -> ProjectionCheckpoint? in try reader.checkpoint() }
            try c.expect(none == nil, "the checkpoint a reader of a projection never committed sees")
            // A rebuild's first commit: the reader sees its checkpoint with its keys, nothing of before.
            try await c.storage.commit([ReadModelChanges(
                projection: "p", resetFirst: true, writes: ["b": [2]], checkpoint: ProjectionCheckpoint(version: 3, position: 4))])
            let (rebuilt, keys) = try c.storage.read("p") { (reader) throws(EventStoreError) in
                var keys: [String] = []
                try reader.forEach(keyPrefix: "") { key, _ in keys.append(key); return true }
                return (try reader.checkpoint(), keys)
            }
            try c.expectEqual(rebuilt, ProjectionCheckpoint(version: 3, position: 4), "the checkpoint after a reset")
            try c.expectEqual(keys, ["b"], "the keys after a reset")
        },

        Check(name: "keys are their UTF-8 bytes: two spellings of one character are two keys") { c in
            let composed = "k/\u{E9}", decomposed = "k/e\u{301}"  // "é" in one scalar, then as "e" and an accent
            try await c.storage.commit([ReadModelChanges(projection: "p", writes: [composed: [1]], checkpoint: ProjectionCheckpoint(version: 1, position: 1))])
            try await c.storage.commit([ReadModelChanges(projection: "p", writes: [decomposed: [2]], checkpoint: ProjectionCheckpoint(version: 1, position: 2))])
            try c.expectEqual(try c.value("p", composed), [1], "the value under the composed key")
            try c.expectEqual(try c.value("p", decomposed), [2], "the value under the decomposed key")
            try c.expectEqual(try c.keys("p", "k/").map { Array($0.utf8) }, [Array(decomposed.utf8), Array(composed.utf8)], "both keys, in byte order")
            try await c.storage.commit([ReadModelChanges(projection: "p", writes: [composed: nil], checkpoint: ProjectionCheckpoint(version: 1, position: 3))])
            try c.expectEqual(try c.value("p", decomposed), [2], "the decomposed key after the composed one was deleted")
            try c.expectEqual(try c.keys("p", "k/").map { Array($0.utf8) }, [Array(decomposed.utf8)], "the keys after that deletion")
        },

        Check(name: "a commit whose checkpoint condition is not met writes nothing and says what is stored") { c in
            let first = ProjectionCheckpoint(version: 1, position: 10)
            try await c.storage.commit([ReadModelChanges(
                projection: "guarded", writes: ["a": [1]], checkpoint: first, condition: .notStored)])
            try c.expectEqual(try c.storage.checkpoint(of: "guarded"), first, "first commit, on the condition that none is stored")
            // Each unmet condition: .notStored over a stored one, .equals another one, .equals one where none is stored.
            let unmet: [(CheckpointCondition, String, ProjectionCheckpoint?)] = [
                (.notStored, "guarded", first),
                (.equals(ProjectionCheckpoint(version: 1, position: 9)), "guarded", first),
                (.equals(ProjectionCheckpoint(version: 1, position: 10)), "never", nil),
            ]
            for (condition, projection, stored) in unmet {
                // Together with a change whose condition holds: all or nothing.
                let changes = [
                    ReadModelChanges(projection: "other", writes: ["x": [9]], checkpoint: ProjectionCheckpoint(version: 1, position: 20)),
                    ReadModelChanges(projection: projection, resetFirst: true, writes: ["a": [2], "b": [2]],
                                     checkpoint: ProjectionCheckpoint(version: 1, position: 20), condition: condition),
                ]
                do {
                    try await c.storage.commit(changes)
                    try c.expect(false, "a commit on the condition \(condition) with \(stored?.description ?? "none") stored was accepted")
                } catch EventStoreError.checkpointMoved(let name, let expected, let actual) {
                    try c.expectEqual(name, projection, "the projection named by checkpointMoved")
                    try c.expectEqual(expected, condition, "the condition named by checkpointMoved")
                    try c.expectEqual(actual, stored, "the stored checkpoint named by checkpointMoved")
                }
                try c.expectEqual(try c.keys("guarded", ""), ["a"], "keys after a refused commit")
                try c.expectEqual(try c.value("guarded", "a"), [1], "value after a refused commit")
                try c.expectEqual(try c.storage.checkpoint(of: "guarded"), first, "checkpoint after a refused commit")
                try c.expectEqual(try c.keys("other", ""), [], "the other projection's writes in a refused commit")
                try c.expect(try c.storage.checkpoint(of: "never") == nil, "no checkpoint made by a refused commit")
            }
            let second = ProjectionCheckpoint(version: 1, position: 20)
            try await c.storage.commit([ReadModelChanges(projection: "guarded", writes: ["b": [3]], checkpoint: second, condition: .equals(first))])
            try c.expectEqual(try c.storage.checkpoint(of: "guarded"), second, "a commit on the stored checkpoint")
            try await c.storage.commit([ReadModelChanges(
                projection: "guarded", writes: ["c": [4]], checkpoint: ProjectionCheckpoint(version: 2, position: 5), condition: .any)])
            try c.expectEqual(try c.keys("guarded", ""), ["a", "b", "c"], "keys after commits whose conditions held")
        },

        Check(name: "forEach walks a prefix in UTF-8 byte order and stops when asked") { c in
            let keys = ["deal/1", "deal/10", "deal/2", "deal0", "deal/é", "deal/z", "dealer/1", "deal", "a", "deal/\u{10FFFF}", "deal/ÿ"]
            try await c.storage.commit([ReadModelChanges(
                projection: "order", writes: Dictionary(uniqueKeysWithValues: keys.map { ($0, Array($0.utf8)) }),
                checkpoint: ProjectionCheckpoint(version: 1, position: 1))])
            let byteOrder = keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            try c.expectEqual(try c.keys("order", ""), byteOrder, "every key")
            try c.expectEqual(
                try c.keys("order", "deal/"), byteOrder.filter { $0.hasPrefix("deal/") }, "keys under deal/")
            try c.expectEqual(try c.keys("order", "deal/é"), ["deal/é"], "keys under a prefix ending in a two-byte character")
            try c.expectEqual(try c.keys("order", "zzz"), [], "keys under a prefix nothing has")
            var seen: [String] = []
            try c.storage.read("order") { (reader) throws(EventStoreError) in
                try reader.forEach(keyPrefix: "deal") { key, value in
                    seen.append(key)
                    return seen.count < 2
                }
            }
            try c.expectEqual(seen, ["deal", "deal/1"], "a walk stopped after two keys")
            let values = try c.storage.read("order") { (reader) throws(EventStoreError) -> [String: [UInt8]] in
                var values: [String: [UInt8]] = [:]
                try reader.forEach(keyPrefix: "deal/1") { key, value in
                    values[key] = value
                    return true
                }
                return values
            }
            try c.expectEqual(values, ["deal/1": Array("deal/1".utf8), "deal/10": Array("deal/10".utf8)], "values met on a walk")
        },

        Check(name: "a walk from a key starts at the first key at or after it, within the prefix") { c in
            let keys = ["h/a/1", "h/a/3", "h/a/5", "h/a/é", "h/b/0", "h/", "g/z", "h/a"]
            try await c.storage.commit([ReadModelChanges(
                projection: "seek", writes: Dictionary(uniqueKeysWithValues: keys.map { ($0, Array($0.utf8)) }),
                checkpoint: ProjectionCheckpoint(version: 1, position: 1))])
            func walk(_ prefix: String, from start: String, first limit: Int = .max) throws -> [String] {
                var seen: [String] = []
                try c.storage.read("seek") { (reader) throws(EventStoreError) in
                    try reader.forEach(keyPrefix: prefix, from: start) { key, value in
                        if value == Array(key.utf8) { seen.append(key) } else { seen.append("wrong value under \(key)") }
                        return seen.count < limit
                    }
                }
                return seen
            }
            try c.expectEqual(try walk("h/a/", from: "h/a/2"), ["h/a/3", "h/a/5", "h/a/é"], "from between two keys")
            try c.expectEqual(try walk("h/a/", from: "h/a/3"), ["h/a/3", "h/a/5", "h/a/é"], "from a key itself")
            try c.expectEqual(try walk("h/a/", from: "h/a/4", first: 1), ["h/a/5"], "the first key at or after, alone")
            try c.expectEqual(try walk("h/a/", from: "h/a/f"), ["h/a/é"], "from before a two-byte character")
            try c.expectEqual(try walk("h/a/", from: "h/a/ê"), [], "from past the last key under the prefix")
            try c.expectEqual(try walk("h/a/", from: "a"), ["h/a/1", "h/a/3", "h/a/5", "h/a/é"], "from before the prefix")
            try c.expectEqual(try walk("h/a/", from: "z"), [], "from after the prefix")
        },

        Check(name: "a walk reads more keys than one page") { c in
            let keys = (0..<2_500).map { "k/\(String(repeating: "0", count: 4 - String($0).count))\($0)" }
            try await c.storage.commit([ReadModelChanges(
                projection: "many", writes: Dictionary(uniqueKeysWithValues: keys.map { ($0, [UInt8(truncatingIfNeeded: $0.utf8.count)]) }),
                checkpoint: ProjectionCheckpoint(version: 1, position: 2_500))])
            try c.expectEqual(try c.keys("many", "k/"), keys, "all 2,500 keys in order")
        },

        Check(name: "projections are kept apart, and a reset drops only its own") { c in
            let first: [String: [UInt8]?] = ["x": [1], "y": [2]]
            try await c.storage.commit([
                ReadModelChanges(projection: "p", writes: first, checkpoint: ProjectionCheckpoint(version: 1, position: 5)),
                ReadModelChanges(projection: "p2", writes: first, checkpoint: ProjectionCheckpoint(version: 1, position: 6)),
            ])
            try c.expectEqual(try c.keys("p", ""), ["x", "y"], "keys of p (p2's are not p's)")
            try c.expectEqual(try c.storage.checkpoint(of: "p2"), ProjectionCheckpoint(version: 1, position: 6), "checkpoint of p2")
            try await c.storage.commit([ReadModelChanges(
                projection: "p", resetFirst: true, writes: ["z": [9], "y": nil], checkpoint: ProjectionCheckpoint(version: 2, position: 7))])
            try c.expectEqual(try c.keys("p", ""), ["z"], "keys of p after its reset")
            try c.expectEqual(try c.storage.checkpoint(of: "p"), ProjectionCheckpoint(version: 2, position: 7), "checkpoint of p after its reset")
            try c.expectEqual(try c.keys("p2", ""), ["x", "y"], "keys of p2 after p's reset")
            try c.expectEqual(try c.value("p2", "x"), [1], "a value of p2 after p's reset")
        },

        Check(name: "values are stored byte for byte") { c in
            let large = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let writes: [String: [UInt8]?] = ["empty": [], "binary": [0, 255, 0, 128, 10, 13], "large": large, "ключ/☃": [42]]
            try await c.storage.commit([ReadModelChanges(projection: "bytes", writes: writes, checkpoint: ProjectionCheckpoint(version: 1, position: 1))])
            try c.expectEqual(try c.value("bytes", "empty"), [], "an empty value (not a missing one)")
            try c.expectEqual(try c.value("bytes", "binary"), [0, 255, 0, 128, 10, 13], "a binary value")
            try c.expectEqual(try c.value("bytes", "large"), large, "a 200 kB value")
            try c.expectEqual(try c.value("bytes", "ключ/☃"), [42], "a value under a non-ASCII key")
        },

        Check(name: "committed read models survive reopening") { c in
            try await c.storage.commit([ReadModelChanges(
                projection: "kept", writes: ["a": [1]], checkpoint: ProjectionCheckpoint(version: 4, position: 40))])
            guard try await c.reopen() else { return }
            try c.expectEqual(try c.storage.checkpoint(of: "kept"), ProjectionCheckpoint(version: 4, position: 40), "checkpoint after reopening")
            try c.expectEqual(try c.value("kept", "a"), [1], "value after reopening")
        },
    ]
}

/// What a read-model check works with: the storage, and assertions that throw.
final class ReadModelCheckContext: CheckSubject, @unchecked Sendable {
    let name: String
    private(set) var storage: any ReadModelStorage
    private let subject: ReadModelStorageUnderTest

    init(name: String, subject: ReadModelStorageUnderTest) {
        self.name = name
        self.subject = subject
        self.storage = subject.storage
    }

    /// Closes the storage and opens it again; false when it cannot be reopened.
    func reopen() async throws -> Bool {
        guard let reopen = subject.reopen else { return false }
        await subject.close(storage)
        storage = try await reopen()
        try await storage.prepareForReading()
        return true
    }

    func finish() async {
        await subject.close(storage)
        await subject.destroy()
    }

    func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw ConformanceFailure(check: name, message: message()) }
    }

    func expectEqual<T: Equatable>(_ actual: T, _ expected: T, _ what: @autoclosure () -> String) throws {
        if actual != expected { throw ConformanceFailure(check: name, message: "\(what()): expected \(expected), got \(actual)") }
    }

    func value(_ projection: String, _ key: String) throws -> [UInt8]? {
        try storage.read(projection) { (reader) throws(EventStoreError) in try reader.value(forKey: key) }
    }

    func keys(_ projection: String, _ prefix: String) throws -> [String] {
        try storage.read(projection) { (reader) throws(EventStoreError) -> [String] in
            var keys: [String] = []
            try reader.forEach(keyPrefix: prefix) { key, _ in
                keys.append(key)
                return true
            }
            return keys
        }
    }
}

extension ReadModelStorage {
    /// Every key and value of `projection`'s committed read model, to compare
    /// read models across storages (say, a projection run on your backend and
    /// in memory).
    ///
    /// ```swift
    /// #expect(try postgres.contents(of: "deal-states") == (try inMemory.contents(of: "deal-states")))
    /// ```
    public func contents(of projection: String) throws(EventStoreError) -> [String: [UInt8]] {
        try read(projection) { (reader) throws(EventStoreError) in
            var all: [String: [UInt8]] = [:]
            try reader.forEach(keyPrefix: "") { key, value in
                all[key] = value
                return true
            }
            return all
        }
    }
}
