public import Foundation
public import RapportEventLog

/// What an access policy is asked: may this principal run this command on this entity?
public struct AccessRequest: Sendable, Hashable {
    /// Who is acting.
    public var actor: Principal
    /// The command's name, such as `deal.moveToStage`.
    public var command: String
    /// The aggregate's kind, such as `deal`.
    public var entityKind: String
    /// The aggregate's id.
    public var entityID: String
    /// The aggregate's current owner, if it has one.
    public var ownerID: String?
    /// Whether the command creates the aggregate.
    public var isCreation: Bool
    /// Whether the command needs elevated rights (merge, archive, restore, …).
    public var isSensitive: Bool

    /// Creates a request; the repository builds one for every command it runs.
    public init(actor: Principal, command: String, entityKind: String, entityID: String, ownerID: String?, isCreation: Bool, isSensitive: Bool) {
        self.actor = actor
        self.command = command
        self.entityKind = entityKind
        self.entityID = entityID
        self.ownerID = ownerID
        self.isCreation = isCreation
        self.isSensitive = isSensitive
    }
}

/// A policy's answer.
public enum AccessDecision: Sendable, Hashable {
    /// The command may run.
    case allow
    /// Refused, with the reason recorded and shown.
    case deny(reason: String)
}

/// Decides, per principal and command, whether the command may run. A denied
/// command appends an ``AccessDenied`` event and throws
/// ``CRMError/accessDenied(actor:command:entity:reason:)``; nothing else changes.
///
/// ```swift
/// struct BusinessHoursOnly: AccessPolicy {
///     func decide(_ request: AccessRequest) -> AccessDecision {
///         request.actor.role == .admin || isBusinessHours() ? .allow : .deny(reason: "outside business hours")
///     }
/// }
/// ```
public protocol AccessPolicy: Sendable {
    /// Allows `request`, or denies it with a reason that is recorded in ``AccessDenied`` and shown.
    func decide(_ request: AccessRequest) -> AccessDecision
}

/// Allows everything. The default.
public struct AllowAllPolicy: AccessPolicy {
    /// Creates the policy.
    public init() {}
    /// Allows every request.
    public func decide(_ request: AccessRequest) -> AccessDecision { .allow }
}

/// Rights by role, the usual shape of a sales team's rules:
///
/// | role | may |
/// |------|-----|
/// | admin | everything |
/// | sales manager | everything but sensitive commands (merge, archive, restore) |
/// | sales rep | create; change only what they own (or what has no owner) |
/// | marketing | contacts, companies, leads and campaigns, but not deals |
/// | support | activities, tasks and contacts they own or that have no owner |
/// | system | everything but sensitive commands (imports, automations) |
///
/// Other roles are refused. Pass `rules` to change any of it.
///
/// ```swift
/// let repository = Repository(store: store, policy: RoleBasedAccessPolicy())
/// ```
public struct RoleBasedAccessPolicy: AccessPolicy {
    /// One role's rights.
    public struct Rule: Sendable {
        /// Kinds the role may touch at all; nil for every kind.
        public var kinds: Set<String>?
        /// Whether the role may change aggregates owned by someone else.
        public var mayChangeOthers: Bool
        /// Whether the role may run sensitive commands.
        public var maySensitive: Bool

        /// A rule: the kinds the role may work on (all when nil), and what it may do there.
        public init(kinds: Set<String>? = nil, mayChangeOthers: Bool, maySensitive: Bool) {
            self.kinds = kinds
            self.mayChangeOthers = mayChangeOthers
            self.maySensitive = maySensitive
        }
    }

    /// The rules by role.
    public var rules: [Principal.Role: Rule]

    /// The table above.
    public static let defaultRules: [Principal.Role: Rule] = [
        .admin: Rule(mayChangeOthers: true, maySensitive: true),
        .salesManager: Rule(mayChangeOthers: true, maySensitive: false),
        .salesRep: Rule(mayChangeOthers: false, maySensitive: false),
        .marketing: Rule(kinds: ["contact", "company", "lead", "campaign"], mayChangeOthers: true, maySensitive: false),
        .support: Rule(kinds: ["activity", "task", "contact"], mayChangeOthers: false, maySensitive: false),
        .system: Rule(mayChangeOthers: true, maySensitive: false),
    ]

    /// A policy with these rules per role (``defaultRules`` unless given); a
    /// role without a rule is refused everything.
    ///
    /// ```swift
    /// var rules = RoleBasedAccessPolicy.defaultRules
    /// rules[.support] = .init(mayChangeOthers: true, maySensitive: false)
    /// let policy = RoleBasedAccessPolicy(rules: rules)
    /// ```
    public init(rules: [Principal.Role: Rule] = RoleBasedAccessPolicy.defaultRules) {
        self.rules = rules
    }

    /// Applies the rule of the actor's role: refuses a role without a rule, a kind outside the rule's
    /// ``Rule/kinds``, a sensitive command without ``Rule/maySensitive``, and, without
    /// ``Rule/mayChangeOthers``, a change to an aggregate someone else owns (creating one, or changing
    /// one without an owner, is allowed). Everything else is allowed.
    ///
    /// A refused sensitive command's reason names the roles that may run it under these ``rules``
    /// (those that may run sensitive commands on that kind), in alphabetical order:
    ///
    /// ```swift
    /// RoleBasedAccessPolicy().decide(archiveByRep)   // .deny(reason: "only the role admin may run contact.archive")
    /// // with rules[.salesManager] = .init(mayChangeOthers: true, maySensitive: true):
    /// //     "only the roles admin and sales-manager may run contact.archive"
    /// // with no such role: "no role may run contact.archive"
    /// ```
    public func decide(_ request: AccessRequest) -> AccessDecision {
        let role = request.actor.role
        guard let rule = rules[role] else { return .deny(reason: "the role \(role) has no rights") }
        if let kinds = rule.kinds, !kinds.contains(request.entityKind) {
            return .deny(reason: "the role \(role) may not work on \(request.entityKind)s")
        }
        if request.isSensitive && !rule.maySensitive {
            return .deny(reason: sensitiveRefusal(request))
        }
        if !request.isCreation && !rule.mayChangeOthers, let owner = request.ownerID, owner != request.actor.id {
            return .deny(reason: "the \(request.entityKind) is owned by \(owner)")
        }
        return .allow
    }
}

extension RoleBasedAccessPolicy {
    /// Why a sensitive command is refused: the roles whose rule lets them run it (sensitive
    /// commands allowed, the entity's kind among their kinds), by name.
    func sensitiveRefusal(_ request: AccessRequest) -> String {
        let roles = rules.compactMap { role, rule -> String? in
            guard rule.maySensitive, rule.kinds?.contains(request.entityKind) ?? true else { return nil }
            return role.rawValue
        }.sorted()
        switch roles.count {
        case 0: return "no role may run \(request.command)"
        case 1: return "only the role \(roles[0]) may run \(request.command)"
        default:
            return "only the roles \(roles.dropLast().joined(separator: ", ")) and \(roles[roles.count - 1]) may run \(request.command)"
        }
    }
}

/// Recorded when the access policy refuses a command: who, what, when and why.
/// Stored in the stream `access-denied`, tagged with the entity and `actor:<id>`.
public struct AccessDenied: Event {
    /// The type name stored with the event: "AccessDenied".
    public static let typeName = "AccessDenied"
    /// The refused command.
    public var command: String
    /// The entity's tag, such as `deal:<uuid>`.
    public var entity: String
    /// The policy's reason.
    public var reason: String
    /// When it was refused.
    public var at: Date

    /// Creates the record; the repository appends one, at the command's time, for every refusal.
    public init(command: String, entity: String, reason: String, at: Date) {
        self.command = command
        self.entity = entity
        self.reason = reason
        self.at = at
    }
}
