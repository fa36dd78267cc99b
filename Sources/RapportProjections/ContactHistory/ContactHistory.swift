import Foundation
public import RapportCore
public import RapportEventLog
public import RapportReplay

/// Contact histories: one timeline per contact (every event that touches the
/// contact, its company, its deals, and the activities, tasks and campaigns
/// it is part of), when each contact was last contacted, and the "base
/// rotation" list of contacts nobody has contacted for a while.
///
/// ```swift
/// let history = ContactHistory()
/// let runner = try ProjectionRunner(log: store, storage: store, projections: [history], registry: .crm)
/// try await runner.catchUp()
/// let page = try history.timeline(of: ada, in: store, filter: TimelineFilter(kinds: ["activity"]), page: PageRequest(limit: 20))
/// let stale = try history.contactsNotContacted(forDays: 90, asOf: Date(), owner: "user:anna", in: store)
/// ```
///
/// Run it with the `.crm` registry: it reads links (contact ↔ company,
/// deal ↔ contacts, activity ↔ contacts) from the typed events.
///
/// ## Read model
///
/// | key | value |
/// |-----|-------|
/// | `timeline/<contact>/<inverted position>` | ``TimelineEntry`` (newest first) |
/// | `company/<company>` | the company's contacts (`[id]`) |
/// | `deal/<deal>` | the deal's contacts (`[id]`) |
/// | `activity/<activity>` | the activity's type, date, contacts |
/// | `contact/<contact>` | owner, archived, merged, the latest contact-channel activity |
/// | `touch/<contact>/<activity>` | each contact-channel activity of the contact (date, type); a survivor also holds its duplicates' |
/// | `absorbed/<survivor>/<duplicate>` | a merge |
/// | `rotation/<owner>/<last contacted, seconds>/<contact>` | ``LastContact`` (never contacted: all zeros) |
///
/// Events on a company fan out to the timelines of the contacts linked to it
/// at the time; events on a deal to the deal's contacts; activities and
/// tasks to their linked contacts and to the contacts of their linked
/// companies and deals. Campaign-wide events (rename, budget) are not copied
/// to every member's timeline; a member's own campaign events are.
public struct ContactHistory: Projection {
    public let name: String
    /// 2: key components (owners, kinds) in Unicode normalization form C.
    /// 3: a survivor holds its duplicates' activities (`touch/…`), before and after the merge.
    /// 4: a note has no interaction channel (it was `ui`, so a filter on `ui` kept notes entered through the API).
    public let version = 4
    /// Every event tagged with a contact, company, deal, activity, task or
    /// campaign; only the payloads that change links and statuses (see
    /// `update`) are decoded.
    public let interest = ProjectionInterest(
        tagPrefixes: ["contact:", "company:", "deal:", "activity:", "task:", "campaign:"],
        decoding: Set([
            ContactCreated.self, ContactOwnerAssigned.self, ContactArchived.self, ContactRestored.self,
            ContactLinkedToCompany.self, ContactUnlinkedFromCompany.self, CompanyContactLinked.self,
            CompanyContactUnlinked.self, DealOpened.self, DealContactAdded.self, DealContactRemoved.self,
            ContactAbsorbed.self, ContactMergedInto.self, ActivityLogged.self, ActivityLinked.self,
            ActivityUnlinked.self, ActivityRemoved.self,
        ].map { ($0 as any Event.Type).typeName }))

    /// The activity types that count as contacting someone.
    public static let contactActivityTypes: Set<ActivityType> = [.call, .meeting, .email, .sms, .chat]

    /// A contact history stored under `name`.
    public init(name: String = "contact-history") { self.name = name }

    public func apply(_ event: RecordedEvent, decoded: (any Event)?, to model: inout ReadModelContext) throws {
        if event.type == AccessDenied.typeName { return }
        let stream = event.streamEntity
        // 1. Who sees it: the contacts tagged, plus those reached through a company or a deal.
        var targets: [String: TimelineEntry.Via] = [:]
        for contact in event.taggedIDs(Contact.kind) { targets[contact] = .contact }
        var companies: [String] = []
        var deals: [String] = []
        switch stream.kind {
        case Contact.kind: break
        case Company.kind: companies = [stream.id]
        case Deal.kind: deals = [stream.id]
        default:
            companies = event.taggedIDs(Company.kind)
            deals = event.taggedIDs(Deal.kind)
        }
        for company in companies {
            for contact in try model.load([String].self, Self.companyKey(company)) ?? [] where targets[contact] == nil {
                targets[contact] = .company
            }
        }
        for deal in deals {
            for contact in try model.load([String].self, Self.dealKey(deal)) ?? [] where targets[contact] == nil || targets[contact] == .company {
                targets[contact] = .deal
            }
        }
        // What is known of the activity. Logging it starts afresh, so nothing is read then (most of a
        // rebuild's reads were of activities not stored yet: a round trip each on PostgreSQL).
        let activity: ActivityLinks?
        if let logged = decoded as? ActivityLogged {
            activity = ActivityLinks(type: logged.details.type.rawValue, occurredAt: logged.occurredAt, contacts: [], removed: false)
        } else {
            activity = stream.kind == Activity.kind ? try model.load(ActivityLinks.self, Self.activityKey(stream.id)) : nil
        }
        let interaction: Channel? = activity.flatMap { ActivityType(rawValue: $0.type) }.flatMap { ActivityDetails.channel(of: $0) }
        for (contact, via) in targets {
            guard let contactID = ContactID(contact) else { continue }
            let entry = TimelineEntry(
                contactID: contactID, position: event.position, eventID: event.id, type: event.type,
                entityKind: stream.kind, entityID: stream.id, via: via, actor: event.metadata.actor, channel: event.metadata.channel,
                interactionChannel: interaction, activityType: activity?.type, recordedAt: event.recordedAt,
                occurredAt: event.occurredAt, correlationID: event.metadata.correlationID)
            model.store(entry, Self.timelineKey(contact, event.position))
        }
        // 2. Keep the links and the last-contacted dates current.
        try update(with: event, decoded: decoded, stream: stream, activity: activity, in: &model)
    }

    /// Keeps links and statuses current. Every payload type this reads must
    /// be in the interest's `decoding`.
    private func update(
        with event: RecordedEvent, decoded: (any Event)?, stream: (kind: String, id: String), activity: ActivityLinks?,
        in model: inout ReadModelContext
    ) throws {
        switch decoded {
        case let e as ContactCreated:
            try changeContact(stream.id, in: &model) { $0.owner = e.ownerID }
        case let e as ContactOwnerAssigned:
            try changeContact(stream.id, in: &model) { $0.owner = e.to }
        case is ContactArchived:
            try changeContact(stream.id, in: &model) { $0.archived = true }
        case is ContactRestored:
            try changeContact(stream.id, in: &model) { $0.archived = false }
        case let e as ContactLinkedToCompany:
            if let previous = e.previousCompanyID { try unlink(stream.id, from: Self.companyKey(previous.description), in: &model) }
            try link(stream.id, to: Self.companyKey(e.companyID.description), in: &model)
        case let e as ContactUnlinkedFromCompany:
            try unlink(stream.id, from: Self.companyKey(e.companyID.description), in: &model)
        case let e as CompanyContactLinked:
            try link(e.contactID.description, to: Self.companyKey(stream.id), in: &model)
        case let e as CompanyContactUnlinked:
            try unlink(e.contactID.description, from: Self.companyKey(stream.id), in: &model)
        case let e as DealOpened:
            for contact in e.contacts { try link(contact.contactID.description, to: Self.dealKey(stream.id), in: &model) }
        case let e as DealContactAdded:
            try link(e.contactID.description, to: Self.dealKey(stream.id), in: &model)
        case let e as DealContactRemoved:
            try unlink(e.contactID.description, from: Self.dealKey(stream.id), in: &model)
        case let e as ContactAbsorbed:
            let duplicate = e.duplicate.description
            model.mark("absorbed/\(stream.id)/\(duplicate)")
            // The duplicate's activities count for the survivor from now on: removing one
            // later must take it out of the survivor's last contact too.
            var theirs: [ContactStatus.Touch] = []
            try model.forEach(keyPrefix: "touch/\(duplicate)/") { _, bytes in theirs.append(try Stored.decode(ContactStatus.Touch.self, bytes)) }
            for touch in theirs { model.store(touch, Self.touchKey(stream.id, touch.activity)) }
            let latest = try model.load(ContactStatus.self, Self.contactKey(duplicate))?.latest
            try changeContact(stream.id, in: &model) { status in
                if let latest, status.latest.map({ latest.isLater(than: $0) }) ?? true { status.latest = latest }
            }
        case let e as ContactMergedInto:
            try changeContact(stream.id, in: &model) { $0.mergedInto = e.survivor.description }
        case let e as ActivityLogged:
            var links = activity ?? ActivityLinks(type: e.details.type.rawValue, occurredAt: e.occurredAt, contacts: [], removed: false)
            links.contacts = e.links.filter { $0.kind == Contact.kind }.map { $0.id.lowercasedText }
            model.store(links, Self.activityKey(stream.id))
            try touch(links, activity: stream.id, in: &model)
        case let e as ActivityLinked where e.entity.kind == Contact.kind:
            guard var links = activity else { break }
            let contact = e.entity.id.lowercasedText
            if !links.contacts.contains(contact) { links.contacts.append(contact) }
            model.store(links, Self.activityKey(stream.id))
            try touch(links, activity: stream.id, in: &model)
        case let e as ActivityUnlinked where e.entity.kind == Contact.kind:
            guard var links = activity else { break }
            let contact = e.entity.id.lowercasedText
            links.contacts.removeAll { $0 == contact }
            model.store(links, Self.activityKey(stream.id))
            try forget(activity: stream.id, for: contact, in: &model)
        case is ActivityRemoved:
            guard var links = activity else { break }
            links.removed = true
            model.store(links, Self.activityKey(stream.id))
            for contact in links.contacts { try forget(activity: stream.id, for: contact, in: &model) }
        default: break
        }
    }

    /// Records the activity as a contact with each of its contacts, when its type counts.
    private func touch(_ links: ActivityLinks, activity: String, in model: inout ReadModelContext) throws {
        guard !links.removed, let type = ActivityType(rawValue: links.type), Self.contactActivityTypes.contains(type) else { return }
        let touch = ContactStatus.Touch(activity: activity, at: links.occurredAt, type: links.type)
        for linked in links.contacts {
            try alongMerges(from: linked, in: &model) { contact, model in
                model.store(touch, Self.touchKey(contact, activity))
                return try changeContact(contact, in: &model) { status in
                    if status.latest.map({ touch.isLater(than: $0) }) ?? true { status.latest = touch }
                }
            }
        }
    }

    /// Runs `body` for `contact`, then for the contact it was merged into, and
    /// that one's, and so on: an activity of a merged contact counts for its
    /// survivor too. `body` returns the contact's status, whose `mergedInto`
    /// names the next, so no status is read twice on the way.
    private func alongMerges(
        from contact: String, in model: inout ReadModelContext, _ body: (String, inout ReadModelContext) throws -> ContactStatus
    ) throws {
        var seen: [String] = []
        var next: String? = contact
        while let current = next, !seen.contains(current) {
            seen.append(current)
            next = try body(current, &model).mergedInto
        }
    }

    /// Removes the activity's touch of the contact; when it was the latest,
    /// finds the new latest among the contact's remaining touches (a scan of
    /// that contact's touches only, and only on this rare path).
    private func forget(activity: String, for linked: String, in model: inout ReadModelContext) throws {
        try alongMerges(from: linked, in: &model) { contact, model in try forgetOne(activity: activity, for: contact, in: &model) }
    }

    /// ``forget(activity:for:in:)`` for one contact; returns its status after.
    private func forgetOne(activity: String, for contact: String, in model: inout ReadModelContext) throws -> ContactStatus {
        let status = try model.load(ContactStatus.self, Self.contactKey(contact)) ?? ContactStatus()
        let key = Self.touchKey(contact, activity)
        guard try model.value(forKey: key) != nil else { return status }
        model.remove(key)
        guard status.latest?.activity == activity else { return status }
        var latest: ContactStatus.Touch?
        try model.forEach(keyPrefix: "touch/\(contact)/") { _, bytes in
            let touch = try Stored.decode(ContactStatus.Touch.self, bytes)
            if latest.map({ touch.isLater(than: $0) }) ?? true { latest = touch }
        }
        return try changeContact(contact, in: &model) { $0.latest = latest }
    }

    private func link(_ contact: String, to key: String, in model: inout ReadModelContext) throws {
        var contacts = try model.load([String].self, key) ?? []
        guard !contacts.contains(contact) else { return }
        contacts.append(contact)
        model.store(contacts, key)
    }

    private func unlink(_ contact: String, from key: String, in model: inout ReadModelContext) throws {
        guard var contacts = try model.load([String].self, key), contacts.contains(contact) else { return }
        contacts.removeAll { $0 == contact }
        model.store(contacts, key)
    }

    /// Changes a contact's status and moves its rotation key accordingly; returns the status after.
    @discardableResult
    private func changeContact(
        _ contact: String, in model: inout ReadModelContext, _ change: (inout ContactStatus) -> Void
    ) throws -> ContactStatus {
        let key = Self.contactKey(contact)
        let before = try model.load(ContactStatus.self, key) ?? ContactStatus()
        var after = before
        change(&after)
        guard after != before else { return after }
        model.store(after, key)
        let old = before.rotationKey(contact), new = after.rotationKey(contact)
        if let old, old != new { model.remove(old) }
        if let new, let id = ContactID(contact) { model.store(after.lastContact(id), new) }
        return after
    }

    static func timelineKey(_ contact: String, _ position: LogPosition) -> String { "timeline/\(contact)/\(Key.inverted(position))" }
    static func companyKey(_ company: String) -> String { "company/\(company)" }
    static func dealKey(_ deal: String) -> String { "deal/\(deal)" }
    static func activityKey(_ activity: String) -> String { "activity/\(activity)" }
    static func contactKey(_ contact: String) -> String { "contact/\(contact)" }
    static func touchKey(_ contact: String, _ activity: String) -> String { "touch/\(contact)/\(activity)" }
}

/// What the projection keeps about an activity.
struct ActivityLinks: Codable, Hashable {
    var type: String
    var occurredAt: Date
    var contacts: [String]
    var removed: Bool
}

/// What the projection keeps about a contact. Its contact-channel activities
/// are kept one per key (`touch/<contact>/<activity>`), so an activity costs
/// the same however many the contact has had.
struct ContactStatus: Codable, Hashable {
    struct Touch: Codable, Hashable {
        var activity: String
        var at: Date
        var type: String

        /// Later date first; ties go to the greater activity id.
        func isLater(than other: Touch) -> Bool { (at, activity) > (other.at, other.activity) }
    }

    var owner: String?
    var archived = false
    var mergedInto: String?
    /// The latest contact-channel activity linked to the contact.
    var latest: Touch?

    /// Where the contact is in the rotation index; nil when it is not (merged or archived).
    func rotationKey(_ contact: String) -> String? {
        guard mergedInto == nil, !archived else { return nil }
        let date = latest.map { Key.date($0.at) } ?? Key.padded(0)
        return "rotation/\(Key.boundedComponent(owner ?? ""))/\(date)/\(contact)"
    }

    func lastContact(_ id: ContactID) -> LastContact {
        LastContact(contactID: id, owner: owner, at: latest?.at, activityID: latest?.activity, activityType: latest?.type)
    }
}

extension ActivityDetails {
    /// The channel an activity of `type` takes place on; nil for a note,
    /// which records something and takes place on no channel (the channel
    /// it was entered through is the event's own).
    static func channel(of type: ActivityType) -> Channel? {
        switch type {
        case .call: .phone
        case .meeting: .meeting
        case .email: .email
        case .sms: .sms
        case .chat: .chat
        case .note: nil
        case .webForm: .webForm
        }
    }
}
