import RapportProjections
import RapportReplay

/// The projections `rapport rebuild` knows, by name. Add a projection here
/// and `rapport rebuild NAME` rebuilds it, `rapport rebuild --list` lists it.
///
/// ```swift
/// let registeredProjections: [any Projection] = [ContactHistory(), AuditTrail(), DealStates(), MyProjection()]
/// ```
let registeredProjections: [any Projection] = [ContactHistory(), AuditTrail(), DealStates()]
