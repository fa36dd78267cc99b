import Foundation
import RapportCore
import RapportEventLog
import RapportLMDB
import RapportProjections
import RapportReplay
import Testing

/// One demo store for the whole suite (generated once, removed at exit).
let sharedDemo: Scratch = {
    let scratch = try! Scratch("queries")
    let run = try! scratch.rapport("demo", "--events", "3000", "--store", scratch.store)
    precondition(run.status == 0, "demo failed: \(run.errors)")
    atexit { try? FileManager.default.removeItem(at: sharedDemo.directory) }
    return scratch
}()

/// A date a year into the demo's history, and one before it.
let march2024 = Date(timeIntervalSince1970: 1_709_251_200)  // 2024-03-01T00:00:00Z
let beforeTheLog = "2020-01-01"

/// The JSON of `rapport history`, as a program reads it.
struct HistoryJSON: Decodable {
    var contact: ContactID
    var name: String?
    var asOf: Date?
    var position: LogPosition
    var head: LogPosition
    var known: Bool
    var lastContacted: LastContact?
    var entries: [TimelineEntry]
}

/// The JSON of `rapport deal`.
struct DealJSON: Decodable {
    var asOf: Date?
    var position: LogPosition
    var head: LogPosition
    var pipelineName: String?
    var deal: DealState?
}

/// The JSON of `rapport pipeline`.
struct PipelineJSON: Decodable {
    struct Amounts: Decodable, Equatable {
        var count: Int
        var total: [String: Decimal]
        var weighted: [String: Decimal]
    }
    struct Results: Decodable, Equatable {
        var won: Int
        var lost: Int
        var wonAmount: [String: Decimal]
        var winRate: Double?
        var averageSalesCycleSeconds: Double?
    }
    struct Stage: Decodable {
        var key: String
        var kind: String
        var deals: Amounts
        var entered: Int
        var advanced: Int
        var conversionRate: Double?
    }
    struct Owner: Decodable {
        var owner: String?
        var open: Amounts
        var results: Results
    }
    struct Pipeline: Decodable {
        var id: PipelineID
        var name: String
        var open: Amounts
        var results: Results
        var stages: [Stage]
        var owners: [Owner]
        var stale: [DealID]
    }
    var asOf: Date?
    var position: LogPosition
    var head: LogPosition
    var pipelines: [Pipeline]
}

func decode<T: Decodable>(_ type: T.Type, _ run: Run) throws -> T {
    #expect(run.outputLines.count == 1, "one line of JSON")
    return try ProjectionTimestamp.makeDecoder().decode(T.self, from: Data(run.output.utf8))
}

extension PipelineJSON.Amounts {
    func matches(_ figures: AmountFigures) -> Bool { count == figures.count && total == figures.total && weighted == figures.weighted }
}

extension PipelineJSON.Results {
    func matches(_ figures: WinFigures) -> Bool {
        won == figures.won && lost == figures.lost && wonAmount == figures.wonAmount && winRate == figures.winRate
            && averageSalesCycleSeconds == figures.averageSalesCycle
    }
}

extension PipelineJSON.Pipeline {
    /// Whether every figure equals the library's summary.
    func matches(_ summary: PipelineSummary) -> Bool {
        id == summary.pipelineID && name == summary.name && open.matches(summary.open) && results.matches(summary.results)
            && stages.map(\.key) == summary.stages.map(\.key)
            && zip(stages, summary.stages).allSatisfy {
                $0.deals.matches($1.deals) && $0.entered == $1.entered && $0.advanced == $1.advanced && $0.conversionRate == $1.conversionRate
            }
            && owners.map(\.owner) == summary.owners.map(\.owner)
            && zip(owners, summary.owners).allSatisfy { $0.open.matches($1.open) && $0.results.matches($1.results) }
    }
}

@Suite("rapport history, deal and pipeline", .serialized)
struct QueryCommandTests {
    let demo = sharedDemo
    var store: String { demo.store }

    /// The library's answers, read in this process from the same store (`projection` built in memory).
    func withStore<R>(
        _ projection: any Projection, _ body: (LMDBEventStore, InMemoryReadModelStorage) async throws -> R
    ) async throws -> R {
        let store = try LMDBEventStore(path: self.store)
        let live = InMemoryReadModelStorage()
        try await ProjectionRunner(log: store, storage: live, projections: [projection], registry: .crm).catchUp()
        let result = try await body(store, live)
        await store.close()
        return result
    }

    @Test func historyInEachFormatIsTheLibrarysTimeline() async throws {
        let history = ContactHistory()
        // The contact with the longest timeline.
        let (contact, all, phone, last) = try await withStore(history) { store, live in
            let created = try await store.readLog(from: 1, filter: LogFilter(types: [ContactCreated.typeName]), limit: 100)
            let contacts = created.compactMap { ContactID(String($0.streamID.rawValue.dropFirst("contact-".count))) }
            let sizes = try contacts.map { try history.timeline(of: $0, in: live, page: PageRequest(limit: 10_000)).items.count }
            let busiest = contacts[sizes.indices.max { sizes[$0] < sizes[$1] }!]
            return (busiest,
                    try history.timeline(of: busiest, in: live, page: PageRequest(limit: 10_000)).items,
                    try history.timeline(of: busiest, in: live, filter: TimelineFilter(channels: [.phone]), page: PageRequest(limit: 10_000)).items,
                    try history.lastContacted(busiest, in: live))
        }
        #expect(all.count > 5)

        let json = try demo.rapport("history", contact.description, "--format", "json", "--store", store)
        #expect(json.status == 0 && json.errors.isEmpty, "\(json.errors)")
        let report = try decode(HistoryJSON.self, json)
        #expect(report.contact == contact && report.known && report.asOf == nil && report.position == report.head)
        #expect(report.entries == all, "every entry, newest first, as the library returns them")
        #expect(report.lastContacted == last)

        let phoneRun = try demo.rapport("history", "contact:\(contact)", "--channel", "phone", "--format", "json", "--store", store)
        #expect(try decode(HistoryJSON.self, phoneRun).entries == phone)

        let table = try demo.rapport("history", "contact:\(contact)", "--limit", "4", "--store", store)
        #expect(table.status == 0)
        let lines = table.outputLines
        #expect(lines[0].hasSuffix("(contact \(contact))") && lines[0].hasPrefix(report.name ?? "(unnamed)"))
        let rows = lines.drop { !$0.hasPrefix("newest first") }.dropFirst()
        #expect(rows.count == 5 && rows.last == "… more: use --limit, or --format json for everything")
        for (row, entry) in zip(rows.dropLast(), all) {
            #expect(row.hasPrefix(utcMinute(entry.date)) && row.contains(" \(entry.type) ") && row.hasSuffix(entry.channel.rawValue),
                    "\(row)")
        }
    }

    @Test func historyAsOfADateIsWhatTheStoreKnewThen() async throws {
        let history = ContactHistory()
        let (contact, position, then, now) = try await withStore(history) { store, live in
            let position = try await store.position(asOf: march2024)
            let past = try await history.readModel(asOf: position, from: store)
            // A contact created before March 2024 whose timeline grew after it.
            let created = try await store.readLog(from: 1, filter: LogFilter(types: [ContactCreated.typeName]), limit: 200)
            for record in created where record.position <= position {
                let id = ContactID(String(record.streamID.rawValue.dropFirst("contact-".count)))!
                let then = try history.timeline(of: id, in: past, page: PageRequest(limit: 10_000)).items
                let now = try history.timeline(of: id, in: live, page: PageRequest(limit: 10_000)).items
                if !then.isEmpty && now.count > then.count { return (id, position, then, now) }
            }
            Issue.record("no contact changed after March 2024")
            throw CancellationError()
        }
        let run = try demo.rapport("history", contact.description, "--as-of", "2024-03-01", "--format", "json", "--store", store)
        #expect(run.status == 0, "\(run.errors)")
        let report = try decode(HistoryJSON.self, run)
        #expect(report.asOf == march2024 && report.position == position && report.position < report.head)
        #expect(report.entries == then && report.entries.count < now.count)
        #expect(report.entries.allSatisfy { $0.position <= position })

        let table = try demo.rapport("history", contact.description, "--as-of", "2024-03-01", "--utc", "--store", store)
        #expect(table.output.contains("as of 2024-03-01 00:00 UTC: the log up to position \(grouped(position))"))

        // Before the first event: known to nobody yet, and not an error.
        let early = try demo.rapport("history", contact.description, "--as-of", beforeTheLog, "--format", "json", "--store", store)
        #expect(early.status == 0)
        let nothing = try decode(HistoryJSON.self, early)
        #expect(!nothing.known && nothing.entries.isEmpty && nothing.position == .start)
        let earlyTable = try demo.rapport("history", contact.description, "--as-of", beforeTheLog, "--store", store)
        #expect(earlyTable.status == 0 && earlyTable.outputLines.first == "contact \(contact): not known yet")
    }

    @Test func dealNowAndAsOfADateIsTheLibrarysState() async throws {
        let states = DealStates()
        // A deal opened before March 2024 that moved after it.
        let (deal, position, reference, now) = try await withStore(states) { store, live in
            let position = try await store.position(asOf: march2024)
            let opened = try await store.readLog(from: 1, filter: LogFilter(types: [DealOpened.typeName]), limit: 3_000)
            for record in opened where record.position <= position {
                let id = DealID(String(record.streamID.rawValue.dropFirst("deal-".count)))!
                guard let now = try states.state(of: id, in: live), now.stageHistory.contains(where: { $0.position > position }) else { continue }
                // The reference: every deal replayed up to the position.
                return (id, position, try await states.state(of: id, asOf: position, from: store), now)
            }
            Issue.record("no deal moved after March 2024")
            throw CancellationError()
        }
        let then = try #require(reference)
        #expect(then != now)

        let current = try decode(DealJSON.self, try demo.rapport("deal", deal.description, "--format", "json", "--store", store))
        #expect(current.deal == now && current.position == current.head && current.asOf == nil)
        #expect(current.pipelineName == "New business" || current.pipelineName == "Renewals")

        let past = try decode(DealJSON.self, try demo.rapport("deal", "deal:\(deal)", "--as-of", "2024-03-01", "--format", "json", "--store", store))
        #expect(past.deal == then && past.position == position && past.asOf == march2024)

        let table = try demo.rapport("deal", deal.description, "--as-of", "2024-03-01T00:00:00Z", "--store", store)
        #expect(table.status == 0)
        #expect(table.outputLines[0] == "\"\(then.title)\" (deal \(deal))")
        #expect(table.outputLines[1] == "as of 2024-03-01 00:00 UTC: the log up to position \(grouped(position)) of \(grouped(past.head))")
        let lines = table.outputLines
        #expect(lines.contains { $0.hasPrefix("  status ") && $0.hasSuffix(" \(then.status)") })
        #expect(lines.contains { $0.hasPrefix("  stage ") && $0.contains(" \(then.stage) (") })
        #expect(lines.contains { $0.hasPrefix("  owner ") && $0.hasSuffix(" \(then.owner ?? "-")") })
        let history = table.outputLines.drop { !$0.hasPrefix("  stage history") }.dropFirst()
        #expect(history.count == then.stageHistory.count)
        #expect(zip(history, then.stageHistory).allSatisfy { $0.contains(" \($1.stage) ") })

        let early = try demo.rapport("deal", deal.description, "--as-of", beforeTheLog, "--store", store)
        #expect(early.status == 0 && early.outputLines.first == "deal \(deal): not opened yet")
        let earlyJSON = try decode(DealJSON.self, try demo.rapport("deal", deal.description, "--as-of", beforeTheLog, "--format", "json", "--store", store))
        #expect(earlyJSON.deal == nil && earlyJSON.position == .start)
    }

    @Test func pipelineSummariesAreTheLibrarys() async throws {
        let states = DealStates()
        let (pipelines, current, past, position) = try await withStore(states) { store, live in
            let pipelines = try states.pipelines(in: live)
            let position = try await store.position(asOf: march2024)
            let current = try pipelines.compactMap { try states.summary(of: $0.id, in: live, now: Date(), staleAfterDays: 30) }
            let past = try await pipelines.asyncMap { try await states.summary(of: $0.id, asOf: position, from: store, now: march2024)! }
            return (pipelines, current, past, position)
        }
        #expect(pipelines.map(\.name) == ["New business", "Renewals"] && current.count == 2)

        let now = try decode(PipelineJSON.self, try demo.rapport("pipeline", "--format", "json", "--store", store))
        #expect(now.pipelines.count == 2 && now.position == now.head)
        for (json, summary) in zip(now.pipelines, current) { #expect(json.matches(summary), "\(summary.name)") }

        let then = try decode(PipelineJSON.self, try demo.rapport("pipeline", "--as-of", "2024-03-01", "--format", "json", "--store", store))
        #expect(then.position == position && then.asOf == march2024)
        for (json, summary) in zip(then.pipelines, past) {
            #expect(json.matches(summary), "\(summary.name) as of March 2024")
            #expect(json.stale == summary.stale.map(\.id))
        }
        #expect(then.pipelines[0].open.count != now.pipelines[0].open.count || then.pipelines[0].results.won != now.pipelines[0].results.won)

        // One pipeline, by name or id; rows by stage or owner.
        let byStage = try demo.rapport("pipeline", "--pipeline", "new business", "--store", store)
        #expect(byStage.status == 0 && byStage.output.contains("New business (pipeline \(pipelines[0].id))") && !byStage.output.contains("Renewals"))
        for stage in current[0].stages {
            #expect(byStage.outputLines.contains { $0.hasPrefix("  \(stage.key) ") && $0.contains(" \(stage.deals.count) ") }, "\(stage.key)")
        }
        #expect(byStage.output.contains("  open    \(grouped(current[0].open.count)) deal"))
        let byOwner = try demo.rapport("pipeline", "--pipeline", "pipeline:\(pipelines[1].id)", "--by", "owner", "--store", store)
        #expect(byOwner.status == 0 && byOwner.output.contains("Renewals (pipeline") && !byOwner.output.contains("New business"))
        for owner in current[1].owners {
            #expect(byOwner.outputLines.contains { $0.hasPrefix("  \(owner.owner ?? "(none)") ") }, "\(owner.owner ?? "-")")
        }

        let early = try demo.rapport("pipeline", "--as-of", beforeTheLog, "--store", store)
        #expect(early.status == 0 && early.output.contains("no pipelines yet"))
        let earlyJSON = try decode(PipelineJSON.self, try demo.rapport("pipeline", "--as-of", beforeTheLog, "--format", "json", "--store", store))
        #expect(earlyJSON.pipelines.isEmpty && earlyJSON.position == .start)
        let notYet = try demo.rapport("pipeline", "--pipeline", "Renewals", "--as-of", beforeTheLog, "--store", store)
        #expect(notYet.status == 0 && notYet.output.contains("not defined yet"))
    }

    @Test("--pipeline with --as-of finds a pipeline by the name it has now, though it had another then")
    func aRenamedPipelineIsFoundAsOfBeforeItsRename() async throws {
        let scratch = try Scratch("renamed-pipeline")
        defer { scratch.cleanUp() }
        let admin = CommandContext(actor: Principal(id: "user:root", role: .admin), channel: .ui)
        let pipeline = PipelineID()
        func store(at date: String) throws -> LMDBEventStore {
            var configuration = LMDBEventStore.Configuration()
            let now = ISO8601DateFormatter().date(from: date)!
            configuration.clock = StoreClock { now }
            return try LMDBEventStore(path: scratch.store, configuration: configuration)
        }
        let january = try store(at: "2024-01-10T12:00:00Z")
        let stages = [PipelineStage(key: "new", name: "New", probability: 0.1, kind: .open),
                      PipelineStage(key: "won", name: "Won", probability: 1, kind: .won),
                      PipelineStage(key: "lost", name: "Lost", probability: 0, kind: .lost)]
        try await Repository(store: january).execute(.define(name: "Sales", stages: stages), on: pipeline, context: admin)
        try await Repository(store: january).openDeal(DealID(), title: "Acme", pipeline: pipeline, context: admin)
        await january.close()
        let february = try store(at: "2024-02-10T12:00:00Z")
        try await Repository(store: february).execute(.rename(to: "Enterprise"), on: pipeline, context: admin)
        await february.close()

        // Before, the name it has now matched nothing then, and the answer was "not defined yet".
        let then = try scratch.rapport("pipeline", "--pipeline", "Enterprise", "--as-of", "2024-01-20", "--store", scratch.store)
        #expect(then.status == 0, "\(then.errors)")
        #expect(then.output.contains("Sales (pipeline \(pipeline))") && !then.output.contains("not defined yet"), "\(then.output)")
        let byOldName = try scratch.rapport("pipeline", "--pipeline", "Sales", "--as-of", "2024-01-20", "--store", scratch.store)
        #expect(byOldName.status == 0 && byOldName.output.contains("Sales (pipeline \(pipeline))"))
        let before = try scratch.rapport("pipeline", "--pipeline", "Enterprise", "--as-of", "2024-01-01", "--store", scratch.store)
        #expect(before.status == 0 && before.output.contains("not defined yet"))
        let unknown = try scratch.rapport("pipeline", "--pipeline", "Nowhere", "--as-of", "2024-01-20", "--store", scratch.store)
        #expect(unknown.status == 3)
    }

    /// `--stale-after` takes any count of days from 0: 0 makes every open deal
    /// stale, a count past the calendar none (it trapped converting the cut-off).
    @Test func staleAfterTakesZeroAndCountsPastTheCalendar() throws {
        for asOf in [[], ["--as-of", "2024-03-01"]] {
            let all = try decode(PipelineJSON.self, try demo.rapport(["pipeline", "--stale-after", "0", "--format", "json", "--store", store] + asOf))
            #expect(all.pipelines.count == 2 && all.pipelines.contains { $0.open.count > 0 }, "\(asOf)")
            for pipeline in all.pipelines {
                #expect(pipeline.stale.count == pipeline.open.count, "\(pipeline.name) \(asOf)")
            }
            for days in ["9999999999999", String(Int.max)] {
                let run = try demo.rapport(["pipeline", "--stale-after", days, "--format", "json", "--store", store] + asOf)
                #expect(run.status == 0 && run.errors.isEmpty, "\(days) \(asOf): \(run.errors)")
                let none = try decode(PipelineJSON.self, run)
                #expect(none.pipelines.count == 2 && none.pipelines.allSatisfy { $0.stale.isEmpty }, "\(days) \(asOf)")
            }
        }
        let table = try demo.rapport("pipeline", "--stale-after", "9999999999999", "--store", store)
        #expect(table.status == 0 && table.output.contains("without a stage change for 9,999,999,999,999 days"))
    }

    @Test func errorsAreOneLineWithTheirExitCodes() throws {
        let unknown = UUID().uuidString.lowercased()
        let cases: [(arguments: [String], status: Int32, message: String)] = [
            (["history", unknown], 3, "rapport: no contact \(unknown) in \(store)"),
            (["deal", "deal:\(unknown)"], 3, "rapport: no deal \(unknown) in \(store)"),
            (["deal", unknown, "--as-of", "2024-03-01"], 3, "rapport: no deal \(unknown) in \(store)"),
            (["pipeline", "--pipeline", "Nonesuch"], 3, "rapport: no pipeline \"Nonesuch\" in \(store)"),
            (["history", "ada"], 64, "rapport: \"ada\" is not a contact id; give its UUID, or contact:UUID"),
            (["deal", "contact:\(unknown)"], 64, "rapport: \"contact:\(unknown)\" is not a deal id; give its UUID, or deal:UUID"),
            (["deal", unknown, "--as-of", "March 1"], 64,
             "rapport: --as-of: \"March 1\" is not a date; use an ISO 8601 date or date-time such as 2024-03-01 or 2024-03-01T10:00:00Z"),
            (["history", unknown, "--format", "xml"], 64, "rapport: --format: \"xml\" is not table or json"),
            (["pipeline", "--format", "csv"], 64, "rapport: --format: \"csv\" is not table or json"),
            (["pipeline", "--by", "month"], 64, "rapport: --by: \"month\" is not stage or owner"),
            (["pipeline", "--stale-after", "-1"], 64, "rapport: --stale-after must be 0 or more days"),
            (["pipeline", "--stale-after=-30", "--as-of", "2024-03-01"], 64, "rapport: --stale-after must be 0 or more days"),
            (["history", unknown, "--channel", "fax"], 64,
             "rapport: --channel: \"fax\" is not ui, api, import, phone, email, sms, chat, meeting, web-form or automation"),
        ]
        for (arguments, status, message) in cases {
            let run = try demo.rapport(arguments + ["--store", store])
            #expect(run.status == status, "\(arguments)")
            #expect(run.errors == message + "\n", "\(arguments)")
            #expect(run.output.isEmpty, "\(arguments)")
        }
    }

    @Test(arguments: [["history", UUID().uuidString], ["deal", UUID().uuidString], ["pipeline"]])
    func aMissingStoreIsExit66(arguments: [String]) throws {
        let scratch = try Scratch("query-missing")
        defer { scratch.cleanUp() }
        let run = try scratch.rapport(arguments + ["--store", scratch.store])
        #expect(run.status == 66)
        #expect(run.errors == "rapport: no store at \(scratch.store): check --store or RAPPORT_STORE (`rapport demo` makes a sample store)\n")
        #expect(!FileManager.default.fileExists(atPath: scratch.store))
    }
}

/// "12,345", as the tables print counts.
func grouped(_ value: some BinaryInteger) -> String {
    let digits = String(value)
    return digits.enumerated().map { index, digit in
        index > 0 && (digits.count - index) % 3 == 0 ? ",\(digit)" : "\(digit)"
    }.joined()
}

func grouped(_ position: LogPosition) -> String { grouped(position.rawValue) }

/// "2024-03-01 10:00" in UTC, as the tables print times with --utc (or TZ=UTC).
func utcMinute(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(secondsFromGMT: 0)
    formatter.dateFormat = "yyyy-MM-dd HH:mm"
    return formatter.string(from: date)
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
