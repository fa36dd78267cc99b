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
            default:
                Issue.record("\(token): \(timeline), \(entries)")
            }
        }
        #expect(invalid == 5, "p18446744073709551616, p, p-1, x and the empty token are not positions")
        #expect(try history.timeline(of: ada, in: w.live, page: PageRequest(after: PageToken(rawValue: "p0"))).items.isEmpty,
                "nothing is older than position 0")
        for days in [Int.max, Int.min, 0, 36_500] {
            _ = try history.contactsNotContacted(forDays: days, asOf: Date(timeIntervalSince1970: 1_700_000_000), owner: "user:anna", in: w.live)
        }
    }

    /// `localizedDescription` is the error's own message for every error type, not
    /// "The operation could not be completed".
    @Test func errorsAreLocalizedErrorsWithTheirOwnMessage() {
        let errors: [any Error] = [
            CRMError.notFound(kind: "deal", id: "42"), ReplayError.cancelled, ProjectionQueryError.invalidToken("x"),
            EventStoreError.storeClosed,
        ]
        for error in errors {
            #expect(error.localizedDescription == String(describing: error))
            #expect(!error.localizedDescription.contains("could not be completed"))
        }
    }
}
