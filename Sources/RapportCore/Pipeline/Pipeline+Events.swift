public import Foundation
public import RapportEventLog

/// A pipeline was defined with its name and its first stages, in board order.
///
/// ```swift
/// PipelineDefined(name: "Sales", stages: [open, won, lost])
/// ```
public struct PipelineDefined: Event {
    /// The type name stored with the event: "PipelineDefined".
    public static let typeName = "PipelineDefined"
    /// The pipeline's name, trimmed, 1 to 200 characters.
    public var name: String
    /// The stages in board order: at most 50, at least one open, one won and one lost, keys and names
    /// (ignoring case) unique. Each key is 1 to 64 lower-case letters, digits, `-` or `_`, each name
    /// trimmed and 1 to 100 characters, each probability from 0 to 1 (1 for won, 0 for lost stages).
    public var stages: [PipelineStage]
}

/// The pipeline's display name changed.
///
/// ```swift
/// PipelineRenamed(from: "Sales", to: "Enterprise sales")
/// ```
public struct PipelineRenamed: Event {
    /// The type name stored with the event: "PipelineRenamed".
    public static let typeName = "PipelineRenamed"
    /// The name before.
    public var from: String
    /// The new name, trimmed, 1 to 200 characters.
    public var to: String
}

/// A stage was inserted at `index` on the board.
///
/// ```swift
/// PipelineStageAdded(stage: PipelineStage(key: "demo", name: "Demo", probability: 0.3, kind: .open), index: 1)
/// ```
public struct PipelineStageAdded: Event {
    /// The type name stored with the event: "PipelineStageAdded".
    public static let typeName = "PipelineStageAdded"
    /// The new stage, checked as ``PipelineDefined/stages`` are; its key was never used in the pipeline,
    /// not even by a removed stage.
    public var stage: PipelineStage
    /// Its position on the board, from 0 (first) to the number of stages before it was added (last).
    public var index: Int
}

/// A stage's display name changed; its key, which deals record, did not.
///
/// ```swift
/// PipelineStageRenamed(key: "negotiation", from: "Negotiation", to: "Contract talks")
/// ```
public struct PipelineStageRenamed: Event {
    /// The type name stored with the event: "PipelineStageRenamed".
    public static let typeName = "PipelineStageRenamed"
    /// The key of the stage, which does not change.
    public var key: String
    /// The name before.
    public var from: String
    /// The new name, trimmed, 1 to 100 characters, not another stage's (ignoring case).
    public var to: String
}

/// An open stage's default probability changed.
///
/// ```swift
/// PipelineStageProbabilityChanged(key: "proposal", from: Decimal(string: "0.4")!, to: Decimal(string: "0.35")!)
/// ```
public struct PipelineStageProbabilityChanged: Event {
    /// The type name stored with the event: "PipelineStageProbabilityChanged".
    public static let typeName = "PipelineStageProbabilityChanged"
    /// The key of the stage.
    public var key: String
    /// The default probability before.
    public var from: Decimal
    /// The new default probability, an exact decimal from 0 to 1.
    public var to: Decimal
}

/// The stages were put in a new board order (keys before and after).
///
/// ```swift
/// PipelineStagesReordered(from: ["a", "b", "won", "lost"], to: ["b", "a", "won", "lost"])
/// ```
public struct PipelineStagesReordered: Event {
    /// The type name stored with the event: "PipelineStagesReordered".
    public static let typeName = "PipelineStagesReordered"
    /// The keys of the current stages, in the old board order.
    public var from: [String]
    /// The same keys, each once, in the new board order.
    public var to: [String]
}

/// A stage was retired: deals can no longer move into it, its key is never
/// reused, and the stage as it was is recorded so history stays readable.
///
/// ```swift
/// PipelineStageRemoved(stage: PipelineStage(key: "demo", name: "Demo", probability: 0.3, kind: .open))
/// ```
public struct PipelineStageRemoved: Event {
    /// The type name stored with the event: "PipelineStageRemoved".
    public static let typeName = "PipelineStageRemoved"
    /// The stage as it was when it was retired; it was not the last stage of its kind.
    public var stage: PipelineStage
}
