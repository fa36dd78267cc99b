public import Foundation
public import RapportEventLog

/// The identity of a pipeline.
public typealias PipelineID = Identifier<Pipeline>

/// A configurable sales pipeline: an ordered list of stages a deal moves through.
///
/// Each stage has a stable ``PipelineStage/key`` that deals record, and a
/// display name, default probability and kind that may change later. The
/// definition is itself versioned by events, so renaming a stage never
/// rewrites a deal's history: deals store keys, the pipeline maps keys to names.
///
/// A pipeline always has at least one open, one won and one lost stage.
/// Removed stages are kept as ``retiredStages``: their keys stay resolvable
/// (deals that were in them still make sense) and are never reused.
///
/// ```swift
/// let sales = PipelineID()
/// try await repository.execute(.define(name: "Sales", stages: [
///     PipelineStage(key: "qualification", name: "Qualification", probability: 0.1, kind: .open),
///     PipelineStage(key: "negotiation", name: "Negotiation", probability: 0.6, kind: .open),
///     PipelineStage(key: "won", name: "Won", probability: 1, kind: .won),
///     PipelineStage(key: "lost", name: "Lost", probability: 0, kind: .lost),
/// ]), on: sales, context: adminContext)
/// try await repository.execute(.renameStage("negotiation", to: "Contract talks"), on: sales, context: adminContext)
/// ```
public struct Pipeline: Aggregate {
    /// The kind: stream ids `pipeline-<uuid>`, tags `pipeline:<uuid>`.
    public static let kind = "pipeline"

    /// The pipeline's identity.
    public let id: PipelineID
    /// False until ``PipelineDefined``.
    public internal(set) var exists = false
    /// The pipeline's name, trimmed, 1 to 200 characters; empty until defined.
    public internal(set) var name = ""
    /// The current stages, in board order.
    public internal(set) var stages: [PipelineStage] = []
    /// Stages that were removed, in the order they were removed. Their keys
    /// cannot be used again, and deals cannot move into them.
    public internal(set) var retiredStages: [PipelineStage] = []

    /// A pipeline that was not defined yet: the state before any event.
    public init(id: PipelineID) { self.id = id }

    /// The current stage with `key`, if there is one.
    public func stage(_ key: String) -> PipelineStage? {
        stages.first { $0.key == key }
    }

    /// The stage with `key`, current or retired: what a key in an old event means.
    public func anyStage(_ key: String) -> PipelineStage? {
        stage(key) ?? retiredStages.last { $0.key == key }
    }

    /// The first current stage of `kind` in board order.
    public func firstStage(of kind: PipelineStage.Kind) -> PipelineStage? {
        stages.first { $0.kind == kind }
    }

    /// The position of the current stage `key` on the board.
    public func index(of key: String) -> Int? {
        stages.firstIndex { $0.key == key }
    }

    /// Refuses commands to a pipeline that does not exist.
    func ensureExists() throws(CRMError) {
        guard exists else { throw .notFound(kind: Self.kind, id: id.description) }
    }

    /// The current stage `key`, or ``CRMError/unknownStage(stage:pipeline:)``.
    func requireStage(_ key: String) throws(CRMError) -> PipelineStage {
        guard let stage = stage(key) else { throw .unknownStage(stage: key, pipeline: id.description) }
        return stage
    }

    /// Folds one stored pipeline event into the state; other events are ignored.
    public mutating func apply(_ event: any Event) {
        switch event {
        case let e as PipelineDefined:
            exists = true
            name = e.name
            stages = e.stages
        case let e as PipelineRenamed: name = e.to
        case let e as PipelineStageAdded:
            stages.insert(e.stage, at: min(max(e.index, 0), stages.count))
        case let e as PipelineStageRenamed:
            if let index = index(of: e.key) { stages[index].name = e.to }
        case let e as PipelineStageProbabilityChanged:
            if let index = index(of: e.key) { stages[index].probability = e.to }
        case let e as PipelineStagesReordered:
            let byKey = Dictionary(stages.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
            stages = e.to.compactMap { byKey[$0] }
        case let e as PipelineStageRemoved:
            if let index = index(of: e.stage.key) {
                retiredStages.append(stages.remove(at: index))
            }
        default: break
        }
    }
}

/// One stage of a pipeline.
///
/// ```swift
/// let stage = PipelineStage(key: "negotiation", name: "Negotiation", probability: Decimal(string: "0.6")!, kind: .open)
/// ```
public struct PipelineStage: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Whether a deal in the stage is still open, won or lost.
    ///
    /// ```swift
    /// pipeline.firstStage(of: .won)?.key   // "won"
    /// ```
    public enum Kind: String, Hashable, Sendable, Codable, CaseIterable {
        case open, won, lost
    }

    /// The stable key deals record, such as `negotiation`: 1 to 64 lower-case
    /// letters, digits, `-` or `_`. It never changes; the name may.
    public var key: String
    /// The name shown on the board.
    public var name: String
    /// The default chance, from 0 to 1, that a deal in this stage is won
    /// (1 for won stages, 0 for lost ones).
    public var probability: Decimal
    /// Open, won or lost.
    public var kind: Kind

    /// Creates a stage; commands that take it check it.
    public init(key: String, name: String, probability: Decimal, kind: Kind) {
        self.key = key
        self.name = name
        self.probability = probability
        self.kind = kind
    }

    /// The stage for logs: `Name [key, kind, probability]`.
    public var description: String { "\(name) [\(key), \(kind.rawValue), \(probability)]" }
}

extension Pipeline {
    /// The current version of every pipeline event type.
    public static let eventTypes: [any Event.Type] = [
        PipelineDefined.self, PipelineRenamed.self, PipelineStageAdded.self, PipelineStageRenamed.self,
        PipelineStageProbabilityChanged.self, PipelineStagesReordered.self, PipelineStageRemoved.self,
    ]
}

/// Snapshots store the stored properties as JSON (see `docs/snapshots.md`).
extension Pipeline: SnapshottableAggregate, Equatable {
    /// Raise with any change to the stored properties or to `apply(_:)`.
    public static let snapshotSchemaVersion: UInt32 = 1
}
