public import Foundation
public import RapportEventLog

/// A pipeline was defined with its name and its first stages, in board order.
///
/// ```swift
/// PipelineDefined(name: "Sales", stages: [open, won, lost])
/// ```
public struct PipelineDefined: Event {
    public static let typeName = "PipelineDefined"
    public var name: String
    public var stages: [PipelineStage]
}

/// The pipeline's display name changed.
///
/// ```swift
/// PipelineRenamed(from: "Sales", to: "Enterprise sales")
/// ```
public struct PipelineRenamed: Event {
    public static let typeName = "PipelineRenamed"
    public var from: String
    public var to: String
}

/// A stage was inserted at `index` on the board.
///
/// ```swift
/// PipelineStageAdded(stage: PipelineStage(key: "demo", name: "Demo", probability: 0.3, kind: .open), index: 1)
/// ```
public struct PipelineStageAdded: Event {
    public static let typeName = "PipelineStageAdded"
    public var stage: PipelineStage
    public var index: Int
}

/// A stage's display name changed; its key, which deals record, did not.
///
/// ```swift
/// PipelineStageRenamed(key: "negotiation", from: "Negotiation", to: "Contract talks")
/// ```
public struct PipelineStageRenamed: Event {
    public static let typeName = "PipelineStageRenamed"
    public var key: String
    public var from: String
    public var to: String
}

/// An open stage's default probability changed.
///
/// ```swift
/// PipelineStageProbabilityChanged(key: "proposal", from: Decimal(string: "0.4")!, to: Decimal(string: "0.35")!)
/// ```
public struct PipelineStageProbabilityChanged: Event {
    public static let typeName = "PipelineStageProbabilityChanged"
    public var key: String
    public var from: Decimal
    public var to: Decimal
}

/// The stages were put in a new board order (keys before and after).
///
/// ```swift
/// PipelineStagesReordered(from: ["a", "b", "won", "lost"], to: ["b", "a", "won", "lost"])
/// ```
public struct PipelineStagesReordered: Event {
    public static let typeName = "PipelineStagesReordered"
    public var from: [String]
    public var to: [String]
}

/// A stage was retired: deals can no longer move into it, its key is never
/// reused, and the stage as it was is recorded so history stays readable.
///
/// ```swift
/// PipelineStageRemoved(stage: PipelineStage(key: "demo", name: "Demo", probability: 0.3, kind: .open))
/// ```
public struct PipelineStageRemoved: Event {
    public static let typeName = "PipelineStageRemoved"
    public var stage: PipelineStage
}
