import Foundation
import RapportEventLog
@testable import RapportProjections
import Testing

/// An `AuditEntry` keeps its compact bytes and decodes a field when it is
/// read: what was written reads back, setters change one field, equality
/// and hashing follow the fields, and bytes that would make a read fail
/// are refused when the entry is made.
@Suite("Audit entries decoded when read")
struct AuditEntryStorageTests {
    static let audit = CompactCodingTests.audit

    /// Every field, read through the getters.
    static func fields(_ entry: AuditEntry) -> [String] {
        [
            "\(entry.position)", "\(entry.eventID)", entry.streamID, "\(entry.recordedAt.timeIntervalSince1970)",
            "\(entry.occurredAt.map { "\($0.timeIntervalSince1970)" } ?? "nil")", entry.actor.id, entry.actor.role.rawValue,
            entry.entityKind, entry.entityID, entry.action, "\(entry.changes)", entry.channel.rawValue,
            "\(entry.correlationID?.uuidString ?? "nil")", "\(entry.causationID?.uuidString ?? "nil")",
        ]
    }

    @Test("an entry made from stored bytes reads every field as written")
    func readsBackEveryField() throws {
        let read = try AuditEntry(compactBytes: Self.audit.compactBytes)
        #expect(read.position == 42)
        #expect(read.eventID == Self.audit.eventID)
        #expect(read.streamID == "deal-ä✓")
        #expect(read.recordedAt == CompactCodingTests.date)
        #expect(read.occurredAt == nil)
        #expect(read.actor == CompactCodingTests.anna)
        #expect((read.entityKind, read.entityID, read.action) == ("deal", "ä✓", "DealAmountChanged"))
        #expect(read.changes == [FieldChange(field: "amount", oldValue: "12000", newValue: "{\"amount\":13000}"),
                                 FieldChange(field: "note", oldValue: nil, newValue: "\"\""),
                                 FieldChange(field: "gone", oldValue: "1", newValue: nil)])
        #expect(read.channel == .email)
        #expect(read.correlationID == nil)
        #expect(read.causationID == Self.audit.causationID)
        #expect(!read.isDenial)
        var denial = read
        denial.action = "AccessDenied"
        #expect(denial.isDenial)
    }

    @Test("setting a field changes that field and keeps every other")
    func settersChangeOneField() throws {
        let before = Self.fields(Self.audit)
        let edits: [(Int, (inout AuditEntry) -> Void)] = [
            (0, { $0.position = 7 }), (1, { $0.eventID = EventID() }), (2, { $0.streamID = "deal-x" }),
            (3, { $0.recordedAt = Date(timeIntervalSince1970: 5) }), (4, { $0.occurredAt = Date(timeIntervalSince1970: 6) }),
            (5, { $0.actor = Principal(id: "user:bo", role: .salesRep) }), (7, { $0.entityKind = "contact" }),
            (8, { $0.entityID = "c1" }), (9, { $0.action = "ContactRenamed" }),
            (10, { $0.changes = [FieldChange(field: "name", oldValue: nil, newValue: "\"Bo\"")] }),
            (11, { $0.channel = .phone }), (12, { $0.correlationID = UUID() }), (13, { $0.causationID = nil }),
        ]
        for (index, edit) in edits {
            var entry = Self.audit
            edit(&entry)
            let after = Self.fields(entry)
            for field in before.indices {
                if field == index { #expect(after[field] != before[field], "field \(field)") } else {
                    #expect(after[field] == before[field], "field \(field) changed by editing field \(index)")
                }
            }
            #expect(entry != Self.audit)
            // Read back from its bytes: the fields found by the check are the fields written.
            #expect(Self.fields(try AuditEntry(compactBytes: entry.compactBytes)) == after)
        }
    }

    @Test("equal fields are equal entries with equal hashes, whatever their bytes")
    func equalityFollowsTheFields() throws {
        var bytes = Self.audit.compactBytes
        #expect(bytes[1] == 42)
        // 42 as a two-byte varint: other bytes, the same fields.
        bytes.replaceSubrange(1...1, with: [42 | 0x80, 0])
        let padded = try AuditEntry(compactBytes: bytes)
        #expect(padded.compactBytes != Self.audit.compactBytes)
        #expect(padded == Self.audit)
        #expect(padded.hashValue == Self.audit.hashValue)
        #expect(Set([padded, Self.audit]).count == 1)
    }

    @Test("an entry with every optional present reads back field by field, and one inside a longer value leaves the rest to read")
    func everyOptionalAndAnEntryFollowedByMore() throws {
        var full = Self.audit
        full.occurredAt = CompactCodingTests.date.addingTimeInterval(-60)
        full.correlationID = UUID()
        full.changes.append(FieldChange(field: "x", oldValue: nil, newValue: nil))
        #expect(Self.fields(try AuditEntry(compactBytes: full.compactBytes)) == Self.fields(full))
        // The entry, then a string, in one value: reading the entry stops at its end.
        var out = CompactWriter()
        full.write(to: &out)
        out.string("after the entry")
        let (entry, rest, atEnd) = try out.bytes.withUnsafeBytes { raw in
            Result { () throws(CompactReader.Malformed) -> (AuditEntry, String, Bool) in
                var reader = try CompactReader(borrowing: raw)
                let entry = try AuditEntry(from: &reader)
                let rest = try reader.string()
                return (entry, rest, reader.isAtEnd)
            }
        }.get()
        #expect(Self.fields(entry) == Self.fields(full))
        #expect(entry.compactBytes == full.compactBytes)
        #expect(rest == "after the entry")
        #expect(atEnd)
    }

    @Test("times are kept to the microsecond, the log's precision")
    func timesKeepMicroseconds() {
        var entry = Self.audit
        entry.recordedAt = Date(timeIntervalSince1970: 1_000.000_000_4)
        entry.occurredAt = Date(timeIntervalSince1970: 1_000.000_001_6)
        #expect(entry.recordedAt == Date(timeIntervalSince1970: 1_000))
        #expect(entry.occurredAt == Date(timeIntervalSince1970: 1_000.000_002))
    }

    @Test("any damaged byte is refused when the entry is made, or reads without a trap")
    func damagedBytesNeverTrapOnRead() {
        let bytes = Self.audit.compactBytes
        var refused = 0
        for index in 1..<bytes.count {
            for value: UInt8 in [0, 1, 2, 0x7F, 0x80, 0xFF] where value != bytes[index] {
                var damaged = bytes
                damaged[index] = value
                guard let entry = try? AuditEntry(compactBytes: damaged) else {
                    refused += 1
                    continue
                }
                // Made: every field reads (a trap here would end the test run).
                #expect(Self.fields(entry).count == 14)
                _ = entry.isDenial
            }
        }
        #expect(refused > 0)
        for length in 1..<bytes.count {
            #expect(throws: CompactReader.Malformed.self) { try AuditEntry(compactBytes: Array(bytes.prefix(length))) }
        }
    }
}
