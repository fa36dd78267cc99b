extension EventTypeRegistry {
    /// Activities, tasks and campaigns (listed here by their module section).
    static let engagementAggregates: [any Aggregate.Type] = [Activity.self, FollowUpTask.self, Campaign.self]
}

import RapportEventLog
