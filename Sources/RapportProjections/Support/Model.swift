import Foundation
import RapportEventLog
import RapportReplay

extension ReadModelContext {
    /// The value under `key` in this module's encoding, or nil.
    func load<T: Decodable>(_ type: T.Type, _ key: String) throws -> T? {
        guard let bytes = try value(forKey: key) else { return nil }
        return try Stored.decode(T.self, bytes)
    }

    /// Stores `value` under `key` in this module's encoding.
    mutating func store<T: Encodable>(_ value: T, _ key: String) throws {
        setValue(try Stored.encode(value), forKey: key)
    }

    /// The value under `key` in its compact form (or JSON, when an earlier version wrote it), or nil.
    func load<T: CompactValue>(_ type: T.Type, _ key: String) throws -> T? {
        guard let bytes = try value(forKey: key) else { return nil }
        return try Stored.decode(T.self, bytes)
    }

    /// Stores `value` under `key` in its compact form.
    mutating func store<T: CompactValue>(_ value: T, _ key: String) {
        setValue(Stored.encode(value), forKey: key)
    }

    /// Stores an index key (only the key matters).
    mutating func mark(_ key: String) {
        setValue(Stored.marker, forKey: key)
    }
}

extension RecordedEvent {
    /// The kind and id of the entity whose stream this is: `deal-<uuid>` is
    /// (`deal`, `<uuid>`); a stream without `-` is (stream, "").
    var streamEntity: (kind: String, id: String) {
        let raw = streamID.rawValue
        guard let dash = raw.firstIndex(of: "-") else { return (raw, "") }
        return (String(raw[..<dash]), String(raw[raw.index(after: dash)...]))
    }

    /// The ids of the tags `kind:<id>`.
    func taggedIDs(_ kind: String) -> [String] {
        let prefix = kind + ":"
        return tags.compactMap { $0.rawValue.hasPrefix(prefix) ? String($0.rawValue.dropFirst(prefix.count)) : nil }
    }

    /// When it happened: the occurred-at time, or the recorded-at time when none was given.
    var effectiveDate: Date { occurredAt ?? recordedAt }
}
