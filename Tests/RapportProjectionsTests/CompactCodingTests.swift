import Foundation
import RapportCore
import RapportEventLog
@testable import RapportProjections
import Testing

@Suite("Compact read-model values")
struct CompactCodingTests {
    static let date = Date(timeIntervalSince1970: 1_772_357_400.250_001)
    static let anna = Principal(id: "user:anna", role: .salesRep)

    static let timeline = TimelineEntry(
        contactID: ContactID(), position: 123_456_789, eventID: EventID(), type: "DealMovedToStage", entityKind: "deal",
        entityID: "f00", via: .deal, actor: anna, channel: .api, interactionChannel: .phone, activityType: "call",
        recordedAt: date, occurredAt: date.addingTimeInterval(-3_600), correlationID: UUID())

    static let audit = AuditEntry(
        position: 42, eventID: EventID(), streamID: "deal-ä✓", recordedAt: date, occurredAt: nil, actor: anna,
        entityKind: "deal", entityID: "ä✓", action: "DealAmountChanged",
        changes: [FieldChange(field: "amount", oldValue: "12000", newValue: "{\"amount\":13000}"),
                  FieldChange(field: "note", oldValue: nil, newValue: "\"\""),
                  FieldChange(field: "gone", oldValue: "1", newValue: nil)],
        channel: .email, correlationID: nil, causationID: UUID())

    @Test("each value reads back equal, and its bytes start with the compact marker")
    func roundTrips() throws {
        #expect(try TimelineEntry(compactBytes: Self.timeline.compactBytes) == Self.timeline)
        var bare = Self.timeline
        bare.interactionChannel = nil
        bare.activityType = nil
        bare.occurredAt = nil
        bare.correlationID = nil
        #expect(try TimelineEntry(compactBytes: bare.compactBytes) == bare)
        #expect(try AuditEntry(compactBytes: Self.audit.compactBytes) == Self.audit)
        let last = LastContact(contactID: ContactID(), owner: "user:bo", at: Self.date, activityID: "a1", activityType: "sms")
        #expect(try LastContact(compactBytes: last.compactBytes) == last)
        let never = LastContact(contactID: ContactID(), owner: nil, at: nil, activityID: nil, activityType: nil)
        #expect(try LastContact(compactBytes: never.compactBytes) == never)
        let links = ActivityLinks(type: "meeting", occurredAt: Self.date, contacts: ["a", "b"], removed: true)
        #expect(try ActivityLinks(compactBytes: links.compactBytes) == links)
        let status = ContactStatus(owner: "user:anna", archived: true, mergedInto: "x",
                                   latest: .init(activity: "a1", at: Self.date, type: "call"))
        #expect(try ContactStatus(compactBytes: status.compactBytes) == status)
        #expect(try ContactStatus(compactBytes: ContactStatus().compactBytes) == ContactStatus())
        #expect(try [String](compactBytes: ["", "é", String(repeating: "x", count: 300)].compactBytes) == ["", "é", String(repeating: "x", count: 300)])
        #expect(Self.audit.compactBytes.first == CompactWriter.marker)
        let eur = try Money(amount: Decimal(string: "12000.55")!, currency: "EUR")
        let deal = DealState(
            id: DealID(), title: "Pilot", pipelineID: PipelineID(), stage: "won", status: .won, amount: eur,
            finalAmount: try Money(amount: 11_000, currency: "USD"), owner: "user:anna", companyID: CompanyID(),
            expectedCloseDate: Self.date, openedAt: Self.date.addingTimeInterval(-86_400), closedAt: Self.date, lostReason: "price",
            stageHistory: [StageVisit(stage: "lead", enteredAt: Self.date, leftAt: Self.date, movedBack: false, position: 3),
                           StageVisit(stage: "won", enteredAt: Self.date, leftAt: nil, movedBack: true, position: 99)],
            probability: Decimal(string: "0.35"))
        #expect(try DealState(compactBytes: deal.compactBytes) == deal)
        var plain = deal
        (plain.amount, plain.finalAmount, plain.owner, plain.companyID, plain.expectedCloseDate) = (nil, nil, nil, nil, nil)
        (plain.closedAt, plain.lostReason, plain.probability, plain.stageHistory) = (nil, nil, nil, [])
        #expect(try DealState(compactBytes: plain.compactBytes) == plain)
        let pipeline = PipelineInfo(name: "Sales", stages: salesStages, retired: [salesStages[1]])
        #expect(try PipelineInfo(compactBytes: pipeline.compactBytes) == pipeline)
        // A pipeline stored as JSON by an earlier version still reads.
        let json = try JSONEncoder().encode(pipeline)
        #expect(try Stored.decode(PipelineInfo.self, Array(json)) == pipeline)
        // A money value that is not canonical (lower-case currency) is checked, and read as the initializer stores it.
        var writer = CompactWriter()
        writer.money(try Money(amount: 5, currency: "EUR"))
        var bytes = writer.bytes
        bytes[bytes.count - 3] = UInt8(ascii: "e")
        #expect(try bytes.withUnsafeBytes { raw in
            var reader = try CompactReader(borrowing: raw)
            return try reader.money()
        } == (try Money(amount: 5, currency: "EUR")))
    }

    /// `CompactReader.plainDecimal` of a string's UTF-8 bytes.
    static func plainDecimal(_ text: String) -> Decimal? {
        var text = text
        return text.withUTF8 { CompactReader.plainDecimal(UnsafeRawBufferPointer($0)) }
    }

    @Test("plain decimals read without Foundation's parser read as Foundation reads them")
    func plainDecimalsReadAsFoundationReadsThem() {
        var random = SplitMix64(seed: 11)
        var texts = ["0", "-0", "0.00", "007", "1234.50", "-12.345", "0.1", "-0.0001", "3000", "999999999999999999", "12345678901234567.8",
                     "1e3", ".5", "5.", "-", "", "1.2.3", "--1", "1-", "1234567890123456789", "0.0000000000000000001", " 1", "1,5"]
        for _ in 0..<5_000 {
            let whole = String(random.next() % 100_000_000)
            let fraction = String((0..<Int(random.next() % 7)).map { _ in "0123456789".randomElement(using: &random)! })
            let text = (random.next() % 2 == 0 ? "-" : "") + whole + (fraction.isEmpty ? "" : "." + fraction)
            // Plain, 14 digits at most: the fast path reads every one.
            #expect(Self.plainDecimal(text) != nil, "\(text)")
            texts.append(text)
        }
        for text in texts {
            let foundation = Decimal(string: text, locale: nil)
            guard let plain = Self.plainDecimal(text) else {
                // Left to Foundation: only texts that are not plain.
                #expect(text.contains { !"0123456789".contains($0) || $0 == "." } || text.isEmpty || text.count > 18, "\(text)")
                continue
            }
            #expect(plain == foundation && plain.description == foundation?.description, "\(text)")
        }
    }

    @Test("varints cover the whole range of both signs")
    func varints() throws {
        let unsigned: [UInt64] = [0, 1, 127, 128, 300, 1 << 35, UInt64.max - 1, UInt64.max]
        let signed: [Int64] = [0, -1, 1, -64, 64, Int64.min, Int64.max, -1_772_357_400_250_001]
        var writer = CompactWriter()
        for value in unsigned { writer.unsigned(value) }
        for value in signed { writer.signed(value) }
        try writer.bytes.withUnsafeBytes { bytes in
            var reader = try CompactReader(borrowing: bytes)
            for value in unsigned { #expect(try reader.unsigned() == value) }
            for value in signed { #expect(try reader.signed() == value) }
            #expect(reader.isAtEnd)
        }
        // Each alone (the checked path near the end) and with 10 bytes after it (the unchecked path).
        for value in unsigned {
            for padding in [0, 10] {
                var one = CompactWriter()
                one.unsigned(value)
                let bytes = one.bytes + Array(repeating: 0, count: padding)
                try bytes.withUnsafeBytes { raw in
                    var reader = try CompactReader(borrowing: raw)
                    let read = try reader.unsigned()
                    #expect(read == value, "\(value) with \(padding) bytes after")
                }
            }
        }
        // A tenth byte above 1 overflows 64 bits, on either path.
        for padding in [0, 10] {
            let overflowing = [CompactWriter.marker] + Array(repeating: 0xFF, count: 9) + [0x02] + Array(repeating: 0, count: padding)
            #expect(throws: CompactReader.Malformed.self) {
                try overflowing.withUnsafeBytes { raw in
                    var reader = try CompactReader(borrowing: raw)
                    _ = try reader.unsigned()
                }
            }
        }
    }

    @Test("every truncation, trailing bytes, a bad flag and an overlong varint are errors, never a crash")
    func damagedValues() {
        let bytes = Self.audit.compactBytes
        for length in 0..<bytes.count {
            #expect(throws: CompactReader.Malformed.self) { try AuditEntry(compactBytes: Array(bytes.prefix(length))) }
        }
        #expect(throws: CompactReader.Malformed.self) { try AuditEntry(compactBytes: bytes + [0]) }
        var flag = ContactStatus().compactBytes
        flag[2] = 7  // `archived`
        #expect(throws: CompactReader.Malformed.self) { try ContactStatus(compactBytes: flag) }
        let overlong: [UInt8] = [CompactWriter.marker] + Array(repeating: 0xFF, count: 10) + [0x01]
        #expect(throws: CompactReader.Malformed.self) { try [String](compactBytes: overlong) }
        #expect(throws: CompactReader.Malformed.self) { try [String](compactBytes: [CompactWriter.marker, 0x05, 0x61]) }
    }

    @Test("values stored as JSON by earlier versions still read; new ones are written compact")
    func readsJSON() throws {
        let json = Array(try ProjectionTimestamp.makeEncoder().encode(Self.audit))
        #expect(try Stored.decode(AuditEntry.self, json) == Self.audit)
        #expect(Stored.encode(Self.audit).first == CompactWriter.marker)
        // Through the generic path a query takes.
        func generic<T: Codable>(_ value: T) throws -> T { try Stored.decode(T.self, try Stored.encode(value)) }
        #expect(try generic(Self.timeline) == Self.timeline)
        #expect(try generic(["a"]) == ["a"])
    }
}
