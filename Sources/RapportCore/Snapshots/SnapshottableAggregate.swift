/// An aggregate whose state can be saved as a snapshot, so that loading it
/// replays only the events after the snapshot instead of its whole stream.
///
/// The state is stored as JSON through `Codable`. Every CRM aggregate
/// conforms; so can yours:
///
/// ```swift
/// struct Subscription: SnapshottableAggregate {
///     static let kind = "subscription"
///     static let eventTypes: [any Event.Type] = [SubscriptionStarted.self, SubscriptionRenewed.self]
///     /// Raise when a stored property or `apply(_:)` changes.
///     static let snapshotSchemaVersion: UInt32 = 1
///
///     let id: Identifier<Subscription>
///     var renewals = 0
///     init(id: Identifier<Subscription>) { self.id = id }
///     mutating func apply(_ event: any Event) {
///         if event is SubscriptionRenewed { renewals += 1 }
///     }
/// }
/// ```
///
/// A snapshot is used only when it was written with the same
/// ``snapshotSchemaVersion`` and the same ``Aggregate/eventTypes`` (names and
/// schema versions); any other is ignored and replaced. Adding an event type or
/// an event schema version is noticed by itself; a change to a stored
/// property or to what `apply(_:)` does with an existing event is not:
/// raise ``snapshotSchemaVersion`` with it.
public protocol SnapshottableAggregate: Aggregate, Codable {
    /// The version of the state's shape and of how ``Aggregate/apply(_:)``
    /// builds it. Raise it whenever either changes.
    static var snapshotSchemaVersion: UInt32 { get }
}
