public import Foundation
public import RapportEventLog

/// Why a CRM command was refused. A refused command appends nothing (except
/// the access-denied record for ``accessDenied(actor:command:entity:reason:)``).
///
/// ```swift
/// do {
///     try await repository.markDealWon(deal, finalAmount: amount, context: context)
/// } catch .dealClosed(let id, let status) {
///     print("deal \(id) is already \(status)")
/// }
/// ```
public enum CRMError: Error, Hashable, Sendable, CustomStringConvertible, LocalizedError {
    /// A field's value is not acceptable (an empty name, a malformed phone number, …).
    case invalidValue(field: String, reason: String)
    /// The email address is not valid.
    case invalidEmail(String)
    /// A negative amount, or an amount in another currency than expected.
    case invalidAmount(String)
    /// The aggregate does not exist.
    case notFound(kind: String, id: String)
    /// An aggregate with this id exists already.
    case alreadyExists(kind: String, id: String)
    /// The contact was merged into another; send the command to the survivor.
    case contactMerged(id: String, into: String)
    /// The aggregate is archived; restore it first.
    case archived(kind: String, id: String)
    /// The deal is won or lost; reopen it first.
    case dealClosed(id: String, status: String)
    /// The stage is not in the deal's pipeline.
    case unknownStage(stage: String, pipeline: String)
    /// The command does not fit the aggregate's current state.
    case invalidTransition(kind: String, id: String, reason: String)
    /// The access policy refused the command; an access-denied event was recorded.
    case accessDenied(actor: String, command: String, entity: String, reason: String)
    /// Someone else changed the aggregate since it was loaded; reload and decide again.
    case concurrencyConflict(stream: String, expected: UInt64, actual: UInt64)
    /// The store failed.
    case store(EventStoreError)

    /// The same as ``description``, for `localizedDescription`.
    public var errorDescription: String? { description }

    /// The message: one sentence saying what was refused and why, such as `There is no deal <id>.`;
    /// for ``store(_:)``, the store error's own description.
    public var description: String {
        switch self {
        case .invalidValue(let field, let reason): return "Invalid \(field): \(reason)."
        case .invalidEmail(let email): return "Invalid email address \"\(email)\"."
        case .invalidAmount(let reason): return "Invalid amount: \(reason)."
        case .notFound(let kind, let id): return "There is no \(kind) \(id)."
        case .alreadyExists(let kind, let id): return "The \(kind) \(id) exists already."
        case .contactMerged(let id, let survivor): return "Contact \(id) was merged into contact \(survivor); use that one."
        case .archived(let kind, let id): return "The \(kind) \(id) is archived; restore it first."
        case .dealClosed(let id, let status): return "Deal \(id) is already \(status); reopen it first."
        case .unknownStage(let stage, let pipeline): return "Stage \"\(stage)\" is not in pipeline \(pipeline)."
        case .invalidTransition(let kind, let id, let reason): return "Cannot do that to \(kind) \(id): \(reason)."
        case .accessDenied(let actor, let command, let entity, let reason):
            return "\(actor) may not run \(command) on \(entity): \(reason)."
        case .concurrencyConflict(let stream, let expected, let actual):
            return "Stream \(stream) changed meanwhile (expected version \(expected), found \(actual)); reload and try again."
        case .store(let error): return error.description
        }
    }
}
