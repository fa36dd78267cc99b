public import RapportEventLog

/// A CRM entity whose state is the fold of its events: a contact, a company,
/// a lead, a deal, an activity, a task or a campaign.
///
/// An aggregate never changes itself directly: a ``Command`` decides which
/// events to append, and ``apply(_:)`` folds stored events into state.
///
/// ```swift
/// var contact = Contact(id: id)
/// for event in events { contact.apply(event) }
/// ```
public protocol Aggregate: Sendable {
    /// The kind, used in stream ids (`contact-<uuid>`) and tags
    /// (`contact:<uuid>`): an entity kind, 1 to 40 ASCII lower-case letters,
    /// digits or `-`, starting with a letter, as ``EntityRef/init(kind:id:)``
    /// requires. Every CRM aggregate's is; so must yours be. A ``Repository``
    /// refuses to load or change an aggregate whose kind is not, with
    /// ``CRMError/invalidValue(field:reason:)`` (field `kind`); links to it
    /// are refused, and references to it do not decode.
    ///
    /// ```swift
    /// static let kind = "subscription"
    /// ```
    static var kind: String { get }
    /// The current versions of every event type this aggregate applies.
    static var eventTypes: [any Event.Type] { get }
    /// Older schema versions and how to read them as current ones.
    static func registerUpcasters(in registry: inout EventTypeRegistry)

    /// The identity.
    var id: Identifier<Self> { get }
    /// The state before any event.
    init(id: Identifier<Self>)
    /// Folds one stored event into the state. Unknown events are ignored.
    mutating func apply(_ event: any Event)

    /// The principal who owns the aggregate, for access policies and `owner:` tags.
    var ownerID: String? { get }
    /// Tags for `event` beyond the aggregate's own and its owner's (linked
    /// companies, deals, contacts…), so projections find every event that
    /// touches an entity.
    func extraTags(for event: any Event) -> [Tag]
}

extension Aggregate {
    /// No upcasters: by default an aggregate has no older event versions to read.
    public static func registerUpcasters(in registry: inout EventTypeRegistry) {}
    /// No owner by default.
    public var ownerID: String? { nil }
    /// No extra tags by default: events carry only the aggregate's own tag and its owner's.
    public func extraTags(for event: any Event) -> [Tag] { [] }
}

/// An aggregate together with the stream version it was loaded at.
public struct Loaded<A: Aggregate>: Sendable {
    /// The state.
    public var state: A
    /// The version of its stream; 0 when it has no events yet.
    public var version: UInt64

    /// Whether the aggregate has any event.
    public var exists: Bool { version > 0 }
}

/// A request to change one aggregate: a name for access policies and audits,
/// and the decision that turns the current state into new events.
///
/// Commands are defined next to their aggregate:
///
/// ```swift
/// extension Command where A == Contact {
///     public static func changeJobTitle(_ title: String) -> Self {
///         Command(name: "contact.changeJobTitle") { contact, context in
///             [ContactJobTitleChanged(from: contact.jobTitle, to: title)]
///         }
///     }
/// }
/// try await repository.execute(.changeJobTitle("CTO"), on: contactID, context: context)
/// ```
public struct Command<A: Aggregate>: Sendable {
    /// Whether the command creates the aggregate or needs it to exist.
    public enum Target: Sendable {
        /// The aggregate must not exist yet.
        case new
        /// The aggregate must exist.
        case existing
    }

    /// The command's name, `kind.verb` (as access policies and audits see it).
    public let name: String
    /// What the command expects of the aggregate's existence.
    public let target: Target
    /// Whether the command needs elevated rights (merge, archive, …).
    public let isSensitive: Bool
    /// Decides the events; throws ``CRMError`` to refuse.
    public let decide: @Sendable (A, CommandContext) throws(CRMError) -> [any Event]

    /// Creates a command.
    public init(
        name: String, target: Target = .existing, isSensitive: Bool = false,
        decide: @escaping @Sendable (A, CommandContext) throws(CRMError) -> [any Event]
    ) {
        self.name = name
        self.target = target
        self.isSensitive = isSensitive
        self.decide = decide
    }
}
