/// A consistency condition across streams: the append fails if any event
/// carrying one of ``tags`` was stored after ``after``.
///
/// Read what you decide on, remember the head position you read at, and
/// append with a condition on the tags your decision depended on. If anybody
/// stored a matching event in between, the append fails with
/// ``EventStoreError/appendConditionFailed(tags:after:conflictingPosition:)``
/// and nothing is written.
///
/// ```swift
/// let seen = try await store.headPosition()
/// // … decide, using events tagged "contact:42" …
/// try await store.append(events, to: stream,
///                        condition: AppendCondition(tags: [try Tag("contact:42")], after: seen))
/// ```
public struct AppendCondition: Hashable, Sendable {
    /// Any event with at least one of these tags counts.
    public var tags: Set<Tag>
    /// The position the caller's decision was based on.
    public var after: LogPosition

    /// Creates a condition.
    public init(tags: Set<Tag>, after: LogPosition) {
        self.tags = tags
        self.after = after
    }
}
