import Foundation
import RawLMDB

struct RawLMDBError: Error, CustomStringConvertible {
    let code: Int32
    let operation: String
    var description: String { "raw LMDB \(operation): \(String(cString: raw_error_text(code))) (\(code))" }
}

/// The raw-LMDB baseline (C, `Sources/RawLMDB`), as a Swift object for the harness.
final class RawStore: @unchecked Sendable {
    private var handle: OpaquePointer?
    let path: String

    /// Opens a store in directory `path` (created when missing) with a fixed 4 GiB map.
    init(path: String, durable: Bool = true) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
        var store: OpaquePointer?
        let code = raw_open(path, durable ? 1 : 0, 4 << 30, &store)
        guard code == 0, let store else { throw RawLMDBError(code: code, operation: "opening \(path)") }
        handle = store
    }

    deinit { close() }

    func close() {
        if let handle { raw_close(handle) }
        handle = nil
    }

    func lastPosition() throws -> UInt64 {
        var position: UInt64 = 0
        try check(raw_last_position(handle, &position), "reading the last position")
        return position
    }

    /// One transaction of `count` payloads of 256 bytes, back to back in `payloads`, from `position`.
    func append(_ payloads: UnsafeRawBufferPointer, count: Int, at position: UInt64) throws {
        let code = raw_append_batch(
            handle, position, payloads.baseAddress!.assumingMemoryBound(to: UInt8.self), Workload.payloadSize, count)
        try check(code, "appending at \(position)")
    }

    /// Scans the whole table; returns the records, payload bytes and the sum of every payload byte.
    func scan() throws -> (records: UInt64, bytes: UInt64, sum: UInt64) {
        var records: UInt64 = 0, bytes: UInt64 = 0, sum: UInt64 = 0
        try check(raw_scan(handle, &records, &bytes, &sum), "scanning")
        return (records, bytes, sum)
    }

    /// Point reads of `count` records at `first`, `first + stride`, … copied into `buffer`.
    func read(first: UInt64, stride: UInt64, count: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        let code = raw_read_positions(
            handle, first, stride, count, buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), Workload.payloadSize)
        try check(code, "reading from \(first)")
    }

    private func check(_ code: Int32, _ operation: String) throws {
        guard code == 0 else { throw RawLMDBError(code: code, operation: operation) }
    }
}

/// How many write transactions the LMDB environment in `path` has committed
/// (its last transaction id), read after the store is closed.
func lastTransactionID(_ path: String) -> String {
    var id: UInt64 = 0
    return raw_last_transaction_id(path, &id) == 0 ? "\(id)" : "?"
}
