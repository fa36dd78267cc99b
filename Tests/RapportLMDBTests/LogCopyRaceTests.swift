import Foundation
import Synchronization
import RapportEventLog
import RapportLMDB
import Testing

/// An LMDB store as a copy's target, with another writer that appends to it
/// right after the copy has looked at its head (and found it empty).
private final class AppendedAfterItsHeadWasRead: StoredRecordLog {
    let inner: LMDBEventStore
    private let looked = Mutex(false)

    init(_ inner: LMDBEventStore) { self.inner = inner }

    func headPosition() async throws(EventStoreError) -> LogPosition {
        let head = try await inner.headPosition()
        let first = looked.withLock { looked in
            defer { looked = true }
            return !looked
        }
        if first { try await inner.append([testEvent()], to: try StreamID("meanwhile-1")) }
        return head
    }

    func append(_ request: AppendRequest) async throws(EventStoreError) -> AppendResult { try await inner.append(request) }
    func readStream(_ stream: StreamID, from version: UInt64, direction: ReadDirection, limit: Int) async throws(EventStoreError) -> [RecordedEvent] {
        try await inner.readStream(stream, from: version, direction: direction, limit: limit)
    }
    func streamVersion(of stream: StreamID) async throws(EventStoreError) -> UInt64 { try await inner.streamVersion(of: stream) }
    func readLog(from position: LogPosition, filter: LogFilter, limit: Int) async throws(EventStoreError) -> [RecordedEvent] {
        try await inner.readLog(from: position, filter: filter, limit: limit)
    }
    func event(id: EventID) async throws(EventStoreError) -> RecordedEvent? { try await inner.event(id: id) }
    func position(asOf date: Date) async throws(EventStoreError) -> LogPosition { try await inner.position(asOf: date) }
    func close() async { await inner.close() }
    func storedRecords(from position: LogPosition, limit: Int) async throws(EventStoreError) -> [StoredRecord] {
        try await inner.storedRecords(from: position, limit: limit)
    }
    func importStoredRecords(_ next: () async throws(EventStoreError) -> [StoredRecord]) async throws(EventStoreError) -> LogPosition {
        try await inner.importStoredRecords(next)
    }
    func verifyLog(progress: (@Sendable (UInt64, UInt64) -> Void)?) async throws(EventStoreError) -> VerificationReport {
        try await inner.verifyLog(progress: progress)
    }
}

@Suite("Log copy")
struct LogCopyRaceTests {
    @Test func aTargetAppendedToAfterTheCopyLookedIsNotEmptyNotAnInvalidEvent() async throws {
        let sourcePath = temporaryStorePath("copy-source"), targetPath = temporaryStorePath("copy-target")
        defer { removeStore(sourcePath); removeStore(targetPath) }
        let source = try LMDBEventStore(path: sourcePath)
        for round in 0..<3 { try await source.append([testEvent()], to: try StreamID("s-\(round)")) }
        let target = AppendedAfterItsHeadWasRead(try LMDBEventStore(path: targetPath))
        await #expect(throws: LogCopyError.targetNotEmpty(head: 1)) { try await LogCopy.copy(from: source, to: target) }
        // Only the other writer's event is there.
        #expect(try await target.inner.readLog(from: 1, filter: .all, limit: 10).map(\.streamID) == [try StreamID("meanwhile-1")])
        await source.close()
        await target.close()
    }
}
