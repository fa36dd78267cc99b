public import Foundation
public import RapportCore
public import RapportEventLog

/// One line of a contact's timeline: an event that touched the contact, its
/// company, one of its deals, or an activity, task or campaign it is part of.
///
/// ```swift
/// let page = try history.timeline(of: ada, in: store)
/// for entry in page.items {
///     print(entry.recordedAt, entry.type, entry.entityKind, entry.via, entry.actor.id)
/// }
/// ```
public struct TimelineEntry: Hashable, Sendable, Codable {
    /// How an event reached a contact's timeline.
    public enum Via: String, Hashable, Sendable, Codable {
        /// The event is tagged with the contact itself.
        case contact
        /// The event is about the contact's company (or an activity or task linked to it).
        case company
        /// The event is about one of the contact's deals (or an activity or task linked to it).
        case deal
    }

    /// The contact whose timeline holds the entry. In a survivor's timeline,
    /// entries from a merged duplicate's history name the duplicate.
    public var contactID: ContactID
    /// The event's place in the log.
    public var position: LogPosition
    /// The event's id.
    public var eventID: EventID
    /// The event type, such as `DealStageChanged`.
    public var type: String
    /// The kind of entity whose stream the event is in: `contact`, `company`, `deal`, `activity`, `task`, `campaign`, `lead`.
    public var entityKind: String
    /// That entity's id.
    public var entityID: String
    /// How the event reached this contact.
    public var via: Via
    /// Who made the change.
    public var actor: Principal
    /// The channel the change came in through (the event's metadata).
    public var channel: Channel
    /// For activities: the channel the interaction took place on (`phone` for
    /// a call); nil for a note, which takes place on no channel.
    public var interactionChannel: Channel?
    /// For activities: `call`, `meeting`, `email`, `sms`, `chat`, `note`, `web-form`.
    public var activityType: String?
    /// When the store recorded it.
    public var recordedAt: Date
    /// When it happened, by the caller's clock.
    public var occurredAt: Date?
    /// The request or operation it was part of.
    public var correlationID: UUID?

    /// When it happened: ``occurredAt``, or ``recordedAt`` when none was given.
    public var date: Date { occurredAt ?? recordedAt }

    /// Encodes every field, ids as lower-case text; decoding takes either case.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(contactID, forKey: .contactID)
        try container.encode(position, forKey: .position)
        try container.encode(eventID, forKey: .eventID)
        try container.encode(type, forKey: .type)
        try container.encode(entityKind, forKey: .entityKind)
        try container.encode(entityID, forKey: .entityID)
        try container.encode(via, forKey: .via)
        try container.encode(actor, forKey: .actor)
        try container.encode(channel, forKey: .channel)
        try container.encodeIfPresent(interactionChannel, forKey: .interactionChannel)
        try container.encodeIfPresent(activityType, forKey: .activityType)
        try container.encode(recordedAt, forKey: .recordedAt)
        try container.encodeIfPresent(occurredAt, forKey: .occurredAt)
        try container.encodeIfPresent(correlationID?.lowercasedText, forKey: .correlationID)
    }
}

/// What a timeline query keeps. Every criterion given must match; nil means "any".
///
/// ```swift
/// TimelineFilter(kinds: ["activity"], channels: [.phone, .email])
/// TimelineFilter(period: march1...march31)       // by when it happened
/// ```
public struct TimelineFilter: Hashable, Sendable {
    /// Entity kinds to keep (`contact`, `company`, `deal`, `activity`, `task`, `campaign`, `lead`).
    public var kinds: Set<String>?
    /// Channels to keep: an entry matches by its metadata channel or its interaction channel.
    public var channels: Set<Channel>?
    /// Event types to keep.
    public var types: Set<String>?
    /// Keep entries whose ``TimelineEntry/date`` falls in this range (inclusive).
    public var period: ClosedRange<Date>?

    /// A filter; each criterion left nil keeps everything, and an entry must pass every one given.
    public init(kinds: Set<String>? = nil, channels: Set<Channel>? = nil, types: Set<String>? = nil, period: ClosedRange<Date>? = nil) {
        self.kinds = kinds
        self.channels = channels
        self.types = types
        self.period = period
    }

    /// Whether `entry` passes.
    public func matches(_ entry: TimelineEntry) -> Bool {
        if let kinds, !kinds.contains(entry.entityKind) { return false }
        if let channels, !channels.contains(entry.channel), !(entry.interactionChannel.map(channels.contains) ?? false) { return false }
        if let types, !types.contains(entry.type) { return false }
        if let period, !period.contains(entry.date) { return false }
        return true
    }
}

/// When a contact was last contacted: the latest call, meeting, email, SMS or
/// chat linked to them (notes and web forms do not count).
///
/// ```swift
/// if let last = try history.lastContacted(ada, in: store) { print(last.at, last.activityType) }
/// ```
public struct LastContact: Hashable, Sendable, Codable {
    /// The contact.
    public var contactID: ContactID
    /// The contact's owner, if any.
    public var owner: String?
    /// When the latest contact happened (the activity's occurred-at); nil: never contacted.
    public var at: Date?
    /// The activity.
    public var activityID: String?
    /// Its type (`call`, `meeting`, `email`, `sms`, `chat`).
    public var activityType: String?
}
