import Foundation
public import RapportEventLog
public import RapportReplay

/// Audit trails: every change in the log as an ``AuditEntry`` (when, who,
/// which entity, what action, every field's old and new value, channel,
/// correlation id), refused attempts (`AccessDenied`) included, queryable
/// by actor and time, by entity, by field and by action, and exportable as
/// CSV or JSON Lines in constant memory.
///
/// ```swift
/// let audit = AuditTrail()
/// try await ProjectionRunner(log: store, storage: store, projections: [audit], registry: .crm).catchUp()
/// let march = try await AuditTrail.positions(from: march1, through: march31, in: store)
/// let annaInMarch = try audit.entries(AuditQuery(.actor("user:anna"), positions: march), in: store)
/// let amount = try audit.entries(.field("amount", kind: "deal", id: deal.description), in: store)
/// ```
///
/// Nothing is coalesced or capped: one entry per event, every field of its
/// payload, in log order. Field changes are derived from the payload JSON
/// (see ``FieldChange``); it needs no registry, so it audits event types it
/// does not know too.
///
/// ## Read model
///
/// | key | value |
/// |-----|-------|
/// | `entry/<position>` | the ``AuditEntry`` |
/// | `actor/<actor>/<position>` | the ``AuditEntry`` again |
/// | `entity/<kind>/<id>/<position>` | index |
/// | `action/<type>/<position>` | index |
///
/// Actors, kinds, ids and types are escaped key components (`%` and `/`
/// escaped); one longer than 128 bytes is replaced by `%H` and its SHA-256
/// in hex, so that every key fits a store's key limit (LMDB: 511 bytes)
/// whatever the stream id. Queries build their keys the same way.
///
/// Positions are 20-digit zero-padded, so each index is in log order and a
/// position range is one seek and a walk. The actor index holds the entries
/// themselves, so "everything Anna did in March" reads one contiguous run
/// of keys. A field's changes are found through its entity's index.
public struct AuditTrail: Projection {
    public let name: String
    /// 2: entries in the actor index; no field index. 3: a key component
    /// longer than 128 bytes (escaped) is stored as its digest, so every key
    /// fits LMDB's limit (a trail of version 2 is rebuilt). 4: key components
    /// in Unicode normalization form C, so an actor or action spelled another
    /// way finds the same entries. 5: a reference by id is named as the
    /// field its later changes name (`ownerID` → `owner`), and a deal's
    /// currency change is a change of `amount`.
    public let version = 5
    /// Every event; payloads are read as JSON fields, never decoded.
    public let interest = ProjectionInterest(decoding: [])

    /// An audit trail stored under `name`.
    public init(name: String = "audit-trail") { self.name = name }

    public func apply(_ event: RecordedEvent, decoded: (any Event)?, to model: inout ReadModelContext) throws {
        let (entry, entity) = Self.entryAndEntity(for: event)
        let keys = Keys(of: event, entity: entity)
        let bytes = Stored.encode(entry)
        model.setValue(bytes, forKey: keys.entry)
        model.setValue(bytes, forKey: keys.actor)
        model.mark(keys.entity)
        model.mark(keys.action)
    }

    /// Where an entry is stored: under its own key and in the actor index
    /// (the entry's bytes), and in the entity and action indexes (markers).
    /// Built from the event, not read back from the entry (whose fields are
    /// decoded when read).
    /// ``verify(in:against:progress:)`` reads the same keys.
    struct Keys {
        let entry: String, actor: String, entity: String, action: String

        /// The keys of `event`'s entry, filed under `entity` (see ``entryAndEntity(for:)``).
        init(of event: RecordedEvent, entity: (kind: String, id: String)) {
            let position = Key.position(event.position)
            self.entry = "entry/\(position)"
            actor = "actor/\(Key.boundedComponent(event.metadata.actor.id))/\(position)"
            self.entity = "entity/\(Key.boundedComponent(entity.kind))/\(Key.boundedComponent(entity.id))/\(position)"
            action = "action/\(Key.boundedComponent(event.type))/\(position)"
        }
    }

    /// The audit entry of one recorded event.
    ///
    /// ```swift
    /// let entry = AuditTrail.entry(for: record)
    /// ```
    public static func entry(for event: RecordedEvent) -> AuditEntry {
        entryAndEntity(for: event).entry
    }

    /// The audit entry of `event`, and the entity it is filed under (its
    /// fields as they went in, so the keys need not read them back).
    static func entryAndEntity(for event: RecordedEvent) -> (entry: AuditEntry, entity: (kind: String, id: String)) {
        var entity = event.streamEntity
        let changes = ChangeDescription.changes(type: event.type, payload: event.payload)
        if event.type == "AccessDenied",
           let tag = changes.first(where: { $0.field == "entity" })?.newValue.flatMap(JSONFields.string),
           let colon = tag.firstIndex(of: ":") {
            entity = (String(tag[..<colon]), String(tag[tag.index(after: colon)...]))
        }
        let entry = AuditEntry(
            position: event.position, eventID: event.id, streamID: event.streamID.rawValue, recordedAt: event.recordedAt,
            occurredAt: event.occurredAt, actor: event.metadata.actor, entityKind: entity.kind, entityID: entity.id,
            action: event.type, changes: changes, channel: event.metadata.channel,
            correlationID: event.metadata.correlationID, causationID: event.metadata.causationID)
        return (entry, entity)
    }
}
