extension EventTypeRegistry {
    /// Leads, deals and pipelines (listed here by their module section).
    static let pipelineAggregates: [any Aggregate.Type] = [Pipeline.self, Deal.self, Lead.self]
}

import RapportEventLog
