public import Foundation
public import RapportEventLog

/// Who runs a command, through which channel, and why: every event the
/// command produces records it.
///
/// ```swift
/// let context = CommandContext(actor: Principal(id: "user:anna", role: .salesRep), channel: .phone)
/// try await repository.execute(.logCall(...), on: activityID, context: context)
/// ```
public struct CommandContext: Sendable {
    /// Who is acting.
    public var actor: Principal
    /// How the command came in.
    public var channel: Channel
    /// Shared by everything done for one request; a new id by default.
    public var correlationID: UUID
    /// The command or event that caused this one, if any.
    public var causationID: UUID?
    /// The time the command is taken to happen at (the events' occurred-at),
    /// in whole seconds: payload dates are stored to the second (ISO 8601),
    /// so a decided event and the same event read back are equal. A value
    /// set later (`context.now = row.closedAt`) is truncated too.
    public var now: Date {
        didSet { now = Self.wholeSecond(now) }
    }

    /// Creates a context. `now` is truncated to the whole second.
    public init(actor: Principal, channel: Channel, correlationID: UUID = UUID(), causationID: UUID? = nil, now: Date = Date()) {
        self.actor = actor
        self.channel = channel
        self.correlationID = correlationID
        self.causationID = causationID
        self.now = Self.wholeSecond(now)
    }

    private static func wholeSecond(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }

    /// The metadata for events of this command.
    public var metadata: EventMetadata {
        EventMetadata(actor: actor, channel: channel, correlationID: correlationID, causationID: causationID)
    }
}
