import Foundation
@testable import RapportCore
import RapportEventLog
import Testing

/// A decimal from its text, exactly (a `Double` literal would not be).
func dec(_ text: String) -> Decimal { Decimal(string: text)! }

/// The board most tests use: three open stages, one won, one lost.
let salesStages = [
    PipelineStage(key: "qualification", name: "Qualification", probability: dec("0.1"), kind: .open),
    PipelineStage(key: "proposal", name: "Proposal", probability: dec("0.4"), kind: .open),
    PipelineStage(key: "negotiation", name: "Negotiation", probability: dec("0.7"), kind: .open),
    PipelineStage(key: "won", name: "Won", probability: 1, kind: .won),
    PipelineStage(key: "lost", name: "Lost", probability: 0, kind: .lost),
]

let salesDefined = PipelineDefined(name: "Sales", stages: salesStages)

/// The sales pipeline's state, with extra events folded in.
func salesPipeline(_ id: PipelineID, _ more: [any Event] = []) -> Pipeline {
    Given<Pipeline>([salesDefined] + more, id: id).state
}

func isInvalidValue(_ field: String) -> (CRMError) -> Bool {
    { error in if case .invalidValue(field, _) = error { true } else { false } }
}

@Suite("Pipeline")
struct PipelineTests {
    @Test func defineRecordsTheStagesInBoardOrder() {
        var stages = salesStages
        stages[0].name = "  Qualification "
        Given<Pipeline>([]).when(.define(name: " Sales ", stages: stages)).then([salesDefined])
        let pipeline = Given<Pipeline>([salesDefined]).state
        #expect(pipeline.exists)
        #expect(pipeline.stages.map(\.key) == ["qualification", "proposal", "negotiation", "won", "lost"])
        #expect(pipeline.firstStage(of: .won)?.key == "won")
        #expect(pipeline.stage("negotiation")?.probability == dec("0.7"))
    }

    @Test func aPipelineNeedsAnOpenAWonAndALostStage() {
        let given = Given<Pipeline>([])
        given.when(.define(name: "Sales", stages: salesStages.filter { $0.kind != .won }))
            .thenFails(.invalidValue(field: "pipeline", reason: "it needs at least one won stage"))
        given.when(.define(name: "Sales", stages: salesStages.filter { $0.kind != .lost }))
            .thenFails(.invalidValue(field: "pipeline", reason: "it needs at least one lost stage"))
        given.when(.define(name: "Sales", stages: salesStages.filter { $0.kind != .open }))
            .thenFails(.invalidValue(field: "pipeline", reason: "it needs at least one open stage"))
        given.when(.define(name: "Sales", stages: []))
            .thenFails(.invalidValue(field: "pipeline", reason: "it needs at least one open stage"))
    }

    @Test func defineRefusesInvalidStages() {
        let given = Given<Pipeline>([])
        func with(_ change: (inout PipelineStage) -> Void, at index: Int = 1) -> [PipelineStage] {
            var stages = salesStages
            change(&stages[index])
            return stages
        }
        given.when(.define(name: " ", stages: salesStages)).thenFails(.invalidValue(field: "pipeline name", reason: "it is empty"))
        given.when(.define(name: "Sales", stages: with { $0.key = "qualification" }))
            .thenFails(.invalidValue(field: "stage key", reason: "the key \"qualification\" is used twice"))
        given.when(.define(name: "Sales", stages: with { $0.name = "QUALIFICATION" }))
            .thenFails(.invalidValue(field: "stage name", reason: "the name \"QUALIFICATION\" is used twice"))
        given.when(.define(name: "Sales", stages: with { $0.key = "Proposal Stage" }))
            .thenFails(.invalidValue(field: "stage key", reason: "\"Proposal Stage\" must be 1 to 64 lower-case letters, digits, - or _"))
        given.when(.define(name: "Sales", stages: with { $0.key = "" }))
            .thenFails(where: isInvalidValue("stage key"))
        given.when(.define(name: "Sales", stages: with { $0.name = "" }))
            .thenFails(.invalidValue(field: "stage name", reason: "it is empty"))
        given.when(.define(name: "Sales", stages: with { $0.probability = dec("1.5") }))
            .thenFails(.invalidValue(field: "probability", reason: "1.5 for stage \"proposal\" is not between 0 and 1"))
        given.when(.define(name: "Sales", stages: with { $0.probability = dec("-0.1") }))
            .thenFails(.invalidValue(field: "probability", reason: "-0.1 for stage \"proposal\" is not between 0 and 1"))
        given.when(.define(name: "Sales", stages: with({ $0.probability = dec("0.9") }, at: 3)))
            .thenFails(.invalidValue(field: "probability", reason: "won stage \"won\" must have probability 1"))
        given.when(.define(name: "Sales", stages: with({ $0.probability = dec("0.1") }, at: 4)))
            .thenFails(.invalidValue(field: "probability", reason: "lost stage \"lost\" must have probability 0"))
        let tooMany = (0..<60).map { PipelineStage(key: "s\($0)", name: "S\($0)", probability: 0, kind: .open) } + salesStages.suffix(2)
        given.when(.define(name: "Sales", stages: tooMany)).thenFails(.invalidValue(field: "pipeline", reason: "it has more than 50 stages"))
    }

    @Test func defineNeedsANewPipeline() async throws {
        let repository = Repository(store: InMemoryEventStore())
        let id = PipelineID()
        try await repository.execute(.define(name: "Sales", stages: salesStages), on: id, context: context(admin))
        await #expect(throws: CRMError.alreadyExists(kind: "pipeline", id: id.description)) {
            try await repository.execute(.define(name: "Sales", stages: salesStages), on: id, context: context(admin))
        }
    }

    @Test func stagesCanBeAddedWithNewKeysOnly() {
        let demo = PipelineStage(key: "demo", name: "Demo", probability: dec("0.3"), kind: .open)
        let given = Given<Pipeline>([salesDefined])
        given.when(.addStage(demo, at: 1)).then([PipelineStageAdded(stage: demo, index: 1)])
        given.when(.addStage(demo)).then([PipelineStageAdded(stage: demo, index: 5)])
        given.when(.addStage(demo, at: 6)).thenFails(.invalidValue(field: "stage index", reason: "6 is not between 0 and 5"))
        given.when(.addStage(demo, at: -1)).thenFails(.invalidValue(field: "stage index", reason: "-1 is not between 0 and 5"))
        var clash = demo
        clash.key = "proposal"
        given.when(.addStage(clash)).thenFails(.invalidValue(field: "stage key", reason: "the key \"proposal\" is used twice"))
        var bad = demo
        bad.probability = 2
        given.when(.addStage(bad)).thenFails(.invalidValue(field: "probability", reason: "2 for stage \"demo\" is not between 0 and 1"))

        var pipeline = given.state
        pipeline.apply(PipelineStageAdded(stage: demo, index: 1))
        #expect(pipeline.stages.map(\.key) == ["qualification", "demo", "proposal", "negotiation", "won", "lost"])

        // A removed stage's key is never given to another stage.
        let retired = Given<Pipeline>([salesDefined, PipelineStageRemoved(stage: salesStages[1])])
        var reuse = demo
        reuse.key = "proposal"
        retired.when(.addStage(reuse))
            .thenFails(.invalidValue(field: "stage key", reason: "the key \"proposal\" belonged to a removed stage and cannot be reused"))
    }

    @Test func renamingAStageKeepsItsKey() {
        let given = Given<Pipeline>([salesDefined])
        given.when(.renameStage("negotiation", to: " Contract talks ")).then([PipelineStageRenamed(key: "negotiation", from: "Negotiation", to: "Contract talks")])
        given.when(.renameStage("negotiation", to: "Negotiation")).thenNothing()
        given.when(.renameStage("closing", to: "Closing")).thenFails(.unknownStage(stage: "closing", pipeline: given.id.description))
        given.when(.renameStage("negotiation", to: "proposal")).thenFails(.invalidValue(field: "stage name", reason: "the name \"proposal\" is used twice"))
        given.when(.renameStage("negotiation", to: "")).thenFails(.invalidValue(field: "stage name", reason: "it is empty"))
        var pipeline = given.state
        pipeline.apply(PipelineStageRenamed(key: "negotiation", from: "Negotiation", to: "Contract talks"))
        #expect(pipeline.stage("negotiation")?.name == "Contract talks")
        #expect(pipeline.stages.map(\.key) == salesStages.map(\.key))
    }

    @Test func probabilitiesChangeForOpenStagesOnly() {
        let given = Given<Pipeline>([salesDefined])
        given.when(.changeStageProbability("proposal", to: dec("0.35")))
            .then([PipelineStageProbabilityChanged(key: "proposal", from: dec("0.4"), to: dec("0.35"))])
        given.when(.changeStageProbability("proposal", to: dec("0.4"))).thenNothing()
        given.when(.changeStageProbability("proposal", to: dec("1.01")))
            .thenFails(.invalidValue(field: "probability", reason: "1.01 for stage \"proposal\" is not between 0 and 1"))
        given.when(.changeStageProbability("won", to: dec("0.9")))
            .thenFails(.invalidValue(field: "probability", reason: "won stage \"won\" must have probability 1"))
        given.when(.changeStageProbability("lost", to: dec("0.2")))
            .thenFails(.invalidValue(field: "probability", reason: "lost stage \"lost\" must have probability 0"))
        given.when(.changeStageProbability("nope", to: 0)).thenFails(.unknownStage(stage: "nope", pipeline: given.id.description))
        var pipeline = given.state
        pipeline.apply(PipelineStageProbabilityChanged(key: "proposal", from: dec("0.4"), to: dec("0.35")))
        #expect(pipeline.stage("proposal")?.probability == dec("0.35"))
    }

    @Test func reorderingNeedsEveryStageExactlyOnce() {
        let given = Given<Pipeline>([salesDefined])
        let current = salesStages.map(\.key)
        let swapped = ["proposal", "qualification", "negotiation", "won", "lost"]
        given.when(.reorderStages(swapped)).then([PipelineStagesReordered(from: current, to: swapped)])
        given.when(.reorderStages(current)).thenNothing()
        given.when(.reorderStages(["proposal", "qualification", "negotiation", "won"]))
            .thenFails(.invalidValue(field: "stage order", reason: "it must list each of the 5 stages exactly once"))
        given.when(.reorderStages(["proposal", "proposal", "qualification", "negotiation", "won", "lost"]))
            .thenFails(.invalidValue(field: "stage order", reason: "it must list each of the 5 stages exactly once"))
        given.when(.reorderStages(["proposal", "closing", "negotiation", "won", "lost"]))
            .thenFails(.unknownStage(stage: "closing", pipeline: given.id.description))
        var pipeline = given.state
        pipeline.apply(PipelineStagesReordered(from: current, to: swapped))
        #expect(pipeline.stages.map(\.key) == swapped)
        #expect(pipeline.stage("proposal")?.probability == dec("0.4"), "stages keep their settings when reordered")
    }

    @Test func removedStagesAreRetiredNotForgotten() {
        let given = Given<Pipeline>([salesDefined])
        given.when(.removeStage("proposal")).then([PipelineStageRemoved(stage: salesStages[1])])
        given.when(.removeStage("won")).thenFails(.invalidValue(field: "pipeline", reason: "it needs at least one won stage; \"won\" is the last one"))
        given.when(.removeStage("lost")).thenFails(.invalidValue(field: "pipeline", reason: "it needs at least one lost stage; \"lost\" is the last one"))
        given.when(.removeStage("nope")).thenFails(.unknownStage(stage: "nope", pipeline: given.id.description))

        let pipeline = salesPipeline(given.id, [PipelineStageRemoved(stage: salesStages[1])])
        #expect(pipeline.stages.map(\.key) == ["qualification", "negotiation", "won", "lost"])
        #expect(pipeline.stage("proposal") == nil)
        #expect(pipeline.anyStage("proposal")?.name == "Proposal", "old events can still be read with the stage's name")
        Given<Pipeline>([salesDefined, PipelineStageRemoved(stage: salesStages[1])], id: given.id)
            .when(.removeStage("proposal")).thenFails(.unknownStage(stage: "proposal", pipeline: given.id.description))

        // The last open stage cannot go either.
        let single = Given<Pipeline>([PipelineDefined(name: "Tiny", stages: Array(salesStages[2...]))])
        single.when(.removeStage("negotiation"))
            .thenFails(.invalidValue(field: "pipeline", reason: "it needs at least one open stage; \"negotiation\" is the last one"))
    }

    @Test func renamingThePipeline() {
        let given = Given<Pipeline>([salesDefined])
        given.when(.rename(to: "Enterprise")).then([PipelineRenamed(from: "Sales", to: "Enterprise")])
        given.when(.rename(to: "Sales")).thenNothing()
        given.when(.rename(to: "")).thenFails(.invalidValue(field: "pipeline name", reason: "it is empty"))
    }

    @Test func everyPipelineCommandIsSensitive() async throws {
        let demo = PipelineStage(key: "demo", name: "Demo", probability: dec("0.3"), kind: .open)
        let commands: [Command<Pipeline>] = [
            .define(name: "Sales", stages: salesStages), .rename(to: "x"), .addStage(demo), .renameStage("won", to: "Closed won"),
            .changeStageProbability("proposal", to: 0), .reorderStages([]), .removeStage("proposal"),
        ]
        #expect(commands.allSatisfy { $0.isSensitive })

        let store = InMemoryEventStore()
        let repository = Repository(store: store, policy: RoleBasedAccessPolicy())
        let id = PipelineID()
        let manager = Principal(id: "user:mia", role: .salesManager)
        await #expect(throws: CRMError.accessDenied(actor: manager.id, command: "pipeline.define", entity: id.tag.rawValue,
                                                    reason: "only the role admin may run pipeline.define")) {
            try await repository.execute(.define(name: "Sales", stages: salesStages), on: id, context: context(manager))
        }
        try await repository.execute(.define(name: "Sales", stages: salesStages), on: id, context: context(admin))
        await #expect(throws: CRMError.accessDenied(actor: anna.id, command: "pipeline.renameStage", entity: id.tag.rawValue,
                                                    reason: "only the role admin may run pipeline.renameStage")) {
            try await repository.execute(.renameStage("won", to: "Closed won"), on: id, context: context(anna))
        }
        #expect(try await store.streamVersion(of: id.streamID) == 1)
    }

    @Test("access is decided before anything about the entity: refused attempts are recorded, not answered with what blocks them")
    func refusalsComeBeforeOpenDealsAndExistence() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store, policy: RoleBasedAccessPolicy())
        let pipeline = PipelineID(), deal = DealID()
        try await repository.execute(.define(name: "Sales", stages: salesStages), on: pipeline, context: context(admin))
        try await repository.openDeal(deal, title: "Open", pipeline: pipeline, stage: "proposal", context: context(anna))
        // Before, the rep was told how many open deals block the stage, and nothing was recorded.
        await #expect(throws: CRMError.accessDenied(actor: anna.id, command: "pipeline.removeStage", entity: pipeline.tag.rawValue,
                                                    reason: "only the role admin may run pipeline.removeStage")) {
            try await repository.removePipelineStage("proposal", from: pipeline, context: context(anna))
        }
        // Before, a refused creation on an id in use said it exists, and was not recorded.
        let marketing = Principal(id: "user:max", role: .marketing)
        await #expect(throws: CRMError.self) {
            try await repository.execute(.define(name: "Again", stages: salesStages), on: pipeline, context: context(marketing))
        }
        let denials = try await store.readStream(try StreamID("access-denied"), from: 1, direction: .forward, limit: 10)
        #expect(try denials.map { try $0.decode(AccessDenied.self).command } == ["pipeline.removeStage", "pipeline.define"])
        #expect(denials.map(\.metadata.actor) == [anna, marketing])
    }

    @Test func aStageWithOpenDealsCannotBeRemoved() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store)
        let pipeline = PipelineID(), other = PipelineID()
        try await repository.execute(.define(name: "Sales", stages: salesStages), on: pipeline, context: context(admin))
        try await repository.execute(.define(name: "Other", stages: salesStages), on: other, context: context(admin))
        let open = DealID(), closed = DealID(), elsewhere = DealID()
        try await repository.openDeal(open, title: "Open", pipeline: pipeline, stage: "proposal", context: context())
        try await repository.openDeal(closed, title: "Closed", pipeline: pipeline, stage: "proposal", context: context())
        try await repository.markDealLost(closed, reason: "no budget", context: context())
        try await repository.openDeal(elsewhere, title: "Elsewhere", pipeline: other, stage: "proposal", context: context())
        #expect(try await repository.openDeals(in: pipeline, stage: "proposal") == [open])

        let head = try await store.headPosition()
        await #expect(throws: CRMError.invalidTransition(kind: "pipeline", id: pipeline.description,
                                                         reason: "1 open deal is in stage \"proposal\"; move it first")) {
            try await repository.removePipelineStage("proposal", from: pipeline, context: context(admin))
        }
        #expect(try await store.headPosition() == head)

        try await repository.moveDeal(open, toStage: "negotiation", context: context())
        try await repository.removePipelineStage("proposal", from: pipeline, context: context(admin))
        let state = try await repository.load(pipeline).state
        #expect(state.stage("proposal") == nil && state.retiredStages.map(\.key) == ["proposal"])
        // Reopening into a retired stage is refused; the closed deal still knows where it was lost.
        await #expect(throws: CRMError.unknownStage(stage: "proposal", pipeline: pipeline.description)) {
            try await repository.reopenDeal(closed, toStage: "proposal", context: context())
        }
        #expect(try await repository.load(closed).state.lostAtStage == "proposal")
    }
}
