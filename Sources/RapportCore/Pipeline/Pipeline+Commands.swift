public import Foundation
public import RapportEventLog

/// The most stages one pipeline may have.
let maximumPipelineStages = 50

func validatedPipelineName(_ name: String) throws(CRMError) -> String {
    try validatedLabel(name, field: "pipeline name", maximum: 200)
}

func validatedStageName(_ name: String) throws(CRMError) -> String {
    try validatedLabel(name, field: "stage name", maximum: 100)
}

func validateStageKey(_ key: String) throws(CRMError) {
    guard (1...64).contains(key.count),
          key.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" || $0 == "_" })
    else { throw .invalidValue(field: "stage key", reason: "\"\(key)\" must be 1 to 64 lower-case letters, digits, - or _") }
}

/// Checks a stage's probability against its kind: 0...1 for open stages,
/// exactly 1 for won stages and 0 for lost ones.
func validateProbability(_ probability: Decimal, key: String, kind: PipelineStage.Kind) throws(CRMError) {
    guard !probability.isNaN, probability >= 0, probability <= 1 else {
        throw .invalidValue(field: "probability", reason: "\(probability) for stage \"\(key)\" is not between 0 and 1")
    }
    switch kind {
    case .won where probability != 1:
        throw .invalidValue(field: "probability", reason: "won stage \"\(key)\" must have probability 1")
    case .lost where probability != 0:
        throw .invalidValue(field: "probability", reason: "lost stage \"\(key)\" must have probability 0")
    default: break
    }
}

/// Checks one stage and returns it with its name trimmed.
func validatedStage(_ stage: PipelineStage) throws(CRMError) -> PipelineStage {
    try validateStageKey(stage.key)
    var checked = stage
    checked.name = try validatedStageName(stage.name)
    try validateProbability(stage.probability, key: stage.key, kind: stage.kind)
    return checked
}

/// Checks a whole board: unique keys (also against `retired`), unique names,
/// at most ``maximumPipelineStages``, and at least one open, one won and one lost stage.
func validateBoard(_ stages: [PipelineStage], retired: [PipelineStage] = []) throws(CRMError) {
    guard stages.count <= maximumPipelineStages else {
        throw .invalidValue(field: "pipeline", reason: "it has more than \(maximumPipelineStages) stages")
    }
    var keys = Set(retired.map(\.key))
    var names = Set<String>()
    for stage in stages {
        guard keys.insert(stage.key).inserted else {
            let reason = retired.contains { $0.key == stage.key }
                ? "the key \"\(stage.key)\" belonged to a removed stage and cannot be reused"
                : "the key \"\(stage.key)\" is used twice"
            throw .invalidValue(field: "stage key", reason: reason)
        }
        guard names.insert(stage.name.lowercased()).inserted else {
            throw .invalidValue(field: "stage name", reason: "the name \"\(stage.name)\" is used twice")
        }
    }
    for kind in PipelineStage.Kind.allCases where !stages.contains(where: { $0.kind == kind }) {
        throw .invalidValue(field: "pipeline", reason: "it needs at least one \(kind.rawValue) stage")
    }
}

/// Pipeline configuration changes the board for everyone, and pipelines have
/// no owner, so every pipeline command is sensitive: under
/// ``RoleBasedAccessPolicy`` only admins may run them.
extension Command where A == Pipeline {
    /// Defines the pipeline with its stages in board order. It needs at least
    /// one open, one won and one lost stage, unique keys and names, and
    /// probabilities from 0 to 1 (1 for won stages, 0 for lost ones).
    ///
    /// ```swift
    /// try await repository.execute(.define(name: "Sales", stages: [
    ///     PipelineStage(key: "new", name: "New", probability: 0.1, kind: .open),
    ///     PipelineStage(key: "won", name: "Won", probability: 1, kind: .won),
    ///     PipelineStage(key: "lost", name: "Lost", probability: 0, kind: .lost),
    /// ]), on: PipelineID(), context: adminContext)
    /// ```
    public static func define(name: String, stages: [PipelineStage]) -> Self {
        Command(name: "pipeline.define", target: .new, isSensitive: true) { _, _ throws(CRMError) in
            let name = try validatedPipelineName(name)
            var checked: [PipelineStage] = []
            for stage in stages { checked.append(try validatedStage(stage)) }
            try validateBoard(checked)
            return [PipelineDefined(name: name, stages: checked)]
        }
    }

    /// Renames the pipeline.
    ///
    /// ```swift
    /// try await repository.execute(.rename(to: "Enterprise sales"), on: sales, context: adminContext)
    /// ```
    public static func rename(to name: String) -> Self {
        Command(name: "pipeline.rename", isSensitive: true) { pipeline, _ throws(CRMError) in
            let name = try validatedPipelineName(name)
            return name == pipeline.name ? [] : [PipelineRenamed(from: pipeline.name, to: name)]
        }
    }

    /// Adds a stage at `index` on the board (at the end when nil). Its key
    /// must be new, also among removed stages.
    ///
    /// ```swift
    /// try await repository.execute(.addStage(PipelineStage(key: "demo", name: "Demo", probability: 0.3, kind: .open), at: 1),
    ///                              on: sales, context: adminContext)
    /// ```
    public static func addStage(_ stage: PipelineStage, at index: Int? = nil) -> Self {
        Command(name: "pipeline.addStage", isSensitive: true) { pipeline, _ throws(CRMError) in
            let stage = try validatedStage(stage)
            let index = index ?? pipeline.stages.count
            guard (0...pipeline.stages.count).contains(index) else {
                throw .invalidValue(field: "stage index", reason: "\(index) is not between 0 and \(pipeline.stages.count)")
            }
            var board = pipeline.stages
            board.insert(stage, at: index)
            try validateBoard(board, retired: pipeline.retiredStages)
            return [PipelineStageAdded(stage: stage, index: index)]
        }
    }

    /// Changes a stage's display name. Deals record the key, so their history
    /// is untouched and now shows the new name.
    ///
    /// ```swift
    /// try await repository.execute(.renameStage("negotiation", to: "Contract talks"), on: sales, context: adminContext)
    /// ```
    public static func renameStage(_ key: String, to name: String) -> Self {
        Command(name: "pipeline.renameStage", isSensitive: true) { pipeline, _ throws(CRMError) in
            let stage = try pipeline.requireStage(key)
            let name = try validatedStageName(name)
            guard name != stage.name else { return [] }
            if pipeline.stages.contains(where: { $0.key != key && $0.name.lowercased() == name.lowercased() }) {
                throw .invalidValue(field: "stage name", reason: "the name \"\(name)\" is used twice")
            }
            return [PipelineStageRenamed(key: key, from: stage.name, to: name)]
        }
    }

    /// Changes an open stage's default probability (0 to 1). Won and lost
    /// stages are fixed at 1 and 0.
    ///
    /// ```swift
    /// try await repository.execute(.changeStageProbability("negotiation", to: Decimal(string: "0.7")!), on: sales, context: adminContext)
    /// ```
    public static func changeStageProbability(_ key: String, to probability: Decimal) -> Self {
        Command(name: "pipeline.changeStageProbability", isSensitive: true) { pipeline, _ throws(CRMError) in
            let stage = try pipeline.requireStage(key)
            try validateProbability(probability, key: key, kind: stage.kind)
            return probability == stage.probability ? [] : [PipelineStageProbabilityChanged(key: key, from: stage.probability, to: probability)]
        }
    }

    /// Puts the stages in a new board order; `keys` must name every current stage once.
    ///
    /// ```swift
    /// try await repository.execute(.reorderStages(["new", "negotiation", "demo", "won", "lost"]), on: sales, context: adminContext)
    /// ```
    public static func reorderStages(_ keys: [String]) -> Self {
        Command(name: "pipeline.reorderStages", isSensitive: true) { pipeline, _ throws(CRMError) in
            try pipeline.ensureExists()
            let current = pipeline.stages.map(\.key)
            for key in keys where !current.contains(key) {
                throw .unknownStage(stage: key, pipeline: pipeline.id.description)
            }
            guard keys.count == current.count, Set(keys).count == keys.count else {
                throw .invalidValue(field: "stage order", reason: "it must list each of the \(current.count) stages exactly once")
            }
            return keys == current ? [] : [PipelineStagesReordered(from: current, to: keys)]
        }
    }

    /// Retires a stage. Refused when it is the last stage of its kind.
    ///
    /// The key stays known as a retired stage: deals that were (or still are)
    /// in it keep a meaningful history and can move out of it, but no deal can
    /// move into it and the key is never reused. To refuse the removal while
    /// open deals sit in the stage, use ``Repository/removePipelineStage(_:from:context:)``.
    ///
    /// ```swift
    /// try await repository.execute(.removeStage("demo"), on: sales, context: adminContext)
    /// ```
    public static func removeStage(_ key: String) -> Self {
        Command(name: "pipeline.removeStage", isSensitive: true) { pipeline, _ throws(CRMError) in
            let stage = try pipeline.requireStage(key)
            guard pipeline.stages.contains(where: { $0.key != key && $0.kind == stage.kind }) else {
                throw .invalidValue(field: "pipeline", reason: "it needs at least one \(stage.kind.rawValue) stage; \"\(key)\" is the last one")
            }
            return [PipelineStageRemoved(stage: stage)]
        }
    }
}

extension Repository {
    /// Retires the stage `key` of `pipeline`, after checking that no open deal
    /// is in it (closed deals keep the key, which stays resolvable).
    ///
    /// The check reads every deal event tagged with the pipeline. A deal moved
    /// into the stage while the removal is being decided is not lost: it stays
    /// in the retired stage and can still move out of it.
    ///
    /// ```swift
    /// try await repository.removePipelineStage("demo", from: sales, context: adminContext)
    /// ```
    ///
    /// - Throws: ``CRMError/invalidTransition(kind:id:reason:)`` when open deals are in the stage,
    ///   and whatever ``Command/removeStage(_:)`` throws.
    @discardableResult
    public func removePipelineStage(_ key: String, from pipeline: PipelineID, context: CommandContext) async throws(CRMError) -> AppendResult {
        // Access before the open deals: a refused attempt is recorded, and is not told about them.
        try await authorize(Command<Pipeline>.removeStage(key), on: pipeline, ownerID: try await load(pipeline).state.ownerID, context: context)
        let blocking = try await openDeals(in: pipeline, stage: key)
        if !blocking.isEmpty {
            let reason = "\(blocking.count) open deal\(blocking.count == 1 ? " is" : "s are") in stage \"\(key)\"; move \(blocking.count == 1 ? "it" : "them") first"
            throw .invalidTransition(kind: Pipeline.kind, id: pipeline.description, reason: reason)
        }
        return try await execute(.removeStage(key), on: pipeline, context: context)
    }

    /// The open deals of `pipeline` currently in `stage`, found by folding
    /// every deal event tagged with the pipeline.
    ///
    /// ```swift
    /// let stuck = try await repository.openDeals(in: sales, stage: "proposal")
    /// ```
    public func openDeals(in pipeline: PipelineID, stage: String) async throws(CRMError) -> [DealID] {
        var deals: [StreamID: Deal] = [:]
        let prefix = "\(Deal.kind)-"
        do throws(EventStoreError) {
            let filter = LogFilter(types: Set(Deal.eventTypes.map { $0.typeName }), tags: [pipeline.tag])
            for try await record in store.events(from: 1, filter: filter) {
                guard record.streamID.rawValue.hasPrefix(prefix),
                      let id = DealID(String(record.streamID.rawValue.dropFirst(prefix.count)))
                else { continue }
                var deal = deals[record.streamID] ?? Deal(id: id)
                deal.apply(try registry.decode(record, codec: codec))
                deals[record.streamID] = deal
            }
        } catch {
            throw .store(error)
        }
        return deals.values.filter { $0.pipelineID == pipeline && $0.status == .open && $0.stage == stage }.map(\.id).sorted()
    }
}
