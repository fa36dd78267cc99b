import Foundation
import RapportEventLog
import RapportLMDB

/// What one pass over the log finds: events per type, and optionally events
/// per contact tag, the simulated time span and each deal's opening and winning positions.
struct Census {
    var types: [String: Int] = [:]
    var eventsPerContact: [String: Int] = [:]
    var firstOccurred: Date?
    var lastOccurred: Date?
    /// Deal stream → (position of DealOpened, position of DealWon).
    var deals: [String: (opened: UInt64, won: UInt64?)] = [:]
    var dealOrder: [String] = []

    /// Scans the whole log once; `detailed` also counts contacts, times and deals.
    static func take(of store: LMDBEventStore, detailed: Bool, progress: ProgressBar? = nil) throws -> Census {
        var census = Census()
        let total = try store.statistics().events
        var seen: UInt64 = 0
        try store.scan { view in
            census.types[view.type, default: 0] += 1
            if detailed { census.record(view) }
            seen += 1
            if seen % 8_192 == 0 { progress?.update(seen, of: total) }
            return .continue
        }
        progress?.finish()
        return census
    }

    private mutating func record(_ view: RecordView) {
        view.forEachTag { name, _ in
            if name.starts(with: Census.contactPrefix) {
                eventsPerContact[String(decoding: name, as: UTF8.self), default: 0] += 1
            }
        }
        let occurredMicros = Int64(bitPattern: UInt64(littleEndian: view.bytes.loadUnaligned(fromByteOffset: RecordFormat.Offset.occurredAt, as: UInt64.self)))
        if occurredMicros != RecordFormat.noOccurredAt {
            let date = RecordFormat.date(micros: occurredMicros)
            if firstOccurred == nil { firstOccurred = date }
            lastOccurred = date
        }
        if view.hasType("DealOpened") {
            let stream = String(decoding: view.streamIDBytes, as: UTF8.self)
            deals[stream] = (view.position.rawValue, nil)
            dealOrder.append(stream)
        } else if view.hasType("DealWon") {
            let stream = String(decoding: view.streamIDBytes, as: UTF8.self)
            deals[stream]?.won = view.position.rawValue
        }
    }

    private static let contactPrefix = Array("contact:".utf8)

    /// The `count` most frequent types, most frequent first (ties by name).
    func topTypes(_ count: Int) -> [(type: String, events: Int)] {
        types.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(count).map { ($0.key, $0.value) }
    }

    func count(_ type: String) -> Int { types[type] ?? 0 }
}
