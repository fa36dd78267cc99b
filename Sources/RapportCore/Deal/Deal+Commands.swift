public import Foundation
public import RapportEventLog

/// The most contacts one deal may have (every deal event is tagged with each).
let maximumDealContacts = 50

func validatedDealTitle(_ title: String) throws(CRMError) -> String {
    try validatedLabel(title, field: "deal title", maximum: 300)
}

/// A deal contact's role as opening a deal and adding a contact accept it:
/// trimmed, 1 to 100 characters on one line.
func validatedDealContactRole(_ role: DealContactRole) throws(CRMError) -> DealContactRole {
    DealContactRole(rawValue: try validatedLabel(role.rawValue, field: "contact role", maximum: 100))
}

func currencyMismatch(deal: Money, given: Money) -> CRMError {
    .invalidAmount("the deal is in \(deal.currency), not \(given.currency); change its currency with changeCurrency(to:) first")
}

extension Deal {
    /// The stage of kind `kind` named by `key`, or the pipeline's first one.
    func closingStage(_ key: String?, of kind: PipelineStage.Kind, in pipeline: Pipeline) throws(CRMError) -> PipelineStage {
        guard let key else {
            guard let stage = pipeline.firstStage(of: kind) else {
                throw .unknownStage(stage: "(\(kind.rawValue))", pipeline: pipeline.id.description)
            }
            return stage
        }
        let stage = try pipeline.requireStage(key)
        guard stage.kind == kind else {
            throw .invalidValue(field: "stage", reason: "\"\(key)\" is a \(stage.kind.rawValue) stage, not a \(kind.rawValue) one")
        }
        return stage
    }
}

/// Stage-dependent commands take the deal's ``Pipeline`` (its current
/// definition): load it in the same unit of work, or use the repository
/// helpers such as ``Repository/moveDeal(_:toStage:context:)`` that do.
/// Loaded there, the pipeline's version is checked in the same append, so a
/// pipeline changed meanwhile fails the command with a concurrency conflict;
/// a value loaded earlier and passed to ``Repository/execute(_:on:context:)``
/// is used as it is, however old.
///
/// **Won and lost stages.** ``moveToStage(_:in:)`` only moves between open
/// stages; moving into a won or lost stage is refused with
/// ``CRMError/invalidTransition(kind:id:reason:)``, because winning needs a
/// final amount and losing a reason: use ``markWon(finalAmount:in:stage:)``
/// and ``markLost(reason:in:stage:)``. A closed deal leaves its won or lost
/// stage only through ``reopen(toStage:in:)``.
extension Command where A == Deal {
    /// Opens the deal in an open stage of `pipeline` (its first open stage when `stage` is nil).
    ///
    /// ```swift
    /// try await repository.execute(.open(title: "Acme renewal", in: sales, amount: try Money(amount: 12_000, currency: "EUR"),
    ///                                    owner: "user:anna", company: acme, contacts: [DealContact(contactID: ada, role: .decisionMaker)]),
    ///                              on: DealID(), context: context)
    /// ```
    ///
    /// - Throws: ``CRMError/invalidValue(field:reason:)`` for a blank title, a malformed owner, an
    ///   expected close date outside the years 1900 to 9999, more than 50 contacts, a contact listed
    ///   twice or a contact with an empty role (as ``addContact(_:role:)`` refuses it);
    ///   ``CRMError/invalidAmount(_:)`` for a negative amount or a malformed currency;
    ///   ``CRMError/unknownStage(stage:pipeline:)`` or ``CRMError/invalidTransition(kind:id:reason:)``
    ///   for a stage that is not an open stage of the pipeline; ``CRMError/notFound(kind:id:)`` for a
    ///   pipeline that is not defined.
    public static func open(
        title: String, in pipeline: Pipeline, stage: String? = nil, amount: Money? = nil, expectedCloseDate: Date? = nil,
        owner: String? = nil, company: CompanyID? = nil, contacts: [DealContact] = []
    ) -> Self {
        Command(name: "deal.open", target: .new) { deal, _ throws(CRMError) in
            let title = try validatedDealTitle(title)
            try pipeline.ensureExists()
            let key = stage ?? pipeline.firstStage(of: .open)?.key ?? ""
            let target = try pipeline.requireStage(key)
            guard target.kind == .open else {
                throw .invalidTransition(kind: Deal.kind, id: deal.id.description,
                                         reason: "a deal opens in an open stage, and \"\(key)\" is a \(target.kind.rawValue) stage")
            }
            let amount = try amount.map { (money) throws(CRMError) in try checkedMoney(money) }
            let owner = try owner.map { (id) throws(CRMError) in try validatedPrincipalID(id, field: "owner") }
            let expectedCloseDate = try expectedCloseDate.map { (date) throws(CRMError) in try validatedDate(date, field: "expected close date") }
            guard contacts.count <= maximumDealContacts else {
                throw .invalidValue(field: "contacts", reason: "a deal has at most \(maximumDealContacts) contacts")
            }
            guard Set(contacts.map(\.contactID)).count == contacts.count else {
                throw .invalidValue(field: "contacts", reason: "a contact is listed twice")
            }
            var contacts = contacts
            for index in contacts.indices { contacts[index].role = try validatedDealContactRole(contacts[index].role) }
            return [DealOpened(title: title, pipelineID: pipeline.id, stage: key, amount: amount, expectedCloseDate: expectedCloseDate,
                               ownerID: owner, companyID: company, contacts: contacts)]
        }
    }

    /// Changes the title.
    ///
    /// ```swift
    /// try await repository.execute(.rename(to: "Acme renewal 2025"), on: deal, context: context)
    /// ```
    public static func rename(to title: String) -> Self {
        Command(name: "deal.rename") { deal, _ throws(CRMError) in
            try deal.ensureOpen()
            let title = try validatedDealTitle(title)
            return title == deal.title ? [] : [DealRenamed(from: deal.title, to: title)]
        }
    }

    /// Moves the deal to another open stage of its pipeline, forward or back;
    /// the move records both keys. Moving to the current stage does nothing.
    ///
    /// ```swift
    /// let sales = try await repository.load(salesPipeline).state
    /// try await repository.execute(.moveToStage("negotiation", in: sales), on: deal, context: context)
    /// ```
    ///
    /// - Throws: ``CRMError/dealClosed(id:status:)``; ``CRMError/unknownStage(stage:pipeline:)``
    ///   for a key that is not a current stage; ``CRMError/invalidTransition(kind:id:reason:)`` for a
    ///   won or lost stage; ``CRMError/invalidValue(field:reason:)`` for another pipeline.
    public static func moveToStage(_ key: String, in pipeline: Pipeline) -> Self {
        Command(name: "deal.moveToStage") { deal, _ throws(CRMError) in
            try deal.ensureOpen()
            try deal.ensureSamePipeline(pipeline)
            let target = try pipeline.requireStage(key)
            guard target.kind == .open else {
                let verb = target.kind == .won ? "markWon(finalAmount:in:stage:)" : "markLost(reason:in:stage:)"
                throw .invalidTransition(kind: Deal.kind, id: deal.id.description,
                                         reason: "\"\(key)\" is a \(target.kind.rawValue) stage; use \(verb)")
            }
            guard key != deal.stage else { return [] }
            var movedBack = false
            if let from = pipeline.index(of: deal.stage), let to = pipeline.index(of: key) { movedBack = to < from }
            return [DealStageChanged(from: deal.stage, to: key, movedBack: movedBack)]
        }
    }

    /// Sets the expected amount. Once the deal has an amount its currency is
    /// fixed: an amount in another currency is refused (see ``changeCurrency(to:)``).
    ///
    /// ```swift
    /// try await repository.execute(.changeAmount(try Money(amount: 15_000, currency: "EUR")), on: deal, context: context)
    /// ```
    ///
    /// - Throws: ``CRMError/invalidAmount(_:)`` for a negative amount or another currency.
    public static func changeAmount(_ amount: Money) -> Self {
        Command(name: "deal.changeAmount") { deal, _ throws(CRMError) in
            try deal.ensureOpen()
            let amount = try checkedMoney(amount)
            if let current = deal.amount, current.currency != amount.currency { throw currencyMismatch(deal: current, given: amount) }
            return deal.amount == amount ? [] : [DealAmountChanged(from: deal.amount, to: amount)]
        }
    }

    /// Changes the deal's currency explicitly, with the amount in the new currency.
    ///
    /// ```swift
    /// try await repository.execute(.changeCurrency(to: try Money(amount: 13_000, currency: "USD")), on: deal, context: context)
    /// ```
    ///
    /// - Throws: ``CRMError/invalidAmount(_:)`` for a negative amount, a deal without an
    ///   amount yet, or the currency it already has.
    public static func changeCurrency(to amount: Money) -> Self {
        Command(name: "deal.changeCurrency") { deal, _ throws(CRMError) in
            try deal.ensureOpen()
            let amount = try checkedMoney(amount)
            guard let current = deal.amount else {
                throw .invalidAmount("the deal has no amount yet; set one with changeAmount(_:)")
            }
            guard current.currency != amount.currency else {
                throw .invalidAmount("the deal is already in \(amount.currency); use changeAmount(_:)")
            }
            return [DealCurrencyChanged(from: current, to: amount)]
        }
    }

    /// Sets or clears the expected close date.
    ///
    /// ```swift
    /// try await repository.execute(.changeExpectedCloseDate(to: endOfQuarter), on: deal, context: context)
    /// ```
    public static func changeExpectedCloseDate(to date: Date?) -> Self {
        Command(name: "deal.changeExpectedCloseDate") { deal, _ throws(CRMError) in
            try deal.ensureOpen()
            let date = try date.map { (date) throws(CRMError) in try validatedDate(date, field: "expected close date") }
            return date == deal.expectedCloseDate ? [] : [DealExpectedCloseDateChanged(from: deal.expectedCloseDate, to: date)]
        }
    }

    /// Gives the deal to another owner. Unlike other changes this is allowed on
    /// closed deals too, so a departing manager's won and lost deals can be handed over.
    ///
    /// ```swift
    /// try await repository.execute(.assignOwner("user:boris"), on: deal, context: managerContext)
    /// ```
    public static func assignOwner(_ owner: String) -> Self {
        Command(name: "deal.assignOwner") { deal, _ throws(CRMError) in
            let owner = try validatedPrincipalID(owner, field: "owner")
            return deal.owner == owner ? [] : [DealOwnerAssigned(from: deal.owner, to: owner)]
        }
    }

    /// Sets, changes or (with nil) clears the company the deal is with.
    ///
    /// ```swift
    /// try await repository.execute(.setCompany(acme), on: deal, context: context)
    /// ```
    public static func setCompany(_ company: CompanyID?) -> Self {
        Command(name: "deal.setCompany") { deal, _ throws(CRMError) in
            try deal.ensureOpen()
            return company == deal.companyID ? [] : [DealCompanyChanged(from: deal.companyID, to: company)]
        }
    }

    /// Adds a contact with a role, or changes the role of one already on the deal.
    ///
    /// ```swift
    /// try await repository.execute(.addContact(ada, role: .decisionMaker), on: deal, context: context)
    /// ```
    public static func addContact(_ contact: ContactID, role: DealContactRole) -> Self {
        Command(name: "deal.addContact") { deal, _ throws(CRMError) in
            try deal.ensureOpen()
            let role = try validatedDealContactRole(role)
            if let current = deal.contacts[contact] {
                return current == role ? [] : [DealContactRoleChanged(contactID: contact, from: current, to: role)]
            }
            guard deal.contacts.count < maximumDealContacts else {
                throw .invalidValue(field: "contacts", reason: "a deal has at most \(maximumDealContacts) contacts")
            }
            return [DealContactAdded(contactID: contact, role: role)]
        }
    }

    /// Takes a contact off the deal.
    ///
    /// ```swift
    /// try await repository.execute(.removeContact(ada), on: deal, context: context)
    /// ```
    public static func removeContact(_ contact: ContactID) -> Self {
        Command(name: "deal.removeContact") { deal, _ throws(CRMError) in
            try deal.ensureOpen()
            guard let role = deal.contacts[contact] else {
                throw .invalidTransition(kind: Deal.kind, id: deal.id.description, reason: "contact \(contact) is not on the deal")
            }
            return [DealContactRemoved(contactID: contact, role: role)]
        }
    }

    /// Marks the deal won with its final amount, moving it into the won stage
    /// `stage` (the pipeline's first won stage when nil). The final amount must
    /// be in the deal's currency.
    ///
    /// ```swift
    /// try await repository.execute(.markWon(finalAmount: try Money(amount: 11_500, currency: "EUR"), in: sales), on: deal, context: context)
    /// ```
    public static func markWon(finalAmount: Money, in pipeline: Pipeline, stage: String? = nil) -> Self {
        Command(name: "deal.markWon") { deal, context throws(CRMError) in
            try deal.ensureOpen()
            try deal.ensureSamePipeline(pipeline)
            let final = try checkedMoney(finalAmount)
            if let current = deal.amount, current.currency != final.currency { throw currencyMismatch(deal: current, given: final) }
            let won = try deal.closingStage(stage, of: .won, in: pipeline)
            return [DealWon(finalAmount: final, stage: won.key, fromStage: deal.stage, at: context.now)]
        }
    }

    /// Marks the deal lost for `reason`, moving it into the lost stage `stage`
    /// (the pipeline's first lost stage when nil). The stage it was lost at is kept.
    ///
    /// ```swift
    /// try await repository.execute(.markLost(reason: "chose a competitor", in: sales), on: deal, context: context)
    /// ```
    public static func markLost(reason: String, in pipeline: Pipeline, stage: String? = nil) -> Self {
        Command(name: "deal.markLost") { deal, context throws(CRMError) in
            try deal.ensureOpen()
            try deal.ensureSamePipeline(pipeline)
            let reason = reason.trimmedOfWhitespace
            guard !reason.isEmpty else { throw .invalidValue(field: "lost reason", reason: "it is empty") }
            guard reason.count <= 1_000 else { throw .invalidValue(field: "lost reason", reason: "it is longer than 1,000 characters") }
            let lost = try deal.closingStage(stage, of: .lost, in: pipeline)
            return [DealLost(reason: reason, stage: lost.key, lostAtStage: deal.stage, at: context.now)]
        }
    }

    /// Reopens a won or lost deal into the open stage `key`.
    ///
    /// ```swift
    /// try await repository.execute(.reopen(toStage: "negotiation", in: sales), on: deal, context: context)
    /// ```
    public static func reopen(toStage key: String, in pipeline: Pipeline) -> Self {
        Command(name: "deal.reopen") { deal, _ throws(CRMError) in
            guard deal.isClosed else {
                throw .invalidTransition(kind: Deal.kind, id: deal.id.description, reason: "it is open")
            }
            try deal.ensureSamePipeline(pipeline)
            let target = try pipeline.requireStage(key)
            guard target.kind == .open else {
                throw .invalidValue(field: "stage", reason: "\"\(key)\" is a \(target.kind.rawValue) stage, not an open one")
            }
            return [DealReopened(fromStatus: deal.status, fromStage: deal.stage, toStage: key)]
        }
    }
}

extension Repository {
    /// Opens a deal in `pipeline`, loading the pipeline's current definition.
    /// The company and every contact must exist and be active.
    ///
    /// - Throws: ``CRMError/notFound(kind:id:)`` for a company or contact that
    ///   does not exist, ``CRMError/contactMerged(id:into:)`` for a contact
    ///   merged into another (link the survivor), ``CRMError/archived(kind:id:)``
    ///   for an archived one; nothing is appended then.
    ///
    /// ```swift
    /// try await repository.openDeal(deal, title: "Acme renewal", pipeline: sales, stage: "qualification",
    ///                               amount: try Money(amount: 12_000, currency: "EUR"), owner: "user:anna", context: context)
    /// ```
    @discardableResult
    public func openDeal(
        _ deal: DealID, title: String, pipeline: PipelineID, stage: String? = nil, amount: Money? = nil,
        expectedCloseDate: Date? = nil, owner: String? = nil, company: CompanyID? = nil, contacts: [DealContact] = [],
        context: CommandContext
    ) async throws(CRMError) -> AppendResult {
        try await transaction(context: context) { (unit) throws(CRMError) in
            try await unit.openDeal(deal, title: title, pipeline: pipeline, stage: stage, amount: amount, expectedCloseDate: expectedCloseDate,
                                    owner: owner, company: company, contacts: contacts)
        }
    }

    /// Moves a deal to another open stage of its pipeline (see ``Command/moveToStage(_:in:)``).
    ///
    /// ```swift
    /// try await repository.moveDeal(deal, toStage: "negotiation", context: context)
    /// ```
    @discardableResult
    public func moveDeal(_ deal: DealID, toStage key: String, context: CommandContext) async throws(CRMError) -> AppendResult {
        try await onDealWithPipeline(deal, context: context) { pipeline in .moveToStage(key, in: pipeline) }
    }

    /// Marks a deal won (see ``Command/markWon(finalAmount:in:stage:)``).
    ///
    /// ```swift
    /// try await repository.markDealWon(deal, finalAmount: try Money(amount: 11_500, currency: "EUR"), context: context)
    /// ```
    @discardableResult
    public func markDealWon(_ deal: DealID, finalAmount: Money, stage: String? = nil, context: CommandContext) async throws(CRMError) -> AppendResult {
        try await onDealWithPipeline(deal, context: context) { pipeline in .markWon(finalAmount: finalAmount, in: pipeline, stage: stage) }
    }

    /// Marks a deal lost (see ``Command/markLost(reason:in:stage:)``).
    ///
    /// ```swift
    /// try await repository.markDealLost(deal, reason: "no budget this year", context: context)
    /// ```
    @discardableResult
    public func markDealLost(_ deal: DealID, reason: String, stage: String? = nil, context: CommandContext) async throws(CRMError) -> AppendResult {
        try await onDealWithPipeline(deal, context: context) { pipeline in .markLost(reason: reason, in: pipeline, stage: stage) }
    }

    /// Reopens a won or lost deal (see ``Command/reopen(toStage:in:)``).
    ///
    /// ```swift
    /// try await repository.reopenDeal(deal, toStage: "negotiation", context: context)
    /// ```
    @discardableResult
    public func reopenDeal(_ deal: DealID, toStage key: String, context: CommandContext) async throws(CRMError) -> AppendResult {
        try await onDealWithPipeline(deal, context: context) { pipeline in .reopen(toStage: key, in: pipeline) }
    }

    /// Loads the deal and its pipeline in one unit of work and runs the command `make` builds.
    func onDealWithPipeline(
        _ deal: DealID, context: CommandContext, _ make: (Pipeline) -> Command<Deal>
    ) async throws(CRMError) -> AppendResult {
        try await transaction(context: context) { (unit) throws(CRMError) in
            try await unit.onDealWithPipeline(deal, make)
        }
    }
}

extension UnitOfWork {
    /// Opens a deal within this unit of work (see ``Repository/openDeal(_:title:pipeline:stage:amount:expectedCloseDate:owner:company:contacts:context:)``).
    /// The company and every contact must exist and be active (a merged or
    /// archived one is refused, as in a lead's conversion). All or nothing.
    public mutating func openDeal(
        _ deal: DealID, title: String, pipeline: PipelineID, stage: String? = nil, amount: Money? = nil,
        expectedCloseDate: Date? = nil, owner: String? = nil, company: CompanyID? = nil, contacts: [DealContact] = []
    ) async throws(CRMError) {
        try await allOrNothing { (unit) throws(CRMError) in
            let definition = try await unit.load(pipeline)
            // Access first: the deal's command meets the policy before anything about the others is told.
            try await unit.execute(.open(title: title, in: definition, stage: stage, amount: amount, expectedCloseDate: expectedCloseDate,
                                         owner: owner, company: company, contacts: contacts), on: deal)
            // The company and contacts must be there and active, as a lead's conversion requires: a deal
            // on a merged contact would be missing from its survivor's history. Loaded in this unit, so
            // a merge or an archiving committed meanwhile fails the append.
            if let company {
                let existing = try await unit.load(company)
                guard existing.exists else { throw .notFound(kind: Company.kind, id: company.description) }
                try existing.ensureActive()
            }
            for contact in contacts {
                let existing = try await unit.load(contact.contactID)
                guard existing.exists else { throw .notFound(kind: Contact.kind, id: contact.contactID.description) }
                try existing.ensureActive()
            }
        }
    }

    /// Moves a deal within this unit of work (see ``Repository/moveDeal(_:toStage:context:)``).
    public mutating func moveDeal(_ deal: DealID, toStage key: String) async throws(CRMError) {
        try await onDealWithPipeline(deal) { pipeline in .moveToStage(key, in: pipeline) }
    }

    /// Marks a deal won within this unit of work.
    public mutating func markDealWon(_ deal: DealID, finalAmount: Money, stage: String? = nil) async throws(CRMError) {
        try await onDealWithPipeline(deal) { pipeline in .markWon(finalAmount: finalAmount, in: pipeline, stage: stage) }
    }

    /// Marks a deal lost within this unit of work.
    public mutating func markDealLost(_ deal: DealID, reason: String, stage: String? = nil) async throws(CRMError) {
        try await onDealWithPipeline(deal) { pipeline in .markLost(reason: reason, in: pipeline, stage: stage) }
    }

    /// Loads the deal and its pipeline and runs the command `make` builds.
    mutating func onDealWithPipeline(_ deal: DealID, _ make: (Pipeline) -> Command<Deal>) async throws(CRMError) {
        let state = try await load(deal)
        guard state.exists, let pipelineID = state.pipelineID else {
            // Access comes first: the command meets the policy (a refusal is recorded) before the
            // deal's absence is told, so a refused actor cannot probe which deals exist. Its
            // decision never runs (the deal is not there), so no pipeline is loaded for it.
            try await execute(make(Pipeline(id: PipelineID())), on: deal)
            throw .notFound(kind: Deal.kind, id: deal.description)
        }
        let pipeline = try await load(pipelineID)
        try await execute(make(pipeline), on: deal)
    }
}
