public import Foundation
public import RapportCore
public import RapportEventLog

extension ContactHistory {
    /// A contact's timeline, newest first, one page at a time. A survivor's
    /// timeline includes the histories of the duplicates merged into it
    /// (each such entry names the duplicate in ``TimelineEntry/contactID``);
    /// an event in both histories appears once.
    ///
    /// ```swift
    /// var page = try history.timeline(of: ada, in: store, filter: TimelineFilter(channels: [.phone]), page: PageRequest(limit: 20))
    /// while let next = page.continuation {
    ///     page = try history.timeline(of: ada, in: store, filter: TimelineFilter(channels: [.phone]), page: PageRequest(limit: 20, after: next))
    /// }
    /// ```
    ///
    /// - Complexity: a range scan of each merged contact's timeline from the
    ///   continuation on, reading entries until `page.limit` match the filter.
    /// - Throws: ``ProjectionQueryError/notCaughtUp(projection:reached:asked:)``
    ///   for a continuation whose older entries the read model no longer
    ///   holds all of (it is being rebuilt, and has not reached them yet);
    ///   ``ProjectionQueryError/notBuilt(projection:)`` when the read model
    ///   was never built.
    public func timeline(
        of contact: ContactID, in storage: any ReadModelStorage, filter: TimelineFilter = TimelineFilter(),
        page: PageRequest = PageRequest()
    ) throws(ProjectionQueryError) -> Page<TimelineEntry> {
        let before = try PageToken.position(of: page.after)
        // Nothing is older than position 0 (a token "p0": checked before the arithmetic below).
        if before == .start { return Page(items: [], continuation: nil) }
        // Inverted positions: the entries older than the continuation start right after it.
        let first = before.map { UInt64.max - $0.rawValue + 1 } ?? 0
        return try query(in: storage) { (reader, checkpoint) throws(ProjectionQueryError) in
            // A later page reads entries older than the previous page's last: all of them are
            // there only when the read model has reached it (a rebuild starts from the oldest).
            if let before { try requireReached(LogPosition(before.rawValue - 1), checkpoint) }
            // The newest `limit` matching entries of each history below the continuation, and one more
            // when there is one: a page that ends with the last entry has no continuation.
            var lists: [(entries: [TimelineEntry], cut: Bool)] = []
            for history in try Self.histories(of: contact.description, reader) {
                var entries: [TimelineEntry] = []
                let finished = try reader.scan(TimelineEntry.self, base: "timeline/\(history)/", in: first...UInt64.max) { _, entry in
                    if filter.matches(entry) { entries.append(entry) }
                    return entries.count <= page.limit
                }
                lists.append((entries, !finished))
            }
            // Nothing below the oldest entry read from a list that was cut short may be returned yet.
            let floor = lists.filter(\.cut).compactMap { $0.entries.last?.position }.max() ?? .start
            var seen = Set<LogPosition>()
            var merged: [TimelineEntry] = []
            let ordered = lists.flatMap(\.entries).sorted {
                ($0.position, $0.contactID == contact ? 1 : 0) > ($1.position, $1.contactID == contact ? 1 : 0)
            }
            for entry in ordered where entry.position >= floor && seen.insert(entry.position).inserted {
                merged.append(entry)
            }
            let items = Array(merged.prefix(page.limit))
            let more = merged.count > page.limit || lists.contains(where: \.cut)
            return Page(items: items, continuation: more ? items.last.map { PageToken(after: $0.position) } : nil)
        }
    }

    /// The contact and every duplicate merged into it, directly or through earlier merges.
    static func histories(of contact: String, _ reader: any ReadModelReader) throws(ProjectionQueryError) -> [String] {
        var result = [contact]
        var index = 0
        while index < result.count {
            for key in try reader.keys(withPrefix: "absorbed/\(result[index])/") {
                let duplicate = String(key.split(separator: "/").last!)
                if !result.contains(duplicate) { result.append(duplicate) }
            }
            index += 1
        }
        return result
    }

    /// When the contact was last contacted (call, meeting, email, SMS or
    /// chat); for a survivor of a merge, the latest of both histories. Nil
    /// when the projection never saw the contact.
    ///
    /// ```swift
    /// let last = try history.lastContacted(ada, in: store)
    /// print(last?.at ?? "never", last?.activityType ?? "")
    /// ```
    public func lastContacted(_ contact: ContactID, in storage: any ReadModelStorage) throws(ProjectionQueryError) -> LastContact? {
        try query(in: storage) { (reader, _) throws(ProjectionQueryError) in
            try reader.decoded(ContactStatus.self, Self.contactKey(contact.description))?.lastContact(contact)
        }
    }

    /// The "base rotation": the contacts of `owner` (nil: contacts without an
    /// owner) that nobody has contacted for `days` days as of `now` (last
    /// contact before `now - days`, or never), never-contacted ones first,
    /// then the longest-neglected. Merged duplicates and archived contacts
    /// are left out.
    ///
    /// ```swift
    /// let page = try history.contactsNotContacted(forDays: 90, asOf: Date(), owner: "user:anna", in: store)
    /// for contact in page.items { print(contact.contactID, contact.at ?? "never") }
    /// ```
    ///
    /// `days` may be 0 (every contact not contacted before `now`: the whole
    /// rotation), never negative.
    ///
    /// - Throws: ``ProjectionQueryError/invalidArgument(name:reason:)`` for
    ///   negative `days`, before anything is read;
    ///   ``ProjectionQueryError/invalidToken(_:)`` for a token this query did not return;
    ///   ``ProjectionQueryError/notBuilt(projection:)`` when the read model was never built.
    /// - Complexity: a range scan of the owner's index up to the cut-off date: O(page).
    public func contactsNotContacted(
        forDays days: Int, asOf now: Date, owner: String?, in storage: any ReadModelStorage, page: PageRequest = PageRequest()
    ) throws(ProjectionQueryError) -> Page<LastContact> {
        try requireDays(days, argument: "forDays")
        let cutoff = now.addingTimeInterval(-Double(days) * 86_400)
        let base = "rotation/\(Key.boundedComponent(owner ?? ""))/"
        // Here the token is the index key to resume after (dates are not positions).
        let resume = page.after?.rawValue
        if let resume, !resume.hasPrefix(base) { throw .invalidToken(resume) }
        let first = resume.flatMap { UInt64($0.dropFirst(base.count).prefix(Key.width)) } ?? 0
        let last = Key.dateNumber(cutoff)
        guard first <= last else { return Page(items: [], continuation: nil) }
        return try query(in: storage) { (reader, _) throws(ProjectionQueryError) in
            var items: [LastContact] = []
            var lastKey: String?
            var more = false
            try reader.scan(LastContact.self, base: base, in: first...last) { key, contact in
                if let resume, !resume.utf8.lexicographicallyPrecedes(key) { return true }
                guard contact.at.map({ $0 < cutoff }) ?? true else { return true }
                guard items.count < page.limit else {
                    more = true
                    return false
                }
                items.append(contact)
                lastKey = String(decoding: key, as: UTF8.self)
                return true
            }
            return Page(items: items, continuation: more ? lastKey.map { PageToken(rawValue: $0) } : nil)
        }
    }
}
