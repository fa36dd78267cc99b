import Foundation
import RapportCore
import RapportEventLog
import RapportLMDB
import RapportProjections
import RapportReplay
import Testing

/// Parses RFC 4180 CSV: quoted fields, doubled quotes, CRLF (or LF) row ends, line breaks inside quotes.
func parseCSV(_ text: String) -> [[String]] {
    var rows: [[String]] = []
    var row: [String] = []
    var field = ""
    var quoted = false
    var iterator = Array(text.unicodeScalars).makeIterator()
    var pending = iterator.next()
    while let c = pending {
        pending = iterator.next()
        if quoted {
            if c == "\"" {
                if pending == "\"" {
                    field.unicodeScalars.append("\"")
                    pending = iterator.next()
                } else {
                    quoted = false
                }
            } else {
                field.unicodeScalars.append(c)
            }
            continue
        }
        switch c {
        case "\"": quoted = true
        case ",":
            row.append(field)
            field = ""
        case "\r": break
        case "\n":
            row.append(field)
            rows.append(row)
            row = []
            field = ""
        default: field.unicodeScalars.append(c)
        }
    }
    if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
    return rows
}

/// Rebuilds audit entries from CSV rows (one row per field change).
func entries(fromCSV rows: [[String]]) throws -> [AuditEntry] {
    #expect(rows.first == AuditTrail.csvColumns)
    var result: [AuditEntry] = []
    func optional(_ text: String) -> String? { text.isEmpty ? nil : text }
    for cells in rows.dropFirst() {
        let position = LogPosition(UInt64(cells[0])!)
        let change = optional(cells[8]).map { FieldChange(field: $0, oldValue: optional(cells[9]), newValue: optional(cells[10])) }
        if let last = result.last, last.position == position {
            result[result.count - 1].changes.append(change!)
            continue
        }
        result.append(AuditEntry(
            position: position, eventID: EventID(UUID(uuidString: cells[14])!), streamID: cells[15],
            recordedAt: try ProjectionTimestamp.date(from: cells[1]), occurredAt: try optional(cells[2]).map(ProjectionTimestamp.date(from:)),
            actor: Principal(id: cells[3], role: Principal.Role(cells[4])), entityKind: cells[5], entityID: cells[6], action: cells[7],
            changes: change.map { [$0] } ?? [], channel: Channel(cells[11]), correlationID: optional(cells[12]).map { UUID(uuidString: $0)! },
            causationID: optional(cells[13]).map { UUID(uuidString: $0)! }))
    }
    return result
}

@Suite("Audit trail")
struct AuditTrailTests {
    let audit = AuditTrail()
    let sales = PipelineID(), deal = DealID(), ada = ContactID(), acme = CompanyID()

    /// Anna opens a deal; Boris changes its amount and stage; Anna, a sales rep, is refused a change to
    /// Boris's deal (recorded as AccessDenied); Ada's custom field and email change.
    func build() async throws -> World {
        let w = try World(policy: RoleBasedAccessPolicy())
        try await w.run(.define(name: "Sales", stages: salesStages), on: sales, context(root, .api, day: 0))
        try await w.run(.create(name: "Acme", domain: "acme.example", owner: "user:anna"), on: acme, context(anna, day: 0))
        try await w.run(.create(name: try PersonName(given: "Ada", family: "Lovelace"), email: "ada@acme.example", owner: "user:anna"),
                        on: ada, context(anna, .webForm, day: 1))
        try await w.step { try await $0.openDeal(deal, title: "Pilot, \"phase 1\"", pipeline: sales, amount: eur("12000"), owner: "user:anna",
                                                 company: acme, context: context(anna, day: 2)) }
        try await w.run(.changeAmount(eur("15000.50")), on: deal, context(boris, .phone, day: 3))
        try await w.step { try await $0.moveDeal(deal, toStage: "negotiation", context: context(boris, day: 4)) }
        try await w.step { try await $0.moveDeal(deal, toStage: "proposal", context: context(anna, day: 5)) }
        try await w.run(.assignOwner("user:boris"), on: deal, context(boris, day: 6))
        await #expect(throws: CRMError.self) { try await w.run(.changeAmount(eur("1")), on: deal, context(anna, .api, day: 7)) }
        try await w.runner.catchUp()
        try await w.run(.setCustomField("seats", .number(120)), on: ada, context(anna, day: 8))
        try await w.run(.setCustomField("seats", .number(150)), on: ada, context(anna, day: 9))
        try await w.run(.removeEmail("ada@acme.example"), on: ada, context(anna, day: 9))
        try await w.run(.changeAmount(eur("16000")), on: deal, context(boris, day: 10))
        return w
    }

    @Test func everyChangeIsAnEntryWithEveryFieldInLogOrder() async throws {
        let w = try await build()
        let all = try allPages(limit: 4) { try audit.entries(.all, in: w.live, page: $0) }
        let head = try await w.head()
        // One entry per event, in log order, nothing skipped.
        #expect(all.map(\.position) == (1...head.rawValue).map { LogPosition($0) })
        let log = try await w.store.readLog(from: 1, filter: .all, limit: 1_000)
        #expect(all.map(\.action) == log.map(\.type))
        #expect(all.map(\.actor) == log.map(\.metadata.actor))
        #expect(all.map(\.channel) == log.map(\.metadata.channel))
        #expect(all.map(\.correlationID) == log.map(\.metadata.correlationID))
        #expect(all.map(\.occurredAt) == log.map(\.occurredAt))
        // Every top-level payload field is accounted for in every entry.
        for (entry, event) in zip(all, log) {
            let object = try JSONSerialization.jsonObject(with: event.payload) as! [String: Any]
            #expect(!entry.changes.isEmpty || object.isEmpty, "\(entry.action) has no changes")
            let mentioned = entry.changes.flatMap { [$0.oldValue, $0.newValue] }.compactMap { $0 }
            for (key, _) in object where !["from", "to", "field", "fromStage", "lostAtStage", "toStage", "fromStatus", "previousCompanyID", "key", "contactID"].contains(key) {
                // A reference by id is the field without "ID" (ownerID → owner).
                let field = ["ownerID", "companyID", "contactID", "dealID", "pipelineID", "leadID"].contains(key) ? String(key.dropLast(2)) : key
                #expect(entry.changes.contains { $0.field == field }, "\(entry.action): \(key) missing from \(entry.changes.map(\.field))")
            }
            #expect(mentioned.count >= min(object.count, 1))
        }

        let opened = try #require(all.first { $0.action == "DealOpened" })
        #expect(opened.entityKind == "deal" && opened.entityID == deal.description && opened.actor == anna)
        #expect(opened.changes.first { $0.field == "title" } == FieldChange(field: "title", oldValue: nil, newValue: #""Pilot, \"phase 1\"""#))
        #expect(opened.changes.first { $0.field == "amount" }?.newValue == #"{"amount":12000,"currency":"EUR"}"#)

        let amount = try #require(all.first { $0.action == "DealAmountChanged" })
        #expect(amount.changes == [FieldChange(field: "amount", oldValue: #"{"amount":12000,"currency":"EUR"}"#,
                                               newValue: #"{"amount":15000.5,"currency":"EUR"}"#)])
        #expect(amount.actor == boris && amount.channel == .phone && amount.occurredAt == day(3))
        let moves = all.filter { $0.action == "DealStageChanged" }
        #expect(moves.map(\.changes) == [
            [FieldChange(field: "stage", oldValue: #""qualification""#, newValue: #""negotiation""#), FieldChange(field: "movedBack", oldValue: nil, newValue: "false")],
            [FieldChange(field: "stage", oldValue: #""negotiation""#, newValue: #""proposal""#), FieldChange(field: "movedBack", oldValue: nil, newValue: "true")],
        ])
        #expect(all.first { $0.action == "DealOwnerAssigned" }?.changes == [FieldChange(field: "owner", oldValue: #""user:anna""#, newValue: #""user:boris""#)])
        let seats = all.filter { $0.action == "ContactCustomFieldSet" }.map(\.changes)
        #expect(seats == [[FieldChange(field: "custom.seats", oldValue: nil, newValue: #"{"number":{"_0":120}}"#)],
                          [FieldChange(field: "custom.seats", oldValue: #"{"number":{"_0":120}}"#, newValue: #"{"number":{"_0":150}}"#)]]
                || seats.map { $0.map(\.field) } == [["custom.seats"], ["custom.seats"]])
        #expect(seats.last?.first?.oldValue == seats.first?.first?.newValue && seats.first?.first?.oldValue == nil)
        #expect(all.first { $0.action == "ContactEmailRemoved" }?.changes == [FieldChange(field: "email", oldValue: #""ada@acme.example""#, newValue: nil)])
        try await expectLiveEqualsRebuilt(w)
    }

    @Test func queriesByEntityFieldActionAndActorInATimeRange() async throws {
        let w = try await build()
        let all = try allPages(limit: 100) { try audit.entries(.all, in: w.live, page: $0) }
        // Every change to the deal, refused attempt included.
        let onDeal = try allPages(limit: 2) { try audit.entries(.entity(kind: "deal", id: deal.description), in: w.live, page: $0) }
        #expect(onDeal.map(\.action) == ["DealOpened", "DealAmountChanged", "DealStageChanged", "DealStageChanged", "DealOwnerAssigned",
                                         "AccessDenied", "DealAmountChanged"])
        // Who changed the amount: Anna set it, Boris changed it twice.
        let amount = try allPages(limit: 1) { try audit.entries(.field("amount", kind: "deal", id: deal.description), in: w.live, page: $0) }
        #expect(amount.map(\.actor.id) == ["user:anna", "user:boris", "user:boris"])
        #expect(amount.allSatisfy { $0.changes.map(\.field) == ["amount"] }, "each entry narrowed to the field")
        #expect(amount.map { $0.changes.first { $0.field == "amount" }!.newValue } == [
            #"{"amount":12000,"currency":"EUR"}"#, #"{"amount":15000.5,"currency":"EUR"}"#, #"{"amount":16000,"currency":"EUR"}"#])
        // The owner and the company under the names their later changes use: the deal's first owner is found by "owner".
        let owners = try audit.entries(.field("owner", kind: "deal", id: deal.description), in: w.live).items
        #expect(owners.map(\.action) == ["DealOpened", "DealOwnerAssigned"])
        #expect(owners.map { $0.changes } == [[FieldChange(field: "owner", oldValue: nil, newValue: #""user:anna""#)],
                                               [FieldChange(field: "owner", oldValue: #""user:anna""#, newValue: #""user:boris""#)]])
        let company = try audit.entries(.field("company", kind: "deal", id: deal.description), in: w.live).items
        #expect(company.map(\.action) == ["DealOpened"] && company.first?.changes.first?.newValue == "\"\(acme)\"")
        #expect(try audit.entries(.field("ownerID", kind: "deal", id: deal.description), in: w.live).items.isEmpty)
        // Refused attempts.
        let denied = try audit.entries(.action("AccessDenied"), in: w.live).items
        #expect(denied.count == 1)
        #expect(denied[0].actor == anna && denied[0].channel == .api && denied[0].isDenial)
        #expect(denied[0].entityKind == "deal" && denied[0].entityID == deal.description)
        #expect(denied[0].changes.map(\.field).sorted() == ["at", "command", "entity", "reason"])
        #expect(denied[0].changes.first { $0.field == "command" }?.newValue == #""deal.changeAmount""#)
        // By actor, in a time range given by real recorded-at times: from the 5th entry's through the 12th's.
        let from = all[4].recordedAt, through = all[11].recordedAt
        let range = try #require(try await AuditTrail.positions(from: from, through: through, in: w.store))
        let expected = all.filter { $0.actor == anna && $0.recordedAt >= from && $0.recordedAt <= through }
        #expect(!expected.isEmpty)
        let annas = try allPages(limit: 2) { try audit.entries(AuditQuery(.actor("user:anna"), positions: range), in: w.live, page: $0) }
        #expect(annas == expected)
        let viaDates = try await audit.entries(by: "user:anna", from: from, through: through, log: w.store, in: w.live, page: PageRequest(limit: 1_000))
        #expect(viaDates.items == expected && viaDates.continuation == nil)
        #expect(try audit.entries(.actor("user:nobody"), in: w.live).items.isEmpty)
        #expect(throws: ProjectionQueryError.self) {
            try audit.entries(.all, in: w.live, page: PageRequest(limit: 1, after: PageToken(rawValue: "bogus")))
        }
    }

    @Test("an application's own event keeps its members' names: only the CRM's references lose their ID")
    func anApplicationsMembersKeepTheirNames() async throws {
        let w = try World()
        let invoice = NewEvent(type: "InvoiceIssued", metadata: EventMetadata(actor: anna, channel: .api),
                               payload: Data(#"{"vatID":"DE123","ownerID":"user:anna"}"#.utf8))
        try await w.store.append([invoice], to: try StreamID("invoice-1"))
        try await w.runner.catchUp()
        let entry = try #require(try audit.entries(.all, in: w.live).items.first)
        #expect(entry.changes.map(\.field) == ["vatID", "owner"])
    }

    @Test("a deal's currency change is a change of its amount: one field name finds every amount the deal had")
    func aCurrencyChangeIsAnAmountChange() async throws {
        let w = try await build()
        try await w.run(.changeCurrency(to: try Money(amount: 17_500, currency: "USD")), on: deal, context(boris, day: 11))
        let amounts = try audit.entries(.field("amount", kind: "deal", id: deal.description), in: w.live).items
        #expect(amounts.map(\.action) == ["DealOpened", "DealAmountChanged", "DealAmountChanged", "DealCurrencyChanged"])
        #expect(amounts.last?.changes == [FieldChange(field: "amount", oldValue: #"{"amount":16000,"currency":"EUR"}"#,
                                                      newValue: #"{"amount":17500,"currency":"USD"}"#)])
    }

    @Test func aRangeTheTrailHasNotReachedIsRefusedNotAnsweredInPart() async throws {
        let w = try await build()
        let head = try await w.store.headPosition()
        // A trail behind the log (a follower that has not caught up yet).
        let behind = InMemoryReadModelStorage()
        let runner = try ProjectionRunner(log: w.store, storage: behind, projections: [audit], registry: .crm)
        let reached = try await runner.catchUp(upTo: 8)
        #expect(reached == 8 && head > reached)
        #expect {
            try audit.entries(AuditQuery(.actor("user:anna"), positions: 1...head), in: behind)
        } throws: { error in
            guard case ProjectionQueryError.notCaughtUp(let projection, let at, let asked) = error else { return false }
            return projection == audit.name && at == reached && asked == head
        }
        await #expect(throws: ProjectionQueryError.self) {
            try await audit.entries(by: "user:anna", from: .distantPast, through: .distantFuture, log: w.store, in: behind)
        }
        // Within what the trail reached, and without a range, it answers as before.
        let within = try audit.entries(AuditQuery(.all, positions: 1...reached), in: behind, page: PageRequest(limit: 1_000)).items
        #expect(within == (try audit.entries(.all, in: w.live, page: PageRequest(limit: 1_000)).items.filter { $0.position <= reached }))
        #expect(try audit.entries(.all, in: behind, page: PageRequest(limit: 1_000)).items == within)
        try await runner.catchUp()
        #expect(try audit.entries(AuditQuery(.actor("user:anna"), positions: 1...head), in: behind, page: PageRequest(limit: 1_000)).items
                == (try audit.entries(AuditQuery(.actor("user:anna"), positions: 1...head), in: w.live, page: PageRequest(limit: 1_000)).items))
    }

    @Test func exportsStreamAsCSVAndJSONLinesAndReadBackEqual() async throws {
        let w = try await build()
        // A few thousand entries, with commas, quotes and line breaks in values.
        let titles = ["Head of \"R&D\", Europe", "CTO\nand founder", "plain", "a,b,,c"]
        for index in 0..<800 {
            let contact = ContactID()
            let ctx = CommandContext(actor: index % 2 == 0 ? anna : boris, channel: .import, now: day(Double(index % 30)))
            try await w.repository.execute(.create(name: try PersonName(given: "P\(index)", family: "Q"), owner: "user:anna"), on: contact, context: ctx)
            try await w.repository.execute(.changeJobTitle(to: titles[index % titles.count]), on: contact, context: ctx)
            try await w.repository.execute(.addToSegment("batch-\(index % 7)"), on: contact, context: ctx)
        }
        try await w.runner.catchUp()
        let query = AuditQuery(.all)
        let expected = try allPages(limit: 500) { try audit.entries(query, in: w.live, page: $0) }
        #expect(expected.count == Int(try await w.head().rawValue) && expected.count > 2_400)

        var chunks = 0
        var csv = Data()
        let written = try audit.export(query, from: w.live, as: .csv, pageSize: 97) { chunk in
            chunks += 1
            csv.append(chunk)
        }
        #expect(written == expected.count && chunks > 20)  // written page by page
        let text = String(decoding: csv, as: UTF8.self)
        #expect(text.hasPrefix(AuditTrail.csvColumns.joined(separator: ",") + "\r\n"))
        #expect(text.contains("\"\"\"Head of \\\"\"R&D\\\"\", Europe\"\"\""))  // JSON text, then CSV-quoted
        #expect(try entries(fromCSV: parseCSV(text)) == expected)

        // JSON Lines, through a file.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        #expect(try audit.export(query, from: w.live, as: .jsonLines, pageSize: 250, to: file) == expected.count)
        try file.close()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(try lines.map { try AuditTrail.decodeJSONLine(String($0)) } == expected)

        // A selection exports only its entries.
        var annaCSV = Data()
        let annas = try audit.export(AuditQuery(.actor("user:boris")), from: w.live, as: .csv, pageSize: 50) { annaCSV.append($0) }
        #expect(try entries(fromCSV: parseCSV(String(decoding: annaCSV, as: UTF8.self))) == expected.filter { $0.actor.id == "user:boris" })
        #expect(annas == expected.filter { $0.actor.id == "user:boris" }.count)
    }

    @Test func timestampsRoundTripToTheMicrosecond() throws {
        let date = Date(timeIntervalSince1970: 1_772_323_200.123456)
        let text = ProjectionTimestamp.string(from: date)
        #expect(text == "2026-03-01T00:00:00.123456Z")
        #expect(ProjectionTimestamp.microseconds(of: try ProjectionTimestamp.date(from: text)) == 1_772_323_200_123_456)
        #expect(try ProjectionTimestamp.date(from: "2026-03-01T00:00:00Z") == day0)
    }
}

extension AuditTrailTests {
    @Test func aStreamIDFullOfSlashesGetsKeysThatFitLMDBAndIsFoundAndVerified() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rapport-audit-long-keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try LMDBEventStore(path: path)
        // A valid stream id (255 bytes): a document path, whose escaped id (`%2F`) is 3 times as long.
        let stream = try StreamID("doc-" + String(repeating: "a/", count: 125) + "x")
        let actor = Principal(id: String(repeating: "u/", count: 100), role: .admin)
        try await store.append([NewEvent(type: "DocumentFiled", metadata: EventMetadata(actor: actor, channel: .api), payload: Data("{}".utf8))], to: stream)
        try await store.append([NewEvent(type: "DocumentFiled", metadata: EventMetadata(actor: anna, channel: .api), payload: Data("{}".utf8))], to: try StreamID("doc-short"))
        #expect(try await ProjectionRunner(log: store, storage: store, projections: [audit]).catchUp() == 2)
        let recorded = try #require(try await store.readLog(from: 1, filter: LogFilter(), limit: 1).first)
        let entry = AuditTrail.entry(for: recorded)
        let byEntity = try audit.entries(AuditQuery(.entity(kind: entry.entityKind, id: entry.entityID)), in: store).items
        #expect(byEntity.map(\.position) == [1])
        #expect(try audit.entries(AuditQuery(.actor(actor.id)), in: store).items.map(\.position) == [1])
        #expect(try await audit.verify(in: store, against: store).isSound)
        await store.close()
    }
}
