import Foundation
import RapportCore
import RapportEventLog
import RapportProjections
import RapportReplay
import Testing

/// Continuation tokens come back from clients and cut-offs from users: any
/// of them gets a page or a typed error, never a trap.
@Suite("Query inputs")
struct QueryInputTests {
    @Test func anyTokenOrCutOffGetsAPageOrATypedError() async throws {
        let w = try World()
        let ada = ContactID()
        try await w.run(.create(name: try PersonName(given: "Ada", family: "Lovelace"), email: "ada@acme.example", owner: "user:anna"),
                        on: ada, context(anna, day: 1))
        try await w.run(.logCall(.outbound, duration: 60, links: [EntityRef(ada)]), on: ActivityID(), context(anna, .phone, day: 2))
        try await w.runner.catchUp()
        let history = ContactHistory(), audit = AuditTrail()
        var invalid = 0
        for token in ["p0", "p1", "p2", "p18446744073709551615", "p18446744073709551616", "p", "p-1", "x", ""] {
            let page = PageRequest(limit: 5, after: PageToken(rawValue: token))
            let timeline = Result { () throws(ProjectionQueryError) in try history.timeline(of: ada, in: w.live, page: page) }
            let entries = Result { () throws(ProjectionQueryError) in try audit.entries(.all, in: w.live, page: page) }
            switch (timeline, entries) {
            case (.success(let found), .success):
                #expect(found.items.allSatisfy { $0.position.rawValue < (UInt64(token.dropFirst()) ?? .max) }, "\(token)")
            case (.failure(.invalidToken(let a)), .failure(.invalidToken(let b))):
                #expect(a == token && b == token)
                invalid += 1
            case (.failure(.notCaughtUp(_, let reached, let asked)), .success):
                // A timeline token past what the history holds (made elsewhere, or forged): older entries may be missing.
                #expect(asked.rawValue == (UInt64(token.dropFirst()) ?? 0) - 1 && reached.map { $0 < asked } == true, "\(token)")
            default:
                Issue.record("\(token): \(timeline), \(entries)")
            }
        }
        #expect(invalid == 5, "p18446744073709551616, p, p-1, x and the empty token are not positions")
        #expect(try history.timeline(of: ada, in: w.live, page: PageRequest(after: PageToken(rawValue: "p0"))).items.isEmpty,
                "nothing is older than position 0")
        for days in [Int.max, 0, 36_500] {
            _ = try history.contactsNotContacted(forDays: days, asOf: Date(timeIntervalSince1970: 1_700_000_000), owner: "user:anna", in: w.live)
        }
        for days in [-1, Int.min] {
            let refused = refusedArgument { () throws(ProjectionQueryError) in
                _ = try history.contactsNotContacted(forDays: days, asOf: Date(timeIntervalSince1970: 1_700_000_000), owner: "user:anna", in: w.live)
            }
            #expect(refused?.name == "forDays" && refused?.reason == "\(days) is negative; give 0 or more days")
        }
    }

    /// A negative day count is a caller's mistake, refused before the storage is
    /// touched; 0 is a cut-off at `now` itself (every contact not contacted before it).
    @Test func negativeDayCountsAreRefusedBeforeAnythingIsRead() async throws {
        let history = ContactHistory(), states = DealStates()
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        for days in [-1, -30, Int.min] {
            let reason = "\(days) is negative; give 0 or more days"
            let contacts = refusedArgument { () throws(ProjectionQueryError) in
                _ = try history.contactsNotContacted(forDays: days, asOf: now, owner: nil, in: UntouchableStorage())
            }
            #expect(contacts?.name == "forDays" && contacts?.reason == reason)
            let summary = refusedArgument { () throws(ProjectionQueryError) in _ = try states.summary(of: PipelineID(), in: UntouchableStorage(), now: now, staleAfterDays: days) }
            #expect(summary?.name == "staleAfterDays" && summary?.reason == reason)
            let asOf = refusedArgument { () throws(ProjectionQueryError) in _ = try states.summary(of: PipelineID(), asOf: 7, in: UntouchableStorage(), now: now, staleAfterDays: days) }
            #expect(asOf?.name == "staleAfterDays" && asOf?.reason == reason)
        }
        let error = ProjectionQueryError.invalidArgument(name: "staleAfterDays", reason: "-1 is negative; give 0 or more days")
        #expect(error.description == "Invalid staleAfterDays: -1 is negative; give 0 or more days.")
        #expect(error.localizedDescription == error.description)
    }

    /// `localizedDescription` is the error's own message for every error type, not
    /// "The operation could not be completed".
    @Test func errorsAreLocalizedErrorsWithTheirOwnMessage() {
        let errors: [any Error] = [
            CRMError.notFound(kind: "deal", id: "42"), ReplayError.cancelled, ProjectionQueryError.invalidToken("x"),
            ReplayError.duplicateProjectionNames(["a"]), ProjectionQueryError.invalidArgument(name: "forDays", reason: "-1 is negative"),
            EventStoreError.storeClosed,
        ]
        for error in errors {
            #expect(error.localizedDescription == String(describing: error))
            #expect(!error.localizedDescription.contains("could not be completed"))
        }
    }
}
