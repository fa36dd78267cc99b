import Benchmark
import Foundation
import RapportCore
import RapportEventLog

/// P1: decoding `ActivityLogged` payloads (most of a CRM log's events, and
/// every one is decoded in a contact-history rebuild), through
/// Foundation's `JSONDecoder` and through the codec, which reads the
/// codec's own shape without it. 1,000 payloads of every kind of activity
/// per iteration, built from SplitMix64(42); the result is in µs per payload.
enum PayloadDecodeBenchmarks {
    static func register() {
        for path in PayloadDecode.Path.allCases {
            let runner = PayloadDecode(path)
            Benchmark(
                path.name, configuration: .init(warmupIterations: 3, maxDuration: .seconds(20), maxIterations: 200),
                closure: { (benchmark: Benchmark) in try runner.iteration(benchmark) },
                setup: { try runner.setUp() },
                teardown: { runner.tearDown() })
        }
    }
}

final class PayloadDecode: @unchecked Sendable {
    enum Path: CaseIterable {
        case foundation, codec

        var name: String {
            switch self {
            case .foundation: "P1 payload decode: ActivityLogged through JSONDecoder"
            case .codec: "P1 payload decode: ActivityLogged through JSONEventCodec"
            }
        }
        var key: String {
            switch self {
            case .foundation: "P1 activity-jsondecoder"
            case .codec: "P1 activity-codec"
            }
        }
    }

    let path: Path
    var payloads: [Data] = []
    var samples: [UInt64] = []
    let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    init(_ path: Path) { self.path = path }

    /// Payloads as the codec writes them (sorted keys, dates to the second),
    /// spelled out here: `ActivityLogged` is made by the activity commands,
    /// not by callers.
    func setUp() throws {
        var random = SplitMix64(seed: 42)
        let words = ["budget", "renewal", "pricing", "call back next week", "demo", "contract", "Q3"]
        func text() -> String {
            "\"" + (0..<(2 + random.next() % 8)).map { _ in words[Int(random.next() % UInt64(words.count))] }.joined(separator: " ") + "\""
        }
        let formatter = ISO8601DateFormatter()
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        payloads = (0..<1_000).map { index in
            let date = start.addingTimeInterval(Double(index * 3_600))
            func at(_ offset: Double) -> String { "\"" + formatter.string(from: date.addingTimeInterval(offset)) + "\"" }
            let direction = random.next() % 2 == 0 ? "\"inbound\"" : "\"outbound\""
            let details = switch index % 7 {
            case 0: #"{"call":{"direction":\#(direction),"duration":\#(random.next() % 3_600)}}"#
            case 1: #"{"meeting":{"attendees":["user:rep-1","ada@example.com"],"end":\#(at(1_800)),"start":\#(at(0)),"title":\#(text())}}"#
            case 2: #"{"email":{"direction":\#(direction),"subject":\#(text())}}"#
            case 3: #"{"sms":{"direction":\#(direction),"text":\#(text())}}"#
            case 4: #"{"chat":{"text":\#(text())}}"#
            case 5: #"{"note":{"text":\#(text())}}"#
            default: #"{"webForm":{"fields":{"message":\#(text()),"topic":"Add-on seats"},"form":"contact-us"}}"#
            }
            var links = [#"{"id":"\#(UUID().uuidString)","kind":"contact"}"#]
            if random.next() % 2 == 0 { links.append(#"{"id":"\#(UUID().uuidString)","kind":"company"}"#) }
            var members = [#""details":\#(details)"#, #""links":[\#(links.joined(separator: ","))]"#,
                           #""loggedBy":"user:rep-\#(random.next() % 10)""#]
            if random.next() % 2 == 0 { members.append(#""notes":\#(text())"#) }
            members.append(#""occurredAt":\#(at(0))"#)
            if random.next() % 3 == 0 { members.append(#""outcome":"voicemail""#) }
            return Data(("{" + members.joined(separator: ",") + "}").utf8)
        }
    }

    func iteration(_ benchmark: Benchmark) throws {
        let codec = JSONEventCodec()
        benchmark.startMeasurement()
        let begin = DispatchTime.now().uptimeNanoseconds
        var links = 0
        for payload in payloads {
            let event = switch path {
            case .foundation: try decoder.decode(ActivityLogged.self, from: payload)
            case .codec: try codec.decode(ActivityLogged.self, from: payload)
            }
            links += event.links.count
        }
        let finish = DispatchTime.now().uptimeNanoseconds
        benchmark.stopMeasurement()
        blackHole(links)
        if benchmark.currentIteration >= benchmark.configuration.warmupIterations { samples.append(finish - begin) }
    }

    func tearDown() {
        // One operation is one payload: the samples are per 1,000.
        publishResult(key: path.key, samples: samples.map { $0 / 1_000 }, eventsPerOperation: 1, notes: [("payloads_per_iteration", "1000")])
    }
}
