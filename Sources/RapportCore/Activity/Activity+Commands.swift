public import Foundation
import RapportEventLog

extension Command where A == Activity {
    /// Logs an activity: what happened, the entities it concerns (at least
    /// one), and when it happened (the context's time by default; a meeting's
    /// start for meetings). The context's actor is recorded as who logged it.
    ///
    /// ```swift
    /// try await repository.execute(.log(.email(direction: .inbound, subject: "Re: offer"),
    ///                                   links: [EntityRef(adaID), EntityRef(acmeID)]),
    ///                              on: ActivityID(), context: context)
    /// ```
    ///
    /// - Throws: ``CRMError/invalidValue(field:reason:)`` for a negative duration, a meeting that
    ///   does not end after it starts, a blank subject or text, a malformed link, or no link at all.
    public static func log(
        _ details: ActivityDetails, links: [EntityRef], occurredAt: Date? = nil, notes: String? = nil, outcome: String? = nil
    ) -> Self {
        Command(name: "activity.log", target: .new) { activity, context throws(CRMError) in
            let details = try details.validated()
            let links = try validatedLinks(links, maximum: Activity.maximumLinks)
            guard !links.isEmpty else {
                throw .invalidValue(field: "links", reason: "an activity must be linked to at least one contact, company or deal")
            }
            for link in links { try activity.ensureNotSelf(link) }
            let when: Date
            switch (occurredAt, details) {
            case (let date?, _): when = date
            case (nil, .meeting(_, _, let start, _)): when = start
            case (nil, _): when = context.now
            }
            return [ActivityLogged(
                details: details, links: links, loggedBy: context.actor.id,
                occurredAt: try validatedDate(when, field: "occurred date"),
                notes: try optionalText(notes, field: "notes", maximum: 100_000),
                outcome: try optionalText(outcome, field: "outcome", maximum: 1_000))]
        }
    }

    /// Logs a phone call of `duration` seconds.
    ///
    /// ```swift
    /// try await repository.execute(.logCall(.inbound, duration: 240, outcome: "asked for a quote", links: [EntityRef(adaID)]),
    ///                              on: ActivityID(), context: context)
    /// ```
    public static func logCall(
        _ direction: ActivityDirection, duration: TimeInterval, outcome: String? = nil, notes: String? = nil,
        links: [EntityRef], occurredAt: Date? = nil
    ) -> Self {
        log(.call(direction: direction, duration: duration), links: links, occurredAt: occurredAt, notes: notes, outcome: outcome)
    }

    /// Logs a meeting; it happened at its start unless `occurredAt` says otherwise.
    ///
    /// ```swift
    /// try await repository.execute(.logMeeting(title: "Kick-off", attendees: ["user:anna", "ada@example.com"],
    ///                                          start: start, end: start + 3600, links: [EntityRef(adaID)]),
    ///                              on: ActivityID(), context: context)
    /// ```
    public static func logMeeting(
        title: String, attendees: [String], start: Date, end: Date, outcome: String? = nil, notes: String? = nil,
        links: [EntityRef], occurredAt: Date? = nil
    ) -> Self {
        log(.meeting(title: title, attendees: attendees, start: start, end: end), links: links, occurredAt: occurredAt,
            notes: notes, outcome: outcome)
    }

    /// Logs an email sent or received.
    ///
    /// ```swift
    /// try await repository.execute(.logEmail(.outbound, subject: "Your offer", links: [EntityRef(adaID)]),
    ///                              on: ActivityID(), context: context)
    /// ```
    public static func logEmail(
        _ direction: ActivityDirection, subject: String, notes: String? = nil, links: [EntityRef], occurredAt: Date? = nil
    ) -> Self {
        log(.email(direction: direction, subject: subject), links: links, occurredAt: occurredAt, notes: notes)
    }

    /// Logs a text message sent or received.
    ///
    /// ```swift
    /// try await repository.execute(.logSMS(.inbound, text: "Running late, 10 min", links: [EntityRef(adaID)]),
    ///                              on: ActivityID(), context: context)
    /// ```
    public static func logSMS(_ direction: ActivityDirection, text: String, links: [EntityRef], occurredAt: Date? = nil) -> Self {
        log(.sms(direction: direction, text: text), links: links, occurredAt: occurredAt)
    }

    /// Logs a chat conversation (its transcript or a summary).
    ///
    /// ```swift
    /// try await repository.execute(.logChat(text: "Asked about SSO support.", links: [EntityRef(adaID)]),
    ///                              on: ActivityID(), context: context)
    /// ```
    public static func logChat(text: String, links: [EntityRef], occurredAt: Date? = nil) -> Self {
        log(.chat(text: text), links: links, occurredAt: occurredAt)
    }

    /// Logs a note.
    ///
    /// ```swift
    /// try await repository.execute(.logNote("Prefers calls after 4 pm.", links: [EntityRef(adaID)]),
    ///                              on: ActivityID(), context: context)
    /// ```
    public static func logNote(_ text: String, links: [EntityRef], occurredAt: Date? = nil) -> Self {
        log(.note(text: text), links: links, occurredAt: occurredAt)
    }

    /// Logs a web form submission with its fields.
    ///
    /// ```swift
    /// try await repository.execute(.logWebForm("contact-us", fields: ["email": "ada@example.com", "message": "Pricing?"],
    ///                                          links: [EntityRef(adaID)]),
    ///                              on: ActivityID(), context: CommandContext(actor: webhook, channel: .webForm))
    /// ```
    public static func logWebForm(_ form: String, fields: [String: String], links: [EntityRef], occurredAt: Date? = nil) -> Self {
        log(.webForm(form: form, fields: fields), links: links, occurredAt: occurredAt)
    }

    /// Replaces the notes; nil or blank text clears them. The same notes again change nothing.
    ///
    /// ```swift
    /// try await repository.execute(.amendNotes("Budget approved in Q3."), on: activityID, context: context)
    /// ```
    public static func amendNotes(_ notes: String?) -> Self {
        Command(name: "activity.amendNotes") { activity, _ throws(CRMError) in
            try activity.ensureActive()
            let notes = try optionalText(notes, field: "notes", maximum: 100_000)
            return notes == activity.notes ? [] : [ActivityNotesAmended(from: activity.notes, to: notes)]
        }
    }

    /// Replaces the outcome; nil or blank text clears it. The same outcome again changes nothing.
    ///
    /// ```swift
    /// try await repository.execute(.amendOutcome("left a voicemail"), on: activityID, context: context)
    /// ```
    public static func amendOutcome(_ outcome: String?) -> Self {
        Command(name: "activity.amendOutcome") { activity, _ throws(CRMError) in
            try activity.ensureActive()
            let outcome = try optionalText(outcome, field: "outcome", maximum: 1_000)
            return outcome == activity.outcome ? [] : [ActivityOutcomeAmended(from: activity.outcome, to: outcome)]
        }
    }

    /// Links the activity to one more entity. Linking one it has already changes nothing.
    ///
    /// ```swift
    /// try await repository.execute(.link(EntityRef(kind: "deal", id: dealUUID)), on: activityID, context: context)
    /// ```
    public static func link(_ entity: EntityRef) -> Self {
        Command(name: "activity.link") { activity, _ throws(CRMError) in
            try activity.ensureActive()
            let entity = try validatedLink(entity)
            try activity.ensureNotSelf(entity)
            if activity.links.contains(entity) { return [] }
            guard activity.links.count < Activity.maximumLinks else {
                throw .invalidValue(field: "links", reason: "there are more than \(Activity.maximumLinks) of them")
            }
            return [ActivityLinked(entity: entity)]
        }
    }

    /// Removes a link. The last link cannot be removed: an activity always concerns someone.
    ///
    /// ```swift
    /// try await repository.execute(.unlink(EntityRef(acmeID)), on: activityID, context: context)
    /// ```
    public static func unlink(_ entity: EntityRef) -> Self {
        Command(name: "activity.unlink") { activity, _ throws(CRMError) in
            try activity.ensureActive()
            guard activity.links.contains(entity) else {
                throw .invalidValue(field: "link", reason: "activity \(activity.id) is not linked to \(entity)")
            }
            guard activity.links.count > 1 else {
                throw .invalidTransition(kind: Activity.kind, id: activity.id.description,
                                         reason: "\(entity) is its only link; link another entity first")
            }
            return [ActivityUnlinked(entity: entity)]
        }
    }

    /// Removes the activity: a soft delete, recorded with its reason. The
    /// activity stays loadable with ``Activity/isRemoved`` set; later commands are refused.
    ///
    /// ```swift
    /// try await repository.execute(.remove(reason: "logged on the wrong contact"), on: activityID, context: context)
    /// ```
    public static func remove(reason: String? = nil) -> Self {
        Command(name: "activity.remove") { activity, _ throws(CRMError) in
            try activity.ensureActive()
            return [ActivityRemoved(reason: try optionalText(reason, field: "reason", maximum: 1_000))]
        }
    }
}

extension Activity {
    /// Refuses a link from the activity to itself.
    func ensureNotSelf(_ link: EntityRef) throws(CRMError) {
        if link == EntityRef(id) { throw .invalidValue(field: "link", reason: "an activity cannot be linked to itself") }
    }
}
