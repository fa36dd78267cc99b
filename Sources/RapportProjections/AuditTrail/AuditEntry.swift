public import Foundation
public import RapportEventLog

/// One field of an audited change: its name, and its value before and after
/// as JSON text (`"EUR"`, `12000.5`, `{"amount":12000,"currency":"EUR"}`).
/// A nil old value means the field was set (a creation, a new link); a nil
/// new value means it was removed or cleared.
///
/// ```swift
/// FieldChange(field: "stage", oldValue: "\"proposal\"", newValue: "\"negotiation\"")
/// ```
public struct FieldChange: Hashable, Sendable, Codable {
    /// The field, such as `amount`, `stage`, `owner`, `email` or `custom.seats`.
    public var field: String
    /// The value before, as JSON text; nil when there was none (or it is not recorded).
    public var oldValue: String?
    /// The value after, as JSON text; nil when the field was removed or cleared.
    public var newValue: String?

    public init(field: String, oldValue: String?, newValue: String?) {
        self.field = field
        self.oldValue = oldValue
        self.newValue = newValue
    }
}

/// One audited change, or one refused attempt: when, who, on which entity,
/// what action, which fields changed from what to what, through which
/// channel and as part of which operation.
///
/// ```swift
/// for entry in try audit.entries(.entity(kind: "deal", id: deal.description), in: store).items {
///     print(entry.recordedAt, entry.actor.id, entry.action, entry.changes.map(\.field))
/// }
/// ```
///
/// An entry keeps its fields in the compact form the trail stores (one
/// buffer), and reading a property decodes that field: a query copies each
/// entry's bytes once and builds no strings, so an entry whose fields are
/// never read costs little. Reading a property again decodes it again: keep
/// what you use many times (a long `changes`, say) in a local. Setting a
/// property writes the entry anew, every field decoded and written again,
/// at each assignment (`entry.changes[0].newValue = …` too): to change
/// several, make a new entry with ``init(position:eventID:streamID:recordedAt:occurredAt:actor:entityKind:entityID:action:changes:channel:correlationID:causationID:)``.
/// Times keep microseconds, the precision the log records.
public struct AuditEntry: Hashable, Sendable, Codable {
    /// The compact form: `CompactWriter.marker`, then the fields in the
    /// order of `Field`, checked when the entry was made (so reading a
    /// field cannot fail).
    private var stored: [UInt8]
    /// Where each field starts in `stored`, by `Field` (found when the
    /// bytes were checked): reading a field is one seek, not a walk.
    private var starts = FieldStarts()

    /// The event's place in the log.
    public var position: LogPosition {
        get { read(.position) { (r) throws(CompactReader.Malformed) in LogPosition(try r.unsigned()) } }
        set { update { $0.position = newValue } }
    }
    /// The event's id.
    public var eventID: EventID {
        get { read(.eventID) { (r) throws(CompactReader.Malformed) in EventID(try r.uuid()) } }
        set { update { $0.eventID = newValue } }
    }
    /// The stream the event is in.
    public var streamID: String {
        get { read(.streamID) { (r) throws(CompactReader.Malformed) in try r.string() } }
        set { update { $0.streamID = newValue } }
    }
    /// When the store recorded it.
    public var recordedAt: Date {
        get { read(.recordedAt) { (r) throws(CompactReader.Malformed) in try r.date() } }
        set { update { $0.recordedAt = newValue } }
    }
    /// When it happened, by the caller's clock.
    public var occurredAt: Date? {
        get { read(.occurredAt) { (r) throws(CompactReader.Malformed) in try r.optional { (r) throws(CompactReader.Malformed) in try r.date() } } }
        set { update { $0.occurredAt = newValue } }
    }
    /// Who did it, in which role.
    public var actor: Principal {
        get {
            read(.actor) { (r) throws(CompactReader.Malformed) in Principal(id: try r.string(), role: Principal.Role(try r.string())) }
        }
        set { update { $0.actor = newValue } }
    }
    /// The entity's kind (`deal`, `contact`, …). For a refused attempt, the entity it was refused on.
    public var entityKind: String {
        get { read(.entityKind) { (r) throws(CompactReader.Malformed) in try r.string() } }
        set { update { $0.entityKind = newValue } }
    }
    /// The entity's id.
    public var entityID: String {
        get { read(.entityID) { (r) throws(CompactReader.Malformed) in try r.string() } }
        set { update { $0.entityID = newValue } }
    }
    /// The event type, such as `DealAmountChanged` or `AccessDenied`.
    public var action: String {
        get { read(.action) { (r) throws(CompactReader.Malformed) in try r.string() } }
        set { update { $0.action = newValue } }
    }
    /// Every field of the change, in payload order.
    public var changes: [FieldChange] {
        get { read(.changes) { (r) throws(CompactReader.Malformed) in try Self.readChanges(&r) } }
        set { update { $0.changes = newValue } }
    }
    /// The channel it came in through.
    public var channel: Channel {
        get { read(.channel) { (r) throws(CompactReader.Malformed) in Channel(try r.string()) } }
        set { update { $0.channel = newValue } }
    }
    /// The request or operation it was part of.
    public var correlationID: UUID? {
        get { read(.correlationID) { (r) throws(CompactReader.Malformed) in try r.optional { (r) throws(CompactReader.Malformed) in try r.uuid() } } }
        set { update { $0.correlationID = newValue } }
    }
    /// The command or event that caused it.
    public var causationID: UUID? {
        get { read(.causationID) { (r) throws(CompactReader.Malformed) in try r.optional { (r) throws(CompactReader.Malformed) in try r.uuid() } } }
        set { update { $0.causationID = newValue } }
    }

    /// Whether this entry records a refused attempt rather than a change.
    public var isDenial: Bool {
        read(.action) { (r) throws(CompactReader.Malformed) in
            try r.peekString { $0.elementsEqual("AccessDenied".utf8) } ?? false
        }
    }

    /// An entry with these fields (times rounded to the microsecond).
    ///
    /// ```swift
    /// let entry = AuditEntry(
    ///     position: 42, eventID: EventID(), streamID: "deal-\(deal)", recordedAt: .now, occurredAt: nil,
    ///     actor: Principal(id: "user:anna", role: .salesRep), entityKind: "deal", entityID: deal.description,
    ///     action: "DealAmountChanged", changes: [FieldChange(field: "amount", oldValue: "100", newValue: "120")],
    ///     channel: .web, correlationID: nil, causationID: nil)
    /// ```
    public init(
        position: LogPosition, eventID: EventID, streamID: String, recordedAt: Date, occurredAt: Date?, actor: Principal,
        entityKind: String, entityID: String, action: String, changes: [FieldChange], channel: Channel,
        correlationID: UUID?, causationID: UUID?
    ) {
        self.init(Fields(
            position: position, eventID: eventID, streamID: streamID, recordedAt: recordedAt, occurredAt: occurredAt,
            actor: actor, entityKind: entityKind, entityID: entityID, action: action, changes: changes, channel: channel,
            correlationID: correlationID, causationID: causationID))
    }

    // MARK: Equality, hashing and coding, by the fields' values

    public static func == (lhs: AuditEntry, rhs: AuditEntry) -> Bool {
        lhs.stored == rhs.stored || Fields(lhs) == Fields(rhs)
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(Fields(self)) }

    private enum CodingKeys: String, CodingKey {
        case position, eventID, streamID, recordedAt, occurredAt, actor, entityKind, entityID, action, changes, channel
        case correlationID, causationID
    }

    /// Encodes every field, ids as lower-case text (as the CSV export and
    /// stream ids spell them); decoding takes either case.
    public func encode(to encoder: any Encoder) throws {
        let fields = Fields(self)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(fields.position, forKey: .position)
        try container.encode(fields.eventID, forKey: .eventID)
        try container.encode(fields.streamID, forKey: .streamID)
        try container.encode(fields.recordedAt, forKey: .recordedAt)
        try container.encodeIfPresent(fields.occurredAt, forKey: .occurredAt)
        try container.encode(fields.actor, forKey: .actor)
        try container.encode(fields.entityKind, forKey: .entityKind)
        try container.encode(fields.entityID, forKey: .entityID)
        try container.encode(fields.action, forKey: .action)
        try container.encode(fields.changes, forKey: .changes)
        try container.encode(fields.channel, forKey: .channel)
        try container.encodeIfPresent(fields.correlationID?.lowercasedText, forKey: .correlationID)
        try container.encodeIfPresent(fields.causationID?.lowercasedText, forKey: .causationID)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            position: try container.decode(LogPosition.self, forKey: .position),
            eventID: try container.decode(EventID.self, forKey: .eventID),
            streamID: try container.decode(String.self, forKey: .streamID),
            recordedAt: try container.decode(Date.self, forKey: .recordedAt),
            occurredAt: try container.decodeIfPresent(Date.self, forKey: .occurredAt),
            actor: try container.decode(Principal.self, forKey: .actor),
            entityKind: try container.decode(String.self, forKey: .entityKind),
            entityID: try container.decode(String.self, forKey: .entityID),
            action: try container.decode(String.self, forKey: .action),
            changes: try container.decode([FieldChange].self, forKey: .changes),
            channel: try container.decode(Channel.self, forKey: .channel),
            correlationID: try container.decodeIfPresent(UUID.self, forKey: .correlationID),
            causationID: try container.decodeIfPresent(UUID.self, forKey: .causationID))
    }
}

// MARK: - The compact form

extension AuditEntry: CompactValue {
    /// The stored fields, in the order they are written.
    fileprivate enum Field: Int, CaseIterable {
        case position, eventID, streamID, recordedAt, occurredAt, actor, entityKind, entityID, action, changes, channel
        case correlationID, causationID

        /// Every field, in order (`allCases` makes a new array at each call).
        static let ordered = allCases

        /// Moves `reader` past this field, checking what the decoder would.
        func skip(in reader: inout CompactReader) throws(CompactReader.Malformed) {
            switch self {
            case .position, .recordedAt: _ = try reader.unsigned()
            case .eventID: try reader.skip(16)
            case .streamID, .entityKind, .entityID, .action, .channel: try reader.skipString()
            case .occurredAt: if try reader.bool() { _ = try reader.unsigned() }
            case .actor:
                try reader.skipString()
                try reader.skipString()
            case .changes:
                for _ in 0..<(try reader.count()) {
                    try reader.skipString()
                    if try reader.bool() { try reader.skipString() }
                    if try reader.bool() { try reader.skipString() }
                }
            case .correlationID, .causationID: if try reader.bool() { try reader.skip(16) }
            }
        }
    }

    /// Every field decoded: what the setters, equality and coding work on.
    fileprivate struct Fields: Hashable {
        var position: LogPosition, eventID: EventID, streamID: String, recordedAt: Date, occurredAt: Date?, actor: Principal
        var entityKind: String, entityID: String, action: String, changes: [FieldChange], channel: Channel
        var correlationID: UUID?, causationID: UUID?
    }

    private init(_ fields: Fields) {
        var out = CompactWriter(capacity: 256)
        var starts = FieldStarts()
        // An entry of 4 GiB or more would trap here (no store takes a value that large: LMDB's and PostgreSQL's limits are far below).
        func next(_ field: Field) { starts[field.rawValue] = UInt32(out.bytes.count) }
        next(.position)
        out.unsigned(fields.position.rawValue)
        next(.eventID)
        out.uuid(fields.eventID.uuid)
        next(.streamID)
        out.string(fields.streamID)
        next(.recordedAt)
        out.date(fields.recordedAt)
        next(.occurredAt)
        out.optional(fields.occurredAt) { $0.date($1) }
        next(.actor)
        out.principal(fields.actor)
        next(.entityKind)
        out.string(fields.entityKind)
        next(.entityID)
        out.string(fields.entityID)
        next(.action)
        out.string(fields.action)
        next(.changes)
        out.unsigned(UInt64(fields.changes.count))
        for change in fields.changes {
            out.string(change.field)
            out.optional(change.oldValue) { $0.string($1) }
            out.optional(change.newValue) { $0.string($1) }
        }
        next(.channel)
        out.string(fields.channel.rawValue)
        next(.correlationID)
        out.optional(fields.correlationID) { $0.uuid($1) }
        next(.causationID)
        out.optional(fields.causationID) { $0.uuid($1) }
        stored = out.bytes
        self.starts = starts
    }

    /// Decodes every field, lets `change` alter them, and writes the entry anew.
    private mutating func update(_ change: (inout Fields) -> Void) {
        var fields = Fields(self)
        change(&fields)
        self = AuditEntry(fields)
    }

    /// Reads `field` with `body`, from where it starts.
    private func read<T>(_ field: Field, _ body: (inout CompactReader) throws(CompactReader.Malformed) -> T) -> T {
        let start = Int(starts[field.rawValue])
        let result = stored.withUnsafeBytes { (bytes) -> Result<T, CompactReader.Malformed> in
            Result { () throws(CompactReader.Malformed) in
                var reader = try CompactReader(borrowing: bytes)
                try reader.skip(start - reader.offset)
                return try body(&reader)
            }
        }
        switch result {
        case .success(let value): return value
        case .failure(let error): preconditionFailure("an audit entry's bytes are checked when it is made: \(error)")
        }
    }

    private static func readChanges(_ reader: inout CompactReader) throws(CompactReader.Malformed) -> [FieldChange] {
        let count = try reader.count()
        var changes: [FieldChange] = []
        changes.reserveCapacity(count)
        for _ in 0..<count {
            changes.append(FieldChange(
                field: try reader.string(),
                oldValue: try reader.optional { (r) throws(CompactReader.Malformed) in try r.string() },
                newValue: try reader.optional { (r) throws(CompactReader.Malformed) in try r.string() }))
        }
        return changes
    }

    var compactBytes: [UInt8] { stored }

    func write(to out: inout CompactWriter) { out.raw(stored.dropFirst()) }

    /// Checks every field and keeps their bytes; nothing is decoded.
    init(from input: inout CompactReader) throws(CompactReader.Malformed) {
        // Starts counted as in `stored`, whose marker is byte 0.
        let base = input.offset - 1
        for field in Field.ordered {
            guard let start = UInt32(exactly: input.offset - base) else { throw CompactReader.Malformed(reason: "an entry of 4 GiB") }
            starts[field.rawValue] = start
            try field.skip(in: &input)
        }
        let fields = input.bytes(since: base + 1)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(fields.count + 1)
        bytes.append(CompactWriter.marker)
        bytes.append(contentsOf: fields)
        stored = bytes
    }
}

extension AuditEntry.Fields {
    /// The fields of `entry`, each decoded (an extension, so the struct keeps its memberwise initializer).
    init(_ entry: AuditEntry) {
        self.init(
            position: entry.position, eventID: entry.eventID, streamID: entry.streamID, recordedAt: entry.recordedAt,
            occurredAt: entry.occurredAt, actor: entry.actor, entityKind: entry.entityKind, entityID: entry.entityID,
            action: entry.action, changes: entry.changes, channel: entry.channel, correlationID: entry.correlationID,
            causationID: entry.causationID)
    }
}

/// Where each of an entry's 13 fields starts: inline, no allocation.
private struct FieldStarts {
    private var starts: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    subscript(field: Int) -> UInt32 {
        get {
            precondition(field >= 0 && field < 13, "no field \(field)")
            return withUnsafeBytes(of: starts) { $0.load(fromByteOffset: field * 4, as: UInt32.self) }
        }
        set {
            precondition(field >= 0 && field < 13, "no field \(field)")
            withUnsafeMutableBytes(of: &starts) { $0.storeBytes(of: newValue, toByteOffset: field * 4, as: UInt32.self) }
        }
    }
}
