extension EventTypeRegistry {
    /// Leads, deals and pipelines (listed here by their module section).
    static let pipelineAggregates: [any Aggregate.Type] = []
}

import RapportEventLog
