public import RapportEventLog

extension EventTypeRegistry {
    /// Every CRM aggregate type, for registries and projections.
    public static let crmAggregates: [any Aggregate.Type] =
        [Contact.self, Company.self] + pipelineAggregates + engagementAggregates

    /// Every CRM event type, current versions and upcasters included.
    public static let crm: EventTypeRegistry = {
        var registry = EventTypeRegistry()
        registry.register(AccessDenied.self)
        for aggregate in crmAggregates {
            registry.register(aggregate.eventTypes)
            aggregate.registerUpcasters(in: &registry)
        }
        return registry
    }()
}
