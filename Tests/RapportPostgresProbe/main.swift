// A child process for the PostgreSQL concurrency test: one more writer, in
// its own process with its own client, appending while others do.
//
//   RapportPostgresProbe HOST PORT USER DATABASE SCHEMA WRITER ITERATIONS
//
// The password, if any, comes from RAPPORT_PROBE_PASSWORD. Each iteration does
// one of three appends (see `step` below, mirrored by the test's in-process
// writers): a batch to the writer's own streams with no expectation, an
// optimistic append to the shared stream with an exact expected version, or a
// conditional append of the next counter value.
//
// Output: "ack POSITION EVENT-ID STREAM VERSION" per stored event, "done" at
// the end, "refused ERROR" (and exit status 1) when an append fails otherwise.
import Foundation
import Logging
import PostgresNIO
import RapportEventLog
import RapportPostgres

func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

let arguments = CommandLine.arguments
guard arguments.count == 8, let port = Int(arguments[2]), let iterations = Int(arguments[7]) else {
    FileHandle.standardError.write(Data("usage: RapportPostgresProbe HOST PORT USER DATABASE SCHEMA WRITER ITERATIONS\n".utf8))
    exit(2)
}
let writer = arguments[6]
let actor = Principal(id: "probe:\(writer)", role: .system)
let sharedStream = try! StreamID("shared-1")
let counterTag = try! Tag("counter:1")

func event(_ type: String, tags: [Tag] = [], payload: String) -> NewEvent {
    NewEvent(type: type, metadata: EventMetadata(actor: actor, channel: .automation), tags: tags, payload: Data(payload.utf8))
}

func acknowledge(_ events: [NewEvent], _ result: AppendResult, in stream: StreamID) {
    let last = result.streamVersions[stream]!
    for (offset, event) in events.enumerated() {
        let version = last - UInt64(events.count - 1 - offset)
        emit("ack \(result.positions.lowerBound.rawValue + UInt64(offset)) \(event.id) \(stream) \(version)")
    }
}

/// One iteration of the workload.
func step(_ store: PostgresEventStore, iteration: Int) async throws(EventStoreError) {
    switch iteration % 3 {
    case 0:
        let stream = try StreamID("own-\(writer)-\(iteration % 4)")
        let events = (0...(iteration % 3)).map { _ in event("Noted", tags: [try! Tag("writer:\(writer)")], payload: "{}") }
        acknowledge(events, try await store.append(events, to: stream, expecting: .any), in: stream)
    case 1:
        while true {
            let version = try await store.streamVersion(of: sharedStream)
            let events = [event("SharedTouched", payload: "{\"writer\":\"\(writer)\"}")]
            do throws(EventStoreError) {
                acknowledge(events, try await store.append(events, to: sharedStream, expecting: .exactly(version)), in: sharedStream)
                return
            } catch {
                guard case .wrongExpectedVersion = error else { throw error }
            }
        }
    default:
        let stream = try StreamID("counter-\(writer)")
        while true {
            let seen = try await store.headPosition()
            let counted = try await store.readLog(from: 1, filter: LogFilter(tags: [counterTag]), limit: 1_000_000).count
            let events = [event("Counted", tags: [counterTag], payload: "{\"value\":\(counted + 1)}")]
            do throws(EventStoreError) {
                let result = try await store.append(events, to: stream, condition: AppendCondition(tags: [counterTag], after: seen))
                acknowledge(events, result, in: stream)
                return
            } catch {
                guard case .appendConditionFailed = error else { throw error }
            }
        }
    }
}

var configuration = PostgresClient.Configuration(
    host: arguments[1], port: port, username: arguments[3],
    password: ProcessInfo.processInfo.environment["RAPPORT_PROBE_PASSWORD"], database: arguments[4], tls: .disable)
configuration.options.maximumConnections = 4
let client = PostgresClient(configuration: configuration)
let running = Task { await client.run() }
var failed = false
do {
    let store = try PostgresEventStore(
        client: client, configuration: PostgresEventStore.Configuration(schema: arguments[5]),
        logger: Logger(label: "rapport.postgres.probe"))
    for iteration in 0..<iterations { try await step(store, iteration: iteration) }
    await store.close()
    emit("done")
} catch {
    emit("refused \(error)")
    failed = true
}
running.cancel()
exit(failed ? 1 : 0)
