public import Foundation

/// Who did something: an identifier and the role they acted in.
///
/// Every event names its principal, so an audit can always answer "who".
/// Automations, imports and API keys are principals too.
///
/// ```swift
/// let anna = Principal(id: "user:anna", role: .salesRep)
/// let nightly = Principal(id: "job:nightly-import", role: .system)
/// ```
public struct Principal: Hashable, Sendable, Codable, CustomStringConvertible {
    /// A stable identifier of the person, service account, key or job, kept
    /// in Unicode normalization form C (as stream ids are), so that two
    /// spellings of one name are one actor in queries and indexes.
    public var id: String { didSet { id = TextRules.canonical(id) } }
    /// The role the principal acted in.
    public var role: Role

    /// Creates a principal.
    public init(id: String, role: Role) {
        self.id = TextRules.canonical(id)
        self.role = role
    }

    /// A principal as a stored record holds it, its id kept byte for byte
    /// (records are written with names in normalization form C already).
    package init(unchecked id: String, role: Role) {
        self.id = id
        self.role = role
    }

    private enum CodingKeys: String, CodingKey { case id, role }

    /// Decodes a principal, its id in normalization form C.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(id: try container.decode(String.self, forKey: .id), role: try container.decode(Role.self, forKey: .role))
    }

    public var description: String { "\(id) (\(role))" }

    /// A role, such as `salesRep` or `admin`. Applications may define their own.
    ///
    /// ```swift
    /// extension Principal.Role { static let partner = Principal.Role("partner") }
    /// ```
    public struct Role: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral,
        CustomStringConvertible
    {
        /// The role's name, in Unicode normalization form C.
        public var rawValue: String { didSet { rawValue = TextRules.canonical(rawValue) } }
        public init(rawValue: String) { self.rawValue = TextRules.canonical(rawValue) }
        public init(_ rawValue: String) { self.init(rawValue: rawValue) }
        public init(stringLiteral value: String) { self.init(rawValue: value) }
        /// A role as a stored record holds it, byte for byte.
        package init(unchecked rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let salesRep = Role("sales-rep")
        public static let salesManager = Role("sales-manager")
        public static let marketing = Role("marketing")
        public static let support = Role("support")
        public static let admin = Role("admin")
        /// An automation, import job or integration acting on its own.
        public static let system = Role("system")
    }
}

/// The way a change reached the system.
///
/// ```swift
/// let metadata = EventMetadata(actor: anna, channel: .phone)
/// ```
public struct Channel: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    /// The channel's name, in Unicode normalization form C.
    public var rawValue: String { didSet { rawValue = TextRules.canonical(rawValue) } }
    public init(rawValue: String) { self.rawValue = TextRules.canonical(rawValue) }
    /// A channel of your own, such as `Channel("whatsapp")`.
    public init(_ rawValue: String) { self.init(rawValue: rawValue) }
    public init(stringLiteral value: String) { self.init(rawValue: value) }
    /// A channel as a stored record holds it, byte for byte.
    package init(unchecked rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// The application's own user interface.
    public static let ui = Channel("ui")
    /// A program calling the API.
    public static let api = Channel("api")
    /// An import of existing data.
    public static let `import` = Channel("import")
    /// A phone call.
    public static let phone = Channel("phone")
    /// An email.
    public static let email = Channel("email")
    /// A text message.
    public static let sms = Channel("sms")
    /// A chat conversation.
    public static let chat = Channel("chat")
    /// A meeting, in person or online.
    public static let meeting = Channel("meeting")
    /// A form filled in on a web site (`web-form`).
    public static let webForm = Channel("web-form")
    /// A rule or job acting on its own (a reminder, a workflow).
    public static let automation = Channel("automation")
}

/// What is recorded about the circumstances of an event: who did it, through
/// which channel, and which request or event caused it.
///
/// ```swift
/// let metadata = EventMetadata(
///     actor: Principal(id: "user:anna", role: .salesRep),
///     channel: .ui,
///     correlationID: requestID
/// )
/// ```
public struct EventMetadata: Hashable, Sendable, Codable {
    /// Who made the change. Required.
    public var actor: Principal
    /// How the change came in.
    public var channel: Channel
    /// The id shared by everything done for one request or one business operation.
    public var correlationID: UUID?
    /// The id of the command or event that directly caused this one.
    public var causationID: UUID?

    /// Creates metadata.
    public init(actor: Principal, channel: Channel, correlationID: UUID? = nil, causationID: UUID? = nil) {
        self.actor = actor
        self.channel = channel
        self.correlationID = correlationID
        self.causationID = causationID
    }
}
