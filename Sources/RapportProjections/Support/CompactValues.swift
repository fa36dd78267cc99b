import Foundation
import RapportCore
import RapportEventLog

// The compact forms of the values written for nearly every event (see
// CompactValue). Each lists its fields in the order they are stored;
// changing an order or a field means a new projection version.

extension TimelineEntry: CompactValue {
    func write(to out: inout CompactWriter) {
        out.uuid(contactID.uuid)
        out.unsigned(position.rawValue)
        out.uuid(eventID.uuid)
        out.string(type)
        out.string(entityKind)
        out.string(entityID)
        out.string(via.rawValue)
        out.principal(actor)
        out.string(channel.rawValue)
        out.optional(interactionChannel) { $0.string($1.rawValue) }
        out.optional(activityType) { $0.string($1) }
        out.date(recordedAt)
        out.optional(occurredAt) { $0.date($1) }
        out.optional(correlationID) { $0.uuid($1) }
    }

    init(from input: inout CompactReader) throws(CompactReader.Malformed) {
        contactID = ContactID(try input.uuid())
        position = LogPosition(try input.unsigned())
        eventID = EventID(try input.uuid())
        type = try input.string()
        entityKind = try input.string()
        entityID = try input.string()
        let via = try input.string()
        guard let known = Via(rawValue: via) else { throw CompactReader.Malformed(reason: "unknown via \(via)") }
        self.via = known
        actor = try input.principal()
        channel = Channel(try input.string())
        interactionChannel = try input.optional { (r) throws(CompactReader.Malformed) in Channel(try r.string()) }
        activityType = try input.optional { (r) throws(CompactReader.Malformed) in try r.string() }
        recordedAt = try input.date()
        occurredAt = try input.optional { (r) throws(CompactReader.Malformed) in try r.date() }
        correlationID = try input.optional { (r) throws(CompactReader.Malformed) in try r.uuid() }
    }
}

extension LastContact: CompactValue {
    func write(to out: inout CompactWriter) {
        out.uuid(contactID.uuid)
        out.optional(owner) { $0.string($1) }
        out.optional(at) { $0.date($1) }
        out.optional(activityID) { $0.string($1) }
        out.optional(activityType) { $0.string($1) }
    }

    init(from input: inout CompactReader) throws(CompactReader.Malformed) {
        contactID = ContactID(try input.uuid())
        owner = try input.optional { (r) throws(CompactReader.Malformed) in try r.string() }
        at = try input.optional { (r) throws(CompactReader.Malformed) in try r.date() }
        activityID = try input.optional { (r) throws(CompactReader.Malformed) in try r.string() }
        activityType = try input.optional { (r) throws(CompactReader.Malformed) in try r.string() }
    }
}

extension ActivityLinks: CompactValue {
    func write(to out: inout CompactWriter) {
        out.string(type)
        out.date(occurredAt)
        out.strings(contacts)
        out.bool(removed)
    }

    init(from input: inout CompactReader) throws(CompactReader.Malformed) {
        type = try input.string()
        occurredAt = try input.date()
        contacts = try input.strings()
        removed = try input.bool()
    }
}

extension ContactStatus.Touch: CompactValue {
    func write(to out: inout CompactWriter) {
        out.string(activity)
        out.date(at)
        out.string(type)
    }

    init(from input: inout CompactReader) throws(CompactReader.Malformed) {
        activity = try input.string()
        at = try input.date()
        type = try input.string()
    }
}

extension ContactStatus: CompactValue {
    func write(to out: inout CompactWriter) {
        out.optional(owner) { $0.string($1) }
        out.bool(archived)
        out.optional(mergedInto) { $0.string($1) }
        out.optional(latest) { $1.write(to: &$0) }
    }

    init(from input: inout CompactReader) throws(CompactReader.Malformed) {
        owner = try input.optional { (r) throws(CompactReader.Malformed) in try r.string() }
        archived = try input.bool()
        mergedInto = try input.optional { (r) throws(CompactReader.Malformed) in try r.string() }
        latest = try input.optional { (r) throws(CompactReader.Malformed) in try Touch(from: &r) }
    }
}

extension CompactWriter {
    /// The decimal's text, as `description` writes it (``ExactDecimal/text(of:)``, much faster).
    mutating func decimal(_ value: Decimal) { string(ExactDecimal.text(of: value)) }

    mutating func money(_ value: Money) {
        decimal(value.amount)
        string(value.currency)
    }
}

extension CompactReader {
    mutating func decimal() throws(CompactReader.Malformed) -> Decimal {
        // A plain text is read from the bytes, without making a string first.
        if let value = try peekString(Self.plainDecimal) { return value }
        let text = try string()
        guard let value = Decimal(string: text, locale: nil), !value.isNaN else { throw Malformed(reason: "\(text) is not a decimal") }
        return value
    }

    /// The text in `utf8` read without Foundation's parser when it is plain:
    /// an optional `-`, digits, and optionally `.` and more digits, 18 digits
    /// at most (how `Decimal.description` writes amounts and probabilities).
    /// nil for anything else, which goes to `Decimal(string:)` and reads the same.
    static func plainDecimal(_ utf8: UnsafeRawBufferPointer) -> Decimal? {
        var mantissa: UInt64 = 0
        var digits = 0, fraction = 0
        var negative = false, point = false
        for (index, byte) in utf8.enumerated() {
            switch byte {
            case UInt8(ascii: "-") where index == 0: negative = true
            case UInt8(ascii: ".") where !point && digits > 0: point = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits += 1
                guard digits <= 18 else { return nil }
                mantissa = mantissa * 10 + UInt64(byte - UInt8(ascii: "0"))
                if point { fraction += 1 }
            default: return nil
            }
        }
        guard digits > 0, !point || fraction > 0 else { return nil }
        return Decimal(sign: negative && mantissa != 0 ? .minus : .plus, exponent: -fraction, significand: Decimal(mantissa))
    }

    /// A deal status, as ``CompactWriter/string(_:)`` wrote its raw value: compared in place.
    mutating func dealStatus() throws(CompactReader.Malformed) -> DealStatus {
        let known = try peekString { utf8 -> DealStatus? in
            if utf8.elementsEqual("open".utf8) { return .open }
            if utf8.elementsEqual("won".utf8) { return .won }
            if utf8.elementsEqual("lost".utf8) { return .lost }
            return nil
        }
        if let known { return known }
        throw Malformed(reason: "unknown deal status \(try string())")
    }

    mutating func money() throws(CompactReader.Malformed) -> Money {
        let amount = try decimal(), currency = try string()
        // What this module wrote is canonical already; anything else is checked in full.
        if Money.isCanonical(amount: amount, currency: currency) { return Money(canonicalAmount: amount, currency: currency) }
        do { return try Money(amount: amount, currency: currency) } catch {
            throw Malformed(reason: "\(amount) \(currency) is not an amount: \(error)")
        }
    }
}

extension DealState: CompactValue {
    func write(to out: inout CompactWriter) {
        out.uuid(id.uuid)
        out.string(title)
        out.uuid(pipelineID.uuid)
        out.string(stage)
        out.string(status.rawValue)
        out.optional(amount) { $0.money($1) }
        out.optional(finalAmount) { $0.money($1) }
        out.optional(owner) { $0.string($1) }
        out.optional(companyID) { $0.uuid($1.uuid) }
        out.optional(expectedCloseDate) { $0.date($1) }
        out.date(openedAt)
        out.optional(closedAt) { $0.date($1) }
        out.optional(lostReason) { $0.string($1) }
        out.unsigned(UInt64(stageHistory.count))
        for visit in stageHistory {
            out.string(visit.stage)
            out.date(visit.enteredAt)
            out.optional(visit.leftAt) { $0.date($1) }
            out.bool(visit.movedBack)
            out.unsigned(visit.position.rawValue)
        }
        out.optional(probability) { $0.decimal($1) }
    }

    init(from input: inout CompactReader) throws(CompactReader.Malformed) {
        id = DealID(try input.uuid())
        title = try input.string()
        pipelineID = PipelineID(try input.uuid())
        stage = try input.string()
        self.status = try input.dealStatus()
        amount = try input.optional { (r) throws(CompactReader.Malformed) in try r.money() }
        finalAmount = try input.optional { (r) throws(CompactReader.Malformed) in try r.money() }
        owner = try input.optional { (r) throws(CompactReader.Malformed) in try r.string() }
        companyID = try input.optional { (r) throws(CompactReader.Malformed) in CompanyID(try r.uuid()) }
        expectedCloseDate = try input.optional { (r) throws(CompactReader.Malformed) in try r.date() }
        openedAt = try input.date()
        closedAt = try input.optional { (r) throws(CompactReader.Malformed) in try r.date() }
        lostReason = try input.optional { (r) throws(CompactReader.Malformed) in try r.string() }
        let count = try input.count()
        var visits: [StageVisit] = []
        visits.reserveCapacity(count)
        for _ in 0..<count {
            visits.append(StageVisit(
                stage: try input.string(), enteredAt: try input.date(),
                leftAt: try input.optional { (r) throws(CompactReader.Malformed) in try r.date() },
                movedBack: try input.bool(), position: LogPosition(try input.unsigned())))
        }
        stageHistory = visits
        probability = try input.optional { (r) throws(CompactReader.Malformed) in try r.decimal() }
    }
}

extension PipelineInfo: CompactValue {
    func write(to out: inout CompactWriter) {
        out.string(name)
        for list in [stages, retired] {
            out.unsigned(UInt64(list.count))
            for stage in list {
                out.string(stage.key)
                out.string(stage.name)
                out.decimal(stage.probability)
                out.string(stage.kind.rawValue)
            }
        }
    }

    init(from input: inout CompactReader) throws(CompactReader.Malformed) {
        name = try input.string()
        func readStages(_ input: inout CompactReader) throws(CompactReader.Malformed) -> [PipelineStage] {
            let count = try input.count()
            var stages: [PipelineStage] = []
            stages.reserveCapacity(count)
            for _ in 0..<count {
                let key = try input.string(), name = try input.string(), probability = try input.decimal(), kind = try input.string()
                guard let known = PipelineStage.Kind(rawValue: kind) else { throw CompactReader.Malformed(reason: "unknown stage kind \(kind)") }
                stages.append(PipelineStage(key: key, name: name, probability: probability, kind: known))
            }
            return stages
        }
        stages = try readStages(&input)
        retired = try readStages(&input)
    }
}
