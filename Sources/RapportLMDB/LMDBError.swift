import CLMDB
import Foundation
import RapportEventLog

/// A failing LMDB call: the return code and what was being done. Internal;
/// the public API reports ``EventStoreError``.
struct LMDBError: Error, CustomStringConvertible {
    let code: Int32
    let operation: String

    /// Not an LMDB code: the file is a sound LMDB file, but not a Rapport
    /// store this library reads (another format, or no format marker).
    /// Its description is `operation` alone (LMDB's text for `MDB_INVALID`,
    /// "File is not an LMDB file", would be wrong).
    static let notThisFormat: Int32 = .min

    var description: String {
        code == Self.notThisFormat ? operation : "\(operation): \(String(cString: mdb_strerror(code)))"
    }

    var isMapFull: Bool { code == MDB_MAP_FULL }
    var isMapResized: Bool { code == MDB_MAP_RESIZED }

    /// The public error for this failure.
    var storeError: EventStoreError {
        switch code {
        case MDB_MAP_FULL:
            return .storeFull("the store reached its maximum map size")
        case ENOSPC:
            return .storeFull("no space left on the device")
        case EFBIG:
            return .storeFull("the file size limit was reached")
        case EDQUOT:
            return .storeFull("the disk quota is exhausted")
        case Self.notThisFormat:
            return .incompatibleStore(operation)
        case MDB_INVALID, MDB_VERSION_MISMATCH:
            return .incompatibleStore("\(operation): \(String(cString: mdb_strerror(code)))")
        case MDB_CORRUPTED, MDB_PAGE_NOTFOUND:
            return .storage("\(description) (the LMDB file structure is damaged)")
        case MDB_PANIC:
            return .storage(
                "\(description): an earlier write of LMDB's own pages failed (an I/O error), and LMDB refuses every transaction of this process since; close the store and open it again")
        case MDB_READERS_FULL:
            return .storage(
                "\(description); raise Configuration.maximumReaders (the process that creates the store's lock file sets the table's size: close every process using the store for a new size to take effect)")
        default:
            return .storage(description)
        }
    }
}

/// Throws an ``LMDBError`` when `code` is not success.
@inline(__always)
func check(_ code: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
    if code != MDB_SUCCESS { throw LMDBError(code: code, operation: operation()) }
}
