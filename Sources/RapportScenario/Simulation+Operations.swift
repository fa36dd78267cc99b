import Foundation
import RapportCore
import RapportEventLog

extension Simulation {
    mutating func definePipelines() async throws(CRMError) {
        let admin = ScenarioGenerator.actors.last!
        let definitions: [(String, [PipelineStage])] = [
            ("New business", [
                PipelineStage(key: "qualification", name: "Qualification", probability: 0.1, kind: .open),
                PipelineStage(key: "discovery", name: "Discovery", probability: 0.25, kind: .open),
                PipelineStage(key: "proposal", name: "Proposal", probability: 0.5, kind: .open),
                PipelineStage(key: "negotiation", name: "Negotiation", probability: 0.75, kind: .open),
                PipelineStage(key: "won", name: "Won", probability: 1, kind: .won),
                PipelineStage(key: "lost", name: "Lost", probability: 0, kind: .lost),
            ]),
            ("Renewals", [
                PipelineStage(key: "due", name: "Renewal due", probability: 0.6, kind: .open),
                PipelineStage(key: "quoted", name: "Quote sent", probability: 0.8, kind: .open),
                PipelineStage(key: "renewed", name: "Renewed", probability: 1, kind: .won),
                PipelineStage(key: "churned", name: "Churned", probability: 0, kind: .lost),
            ]),
        ]
        for (name, stages) in definitions {
            let id = PipelineID(uuid())
            try await writer.run(context: context(admin, .ui)) { unit throws(CRMError) in
                try await unit.execute(.define(name: name, stages: stages), on: id)
            }
            pipelines.append(PipelineInfo(id: id, openStages: stages.filter { $0.kind == .open }.map(\.key)))
            summary.pipelines.append(id)
        }
    }

    mutating func createCompany() async throws(CRMError) {
        let id = CompanyID(uuid())
        let number = companies.count + 1
        let owner = role(.salesRep)
        let details: [CompanyField: String] = [
            .domain: "company-\(number).example",
            .industry: pick(Vocabulary.industries),
            .size: pick(["1-10", "11-50", "51-200", "201-1000", "1000+"]),
            .address: "\(Int.random(in: 1...200, using: &random)) \(pick(Vocabulary.streets)), \(pick(Vocabulary.cities))",
            .taxID: "VAT\(100_000_000 + number)",
        ]
        let name = "\(pick(Vocabulary.companyWords)) \(pick(Vocabulary.companyWords)) \(pick(["GmbH", "Ltd", "Inc", "SARL", "BV", "AG"])) \(number)"
        try await writer.run(context: context(owner, .ui)) { unit throws(CRMError) in
            try await unit.execute(.create(name: name, details: details, owner: owner.id), on: id)
        }
        companies.append(id)
        summary.companies += 1
    }

    mutating func personName() -> PersonName {
        try! PersonName(given: pick(Vocabulary.givenNames), family: pick(Vocabulary.familyNames))
    }

    mutating func createContact() async throws(CRMError) {
        let id = ContactID(uuid())
        let owner = role(.salesRep)
        let name = personName()
        let email = "\(name.given.lowercased()).\(name.family.lowercased())\(contacts.count + 1)@mail.example"
        let company: CompanyID? = !companies.isEmpty && chance(0.7) ? pick(companies) : nil
        let title = pick(Vocabulary.jobTitles)
        let phone = "+49 30 \(Int.random(in: 1_000_000...9_999_999, using: &random))"
        let channel: Channel = pick([.ui, .import, .api])
        try await writer.run(context: context(owner, channel)) { unit throws(CRMError) in
            try await unit.execute(.create(name: name, email: email, phone: phone, owner: owner.id, lifecycleStage: .lead), on: id)
            try await unit.execute(.changeJobTitle(to: title), on: id)
            if let company { try await unit.linkContact(id, to: company, role: title) }
        }
        contacts.append(ContactInfo(id: id, owner: owner, company: company, openDeal: nil))
        summary.contacts += 1
    }

    mutating func captureLead() async throws(CRMError) {
        let id = LeadID(uuid())
        let name = personName()
        let owner = role(.salesRep)
        let source: LeadSource = pick([.webForm, .webForm, .phone, .email, .referral, .campaign, .import])
        let capturer = source == .webForm || source == .campaign ? role(.marketing) : owner
        let channel: Channel = source == .webForm ? .webForm : source == .phone ? .phone : source == .email ? .email : .ui
        let companyName = "\(pick(Vocabulary.companyWords)) \(pick(Vocabulary.companyWords)) \(pick(["GmbH", "Ltd", "Inc"]))"
        let email = "\(name.given.lowercased())@lead-\(leadsCaptured + 1).example"
        try await writer.run(context: context(capturer, channel)) { unit throws(CRMError) in
            try await unit.execute(.capture(name: name, email: email, companyName: companyName, source: source, channel: channel, owner: owner.id), on: id)
        }
        leadsCaptured += 1
        summary.leads += 1
        later(0.0005, 0.005, .workLead(id, owner))
        later(0.006, 0.03, .resolveLead(id, owner))
    }

    mutating func workLead(_ lead: LeadID, owner: Principal) async throws(CRMError) {
        try await writer.run(context: context(owner, .phone)) { unit throws(CRMError) in
            try await unit.execute(.startWorking(), on: lead)
        }
    }

    mutating func resolveLead(_ lead: LeadID, owner: Principal) async throws(CRMError) {
        let roll = Double.random(in: 0..<1, using: &random)
        if roll < 0.5 {
            let contact = ContactID(uuid()), company = CompanyID(uuid()), deal = DealID(uuid())
            let pipeline = chance(0.8) ? 0 : 1
            let amount = Decimal(Int.random(in: 20...800, using: &random) * 250)
            let draft = DealDraft(id: deal, title: "\(pick(Vocabulary.products)) for lead \(summary.convertedLeads + 1)",
                                  pipeline: pipelines[pipeline].id, amount: try Money(amount: amount, currency: "EUR"),
                                  contactRole: .decisionMaker)
            try await writer.run(context: context(owner, .ui)) { unit throws(CRMError) in
                try await unit.convertLead(lead, contact: .new(id: contact), company: .new(id: company), deal: draft)
            }
            contacts.append(ContactInfo(id: contact, owner: owner, company: company, openDeal: deal))
            companies.append(company)
            summary.convertedLeads += 1
            summary.contacts += 1
            summary.companies += 1
            plan(deal, pipeline: pipeline, owner: owner, contact: contact, amount: amount)
        } else if roll < 0.9 {
            let reason = pick(["no budget", "no need", "unreachable", "competitor chosen", "duplicate", "wrong size"])
            try await writer.run(context: context(owner, .phone)) { unit throws(CRMError) in
                try await unit.execute(.disqualify(reason: reason), on: lead)
            }
            summary.disqualifiedLeads += 1
        }
    }

    mutating func openDirectDeal() async throws(CRMError) {
        guard let index = contacts.indices.filter({ contacts[$0].company != nil && contacts[$0].openDeal == nil }).randomElementIfAny(using: &random) else {
            directDeals += 1
            return
        }
        let info = contacts[index]
        let deal = DealID(uuid())
        let pipeline = chance(0.6) ? 0 : 1
        let amount = Decimal(Int.random(in: 20...800, using: &random) * 250)
        let title = "\(pick(Vocabulary.products)) for \(info.company!.description.prefix(8))"
        let close = now.addingTimeInterval(Double(Int.random(in: 30...180, using: &random)) * 86_400)
        let pipelineID = pipelines[pipeline].id
        try await writer.run(context: context(info.owner, .ui)) { unit throws(CRMError) in
            try await unit.openDeal(deal, title: title, pipeline: pipelineID, amount: try Money(amount: amount, currency: "EUR"),
                                    expectedCloseDate: close, owner: info.owner.id, company: info.company,
                                    contacts: [DealContact(contactID: info.id, role: .evaluator)])
        }
        contacts[index].openDeal = deal
        directDeals += 1
        plan(deal, pipeline: pipeline, owner: info.owner, contact: info.id, amount: amount)
    }

    /// Decides a deal's future: a few moves, then won (30 %), lost (50 %) or left open (20 %).
    mutating func plan(_ deal: DealID, pipeline: Int, owner: Principal, contact: ContactID, amount: Decimal) {
        let roll = Double.random(in: 0..<1, using: &random)
        let outcome: DealPlan.Outcome = roll < 0.3 ? .won : roll < 0.8 ? .lost : .open
        let stages = pipelines[pipeline].openStages.count
        deals[deal] = DealPlan(pipeline: pipeline, owner: owner, contact: contact, amount: amount, stage: 0,
                               movesLeft: Int.random(in: 1...max(1, stages - 1), using: &random), outcome: outcome)
        summary.deals += 1
        later(0.001, 0.02, .advanceDeal(deal))
    }

    mutating func advanceDeal(_ deal: DealID) async throws(CRMError) {
        guard var plan = deals[deal] else { return }
        let actor = chance(0.85) ? plan.owner : role(.salesManager)
        let stages = pipelines[plan.pipeline].openStages
        if plan.movesLeft > 0 {
            let back = plan.stage > 0 && !plan.movedBack && chance(0.15)
            plan.stage = back ? plan.stage - 1 : min(stages.count - 1, plan.stage + 1)
            if back { plan.movedBack = true } else { plan.movesLeft -= 1 }
            let stage = stages[plan.stage]
            try await writer.run(context: context(actor, .ui)) { unit throws(CRMError) in
                try await unit.moveDeal(deal, toStage: stage)
            }
            deals[deal] = plan
            later(0.001, 0.02, .advanceDeal(deal))
            return
        }
        deals[deal] = nil
        if let index = contacts.firstIndex(where: { $0.openDeal == deal }) { contacts[index].openDeal = nil }
        switch plan.outcome {
        case .won:
            let final = try Money(amount: plan.amount * Decimal(Int.random(in: 85...105, using: &random)) / 100, currency: "EUR")
            let closedAt = now
            let task = TaskID(uuid())
            try await writer.run(context: context(actor, .ui)) { unit throws(CRMError) in
                try await unit.markDealWon(deal, finalAmount: final)
                // "Call the client a week after the deal closes."
                try await unit.execute(.scheduleFollowUp(after: closedAt, delay: DateComponents(day: 7), title: "Call after the win",
                                                         assignee: plan.owner.id, links: [EntityRef(deal), EntityRef(plan.contact)]),
                                       on: task)
            }
            summary.dealsWon += 1
            summary.tasks += 1
            summary.aWonDeal = summary.aWonDeal ?? deal
        case .lost:
            let reason = pick(["price", "competitor", "no decision", "timing", "features", "budget cut"])
            try await writer.run(context: context(actor, .ui)) { unit throws(CRMError) in
                try await unit.markDealLost(deal, reason: reason)
            }
            summary.dealsLost += 1
        case .open:
            break
        }
    }

    mutating func logActivity() async throws(CRMError) {
        let info = contacts[zipf.sample(below: contacts.count, using: &random)]
        var links = [EntityRef(info.id)]
        if let company = info.company, chance(0.6) { links.append(EntityRef(company)) }
        if let deal = info.openDeal, chance(0.5) { links.append(EntityRef(deal)) }
        let roll = Double.random(in: 0..<1, using: &random)
        let actor = roll < 0.7 ? info.owner : roll < 0.9 ? role(.support) : role(.salesManager)
        let notes = text(40, 420)
        let direction: ActivityDirection = chance(0.6) ? .outbound : .inbound
        let command: Command<Activity>
        let channel: Channel
        switch Double.random(in: 0..<1, using: &random) {
        case ..<0.30:
            command = .logCall(direction, duration: Double(Int.random(in: 30...3_600, using: &random)),
                               outcome: pick(["interested", "call back", "voicemail", "not now", "meeting booked"]), notes: notes, links: links)
            channel = .phone
        case ..<0.55:
            command = .logEmail(direction, subject: text(10, 60), notes: notes, links: links)
            channel = .email
        case ..<0.65:
            let start = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
            command = .logMeeting(title: text(10, 40), attendees: [actor.id, info.id.description], start: start,
                                  end: start.addingTimeInterval(Double(Int.random(in: 1...4, using: &random)) * 1_800), notes: notes, links: links)
            channel = .meeting
        case ..<0.80:
            command = .logNote(notes, links: links)
            channel = .ui
        case ..<0.88:
            command = .logSMS(direction, text: text(20, 150), links: links)
            channel = .sms
        case ..<0.95:
            command = .logChat(text: notes, links: links)
            channel = .chat
        default:
            command = .logWebForm("contact-us", fields: ["message": notes, "topic": pick(Vocabulary.products)], links: links)
            channel = .webForm
        }
        let id = ActivityID(uuid())
        try await writer.run(context: context(actor, channel)) { unit throws(CRMError) in
            try await unit.execute(command, on: id)
        }
        summary.activities += 1
    }

    mutating func createTask() async throws(CRMError) {
        let info = contacts[zipf.sample(below: contacts.count, using: &random)]
        let id = TaskID(uuid())
        let due = Date(timeIntervalSince1970: now.addingTimeInterval(Double(Int.random(in: 1...14, using: &random)) * 86_400)
            .timeIntervalSince1970.rounded(.down))
        let title = "\(pick(["Call", "Email", "Send proposal to", "Check in with", "Book demo with"])) \(info.id.description.prefix(8)): \(text(10, 80))"
        let priority: TaskPriority = pick([.low, .normal, .normal, .high, .urgent])
        try await writer.run(context: context(info.owner, .ui)) { unit throws(CRMError) in
            try await unit.execute(.create(title: title, due: due, assignee: info.owner.id, priority: priority, links: [EntityRef(info.id)]), on: id)
        }
        summary.tasks += 1
        if chance(0.3) { later(0.0002, 0.003, .rescheduleTask(id, info.owner, due)) }
        if chance(0.85) { later(0.003, 0.01, .closeTask(id, info.owner)) }
    }

    mutating func rescheduleTask(_ task: TaskID, assignee: Principal, due: Date) async throws(CRMError) {
        let newDue = Date(timeIntervalSince1970: max(due, now).addingTimeInterval(Double(Int.random(in: 1...10, using: &random)) * 86_400)
            .timeIntervalSince1970.rounded(.down))
        let reason = pick(["client on holiday", "waiting for budget", "moved by client", "travel"])
        do {
            try await writer.run(context: context(assignee, .ui)) { unit throws(CRMError) in
                try await unit.execute(.reschedule(to: newDue, reason: reason), on: task)
            }
        } catch .invalidTransition {
            // Closed already: nothing to reschedule.
        }
    }

    mutating func closeTask(_ task: TaskID, assignee: Principal) async throws(CRMError) {
        let complete = chance(0.88)
        let reason = pick(["no longer needed", "contact left", "duplicate"])
        do {
            try await writer.run(context: context(assignee, .ui)) { unit throws(CRMError) in
                if complete {
                    try await unit.execute(.complete(), on: task)
                } else {
                    try await unit.execute(.cancel(reason: reason), on: task)
                }
            }
        } catch .invalidTransition {
            // Closed already.
        }
    }
}

extension Array {
    func randomElementIfAny<G: RandomNumberGenerator>(using random: inout G) -> Element? {
        isEmpty ? nil : self[Int.random(in: 0..<count, using: &random)]
    }
}
