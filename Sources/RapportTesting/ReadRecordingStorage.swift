public import RapportEventLog
import Synchronization

/// Read-model storage that hands everything to another storage and records
/// every key read one at a time (`value(forKey:)`), in order. A read here is
/// what costs a round trip on PostgreSQL, so a test can check how many a
/// projection makes, or that it never reads a key it has no need of.
///
/// ```swift
/// let storage = ReadRecordingStorage(InMemoryReadModelStorage())
/// try await ProjectionRunner(log: store, storage: storage, projections: [DealCount()], batchSize: 10).catchUp()
/// #expect(storage.keysRead.filter { $0.hasPrefix("deal/") }.count <= deals)
/// ```
public final class ReadRecordingStorage: ReadModelStorage {
    /// The storage that keeps the read models.
    public let inner: any ReadModelStorage
    private let recorded = Mutex<[String]>([])

    /// Records the reads made of `inner`.
    public init(_ inner: any ReadModelStorage) { self.inner = inner }

    /// Every key read with `value(forKey:)` so far, in order (repeats included).
    public var keysRead: [String] { recorded.withLock { $0 } }

    /// Forgets the reads recorded so far.
    public func forgetReads() { recorded.withLock { $0.removeAll() } }

    public func checkpoint(of projection: String) throws(EventStoreError) -> ProjectionCheckpoint? {
        try inner.checkpoint(of: projection)
    }

    public func read<R>(_ projection: String, _ body: (any ReadModelReader) throws(EventStoreError) -> R) throws(EventStoreError) -> R {
        try inner.read(projection) { (reader) throws(EventStoreError) in
            try body(RecordingReader(inner: reader, storage: self))
        }
    }

    public func commit(_ changes: [ReadModelChanges]) async throws(EventStoreError) { try await inner.commit(changes) }

    public func prepareForReading() async throws(EventStoreError) { try await inner.prepareForReading() }

    fileprivate func note(_ key: String) { recorded.withLock { $0.append(key) } }
}

/// Passes reads on to the storage's reader, noting each key read alone.
private struct RecordingReader: ReadModelReader {
    let inner: any ReadModelReader
    let storage: ReadRecordingStorage

    func checkpoint() throws(EventStoreError) -> ProjectionCheckpoint? { try inner.checkpoint() }

    func value(forKey key: String) throws(EventStoreError) -> [UInt8]? {
        storage.note(key)
        return try inner.value(forKey: key)
    }

    func forEach(keyPrefix prefix: String, _ body: (String, [UInt8]) -> Bool) throws(EventStoreError) {
        try inner.forEach(keyPrefix: prefix, body)
    }

    func forEach(keyPrefix prefix: String, from start: String, _ body: (String, [UInt8]) -> Bool) throws(EventStoreError) {
        try inner.forEach(keyPrefix: prefix, from: start, body)
    }

    func forEachInPlace(
        keyPrefix prefix: String, from start: String, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool
    ) throws(EventStoreError) {
        try inner.forEachInPlace(keyPrefix: prefix, from: start, body)
    }
}
