import Foundation
import RapportEventLog
import Synchronization

/// What a stored snapshot says about itself, read without decoding the state.
///
/// A snapshot is two read-model values (see `docs/snapshots.md`): this header
/// (``SnapshotFormat/headerSize`` bytes) and the state's encoded bytes. The
/// header names the state's schema, the event types it was folded from, the
/// stream version and log position of the last event it covers, that event's
/// id, and checksums of itself and of the state bytes.
struct SnapshotHeader: Hashable, Sendable {
    /// The aggregate type's ``SnapshottableAggregate/snapshotSchemaVersion`` when it was written.
    var schemaVersion: UInt32
    /// ``SnapshotFormat/eventTypesFingerprint(of:)`` of the aggregate type when it was written.
    var eventTypes: UInt32
    /// The stream version of the last event folded into the state.
    var streamVersion: UInt64
    /// The log position of that event.
    var position: LogPosition
    /// That event's id.
    var eventID: EventID
    /// The length of the state's bytes.
    var stateLength: UInt32
    /// CRC-32C of the state's bytes.
    var stateChecksum: UInt32
}

/// Why a snapshot was not used. Never thrown to callers: the aggregate is then
/// loaded by replaying its stream, and the reason is logged.
enum SnapshotProblem: Error, Hashable, Sendable, CustomStringConvertible {
    /// The header is not a snapshot header of this format, or its checksum is wrong.
    case damagedHeader(String)
    /// The state's bytes are missing, of another length, or fail their checksum.
    case damagedState(String)
    /// Written for another ``SnapshottableAggregate/snapshotSchemaVersion``.
    case otherSchema(found: UInt32, current: UInt32)
    /// Written when the aggregate applied another set of event types or schema versions.
    case otherEventTypes
    /// The state's bytes do not decode as the aggregate.
    case undecodableState(String)
    /// The stream has no event at the snapshot's version, or another one.
    case notInLog(String)

    var description: String {
        switch self {
        case .damagedHeader(let reason): "its header is damaged (\(reason))"
        case .damagedState(let reason): "its state is damaged (\(reason))"
        case .otherSchema(let found, let current): "it has snapshot schema version \(found), the aggregate \(current)"
        case .otherEventTypes: "the aggregate's event types changed since it was written"
        case .undecodableState(let reason): "its state does not decode (\(reason))"
        case .notInLog(let reason): "it does not match the log (\(reason))"
        }
    }
}

/// The binary form of a snapshot header (little-endian):
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 4 | magic `RSNP` |
/// | 4 | 1 | format version (1) |
/// | 5 | 3 | reserved, zero |
/// | 8 | 4 | snapshot schema version |
/// | 12 | 4 | event-types fingerprint |
/// | 16 | 8 | stream version covered |
/// | 24 | 8 | log position covered |
/// | 32 | 16 | id of the event covered |
/// | 48 | 4 | state length |
/// | 52 | 4 | CRC-32C of the state |
/// | 56 | 4 | reserved, zero |
/// | 60 | 4 | CRC-32C of bytes 0..<60 |
enum SnapshotFormat {
    static let formatVersion: UInt8 = 1
    static let headerSize = 64
    static let magic: [UInt8] = Array("RSNP".utf8)

    static func encode(_ header: SnapshotHeader) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: headerSize)
        bytes.withUnsafeMutableBytes { raw in
            raw.copyBytes(from: magic)
            raw[4] = formatVersion
            raw.storeBytes(of: header.schemaVersion.littleEndian, toByteOffset: 8, as: UInt32.self)
            raw.storeBytes(of: header.eventTypes.littleEndian, toByteOffset: 12, as: UInt32.self)
            raw.storeBytes(of: header.streamVersion.littleEndian, toByteOffset: 16, as: UInt64.self)
            raw.storeBytes(of: header.position.rawValue.littleEndian, toByteOffset: 24, as: UInt64.self)
            UnsafeMutableRawBufferPointer(rebasing: raw[32..<48]).copyBytes(from: header.eventID.bytes)
            raw.storeBytes(of: header.stateLength.littleEndian, toByteOffset: 48, as: UInt32.self)
            raw.storeBytes(of: header.stateChecksum.littleEndian, toByteOffset: 52, as: UInt32.self)
            let checksum = rapportCRC32C(UnsafeRawBufferPointer(rebasing: raw[0..<60]))
            raw.storeBytes(of: checksum.littleEndian, toByteOffset: 60, as: UInt32.self)
        }
        return bytes
    }

    static func decodeHeader(_ bytes: [UInt8]) throws(SnapshotProblem) -> SnapshotHeader {
        guard bytes.count == headerSize else { throw .damagedHeader("\(bytes.count) bytes, not \(headerSize)") }
        guard bytes.starts(with: magic) else { throw .damagedHeader("no snapshot magic") }
        func field<T: FixedWidthInteger>(_ offset: Int, as type: T.Type) -> T {
            bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        }
        let checksum = bytes.withUnsafeBytes { rapportCRC32C(UnsafeRawBufferPointer(rebasing: $0[0..<60])) }
        guard checksum == field(60, as: UInt32.self) else { throw .damagedHeader("checksum mismatch") }
        guard bytes[4] == formatVersion else { throw .damagedHeader("format version \(bytes[4]), this library reads \(formatVersion)") }
        let version = field(16, as: UInt64.self), position = field(24, as: UInt64.self)
        guard version > 0, position > 0 else { throw .damagedHeader("it covers no event") }
        return SnapshotHeader(
            schemaVersion: field(8, as: UInt32.self), eventTypes: field(12, as: UInt32.self),
            streamVersion: version, position: LogPosition(position),
            eventID: bytes.withUnsafeBytes { EventID(bytes: UnsafeRawBufferPointer(rebasing: $0[32..<48])) },
            stateLength: field(48, as: UInt32.self), stateChecksum: field(52, as: UInt32.self))
    }

    /// Checks that `state` is the one `header` describes.
    static func check(_ state: [UInt8]?, against header: SnapshotHeader) throws(SnapshotProblem) {
        guard let state else { throw .damagedState("missing") }
        guard state.count == Int(header.stateLength) else {
            throw .damagedState("\(state.count) bytes, the header says \(header.stateLength)")
        }
        guard state.withUnsafeBytes({ rapportCRC32C($0) }) == header.stateChecksum else {
            throw .damagedState("checksum mismatch")
        }
    }

    /// A checksum of the aggregate's kind and of every event type it applies,
    /// with its schema version: adding an event type, or a new schema version
    /// of one, makes older snapshots stale without anyone having to remember.
    static func eventTypesFingerprint<A: Aggregate>(of type: A.Type) -> UInt32 {
        if let known = fingerprints.withLock({ $0[ObjectIdentifier(A.self)] }) { return known }
        let names = A.eventTypes.map { "\($0.typeName)@\($0.schemaVersion)" }.sorted()
        let text = Array(([A.kind] + names).joined(separator: "\n").utf8)
        let fingerprint = text.withUnsafeBytes { rapportCRC32C($0) }
        fingerprints.withLock { $0[ObjectIdentifier(A.self)] = fingerprint }
        return fingerprint
    }

    /// Fingerprints computed so far, by aggregate type (a type's event types never change while it runs).
    private static let fingerprints = Mutex<[ObjectIdentifier: UInt32]>([:])

    /// Encodes a state: JSON, with dates as seconds since 2001 so that none loses precision.
    static func encodeState<A: SnapshottableAggregate>(_ state: A) throws -> [UInt8] {
        Array(try JSONEncoder().encode(state))
    }

    static func decodeState<A: SnapshottableAggregate>(_ type: A.Type, from bytes: [UInt8]) throws(SnapshotProblem) -> A {
        do {
            return try JSONDecoder().decode(A.self, from: Data(bytes))
        } catch {
            throw .undecodableState("\(error)")
        }
    }
}
