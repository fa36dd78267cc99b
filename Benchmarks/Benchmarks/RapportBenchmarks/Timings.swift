import Benchmark
import Foundation
import RawLMDB

/// The time of each measured operation of one benchmark, taken around exactly
/// the region package-benchmark measures (between `startMeasurement()` and
/// `stopMeasurement()`), so the figures printed by `run.sh` and the tables of
/// package-benchmark describe the same thing. The recorder adds what the
/// tables lack: p99.9 and events per second over the whole workload.
final class Timings: @unchecked Sendable {
    /// What `run.sh` and the tables call this benchmark: workload and implementation, e.g. `W1 rapport`.
    let key: String
    /// Events one operation handles (1,000 for a W1 batch, 1 for W2, …).
    let eventsPerOperation: Int
    private(set) var nanoseconds: [UInt64] = []
    /// Set by benchmarks that measure a whole run at once (W2 with 8 writers):
    /// the events and the wall time, instead of the sum of the operations.
    var wallClock: (events: Int, nanoseconds: UInt64)?
    /// Extra `name=value` pairs printed with the summary (checksums, counts).
    var notes: [(String, String)] = []

    init(key: String, eventsPerOperation: Int) {
        self.key = key
        self.eventsPerOperation = eventsPerOperation
    }

    static func now() -> UInt64 { raw_now_ns() }

    func record(_ nanoseconds: UInt64) { self.nanoseconds.append(nanoseconds) }
    func record(contentsOf samples: [UInt64]) { nanoseconds.append(contentsOf: samples) }

    /// Records one iteration of `benchmark` (a warm-up's time is left out)
    /// and, after the last iteration, reports to it.
    func record(_ nanoseconds: UInt64, of benchmark: Benchmark) {
        if !Self.isWarmup(benchmark) { record(nanoseconds) }
        if Self.isLastIteration(benchmark) { report(to: benchmark) }
    }

    /// Whether this iteration of `benchmark` is a warm-up, not to be recorded.
    static func isWarmup(_ benchmark: Benchmark) -> Bool {
        benchmark.currentIteration < benchmark.configuration.warmupIterations
    }

    /// Whether this is the last iteration `benchmark` will run (when it is not cut short by `maxDuration`).
    static func isLastIteration(_ benchmark: Benchmark) -> Bool {
        benchmark.currentIteration == benchmark.configuration.warmupIterations + benchmark.configuration.maxIterations - 1
    }

    var events: Int { wallClock?.events ?? nanoseconds.count * eventsPerOperation }
    var totalNanoseconds: UInt64 { wallClock?.nanoseconds ?? nanoseconds.reduce(0, +) }
    var eventsPerSecond: Double {
        totalNanoseconds == 0 ? 0 : Double(events) * 1e9 / Double(totalNanoseconds)
    }

    /// The nearest-rank percentile `p` (0…100) of the operation times, in nanoseconds.
    func percentile(_ p: Double) -> UInt64 {
        guard !nanoseconds.isEmpty else { return 0 }
        let sorted = nanoseconds.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// Reports events/s and p99.9 to package-benchmark as custom metrics (call in the last iteration).
    func report(to benchmark: Benchmark) {
        benchmark.measurement(Metrics.eventsPerSecond, Int(eventsPerSecond.rounded()))
        benchmark.measurement(Metrics.p999, Int(percentile(99.9)))
    }

    /// One line of `key=value` pairs, read by `run.sh`.
    var summary: String {
        func micros(_ ns: UInt64) -> String { String(format: "%.1f", Double(ns) / 1000) }
        var fields = [
            "benchmark=\(key.replacingOccurrences(of: " ", with: "/"))",
            "operations=\(nanoseconds.count)",
            "events=\(events)",
            "seconds=\(String(format: "%.3f", Double(totalNanoseconds) / 1e9))",
            "events_per_s=\(Int(eventsPerSecond.rounded()))",
            "p50_us=\(micros(percentile(50)))",
            "p99_us=\(micros(percentile(99)))",
            "p999_us=\(micros(percentile(99.9)))",
            "max_us=\(micros(percentile(100)))",
        ]
        fields += notes.map { "\($0.0)=\($0.1)" }
        fields.append("loadavg_1m=\(Self.loadAverage)")
        return fields.joined(separator: " ")
    }

    /// The process's I/O counters (`/proc/self/io`) when the workload started.
    private var ioAtStart: [String: UInt64] = [:]

    static func ioCounters() -> [String: UInt64] {
        guard let text = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) else { return [:] }
        var counters: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":")
            if parts.count == 2, let value = UInt64(parts[1].trimmingCharacters(in: .whitespaces)) {
                counters[String(parts[0])] = value
            }
        }
        return counters
    }

    private var cpuAtStart: Double = 0
    /// CPU time spent on diagnostics outside the measurement, left out of `cpu_us_per_event`.
    var excludedCPUSeconds: Double = 0

    /// User plus system CPU seconds of the whole process (all threads) so far.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Call when the workload starts (end of setup).
    func startCountingIO() {
        ioAtStart = Self.ioCounters()
        cpuAtStart = Self.cpuSeconds()
    }

    /// Notes the bytes written (to write/pwrite, and to the storage) and the
    /// write system calls since ``startCountingIO()``, per event.
    func noteIO() {
        guard !ioAtStart.isEmpty, events > 0 else { return }
        notes.append(("cpu_us_per_event", String(format: "%.2f", (Self.cpuSeconds() - cpuAtStart - excludedCPUSeconds) * 1e6 / Double(events))))
        let now = Self.ioCounters()
        for (name, label) in [("wchar", "written_bytes_per_event"), ("write_bytes", "storage_bytes_per_event"), ("syscw", "write_calls_per_event")] {
            let delta = (now[name] ?? 0) &- (ioAtStart[name] ?? 0)
            notes.append((label, String(format: "%.1f", Double(delta) / Double(events))))
        }
    }

    /// The 1-minute load average when the benchmark ends (the machine is shared: a high one means noisy figures).
    static var loadAverage: String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?"
        return String(text.split(separator: " ").first ?? "?")
    }

    /// Prints the summary and appends it to `$RAPPORT_BENCH_RESULTS` when set.
    func publish() {
        let line = "RESULT " + summary
        print(line)
        guard let path = ProcessInfo.processInfo.environment["RAPPORT_BENCH_RESULTS"], !path.isEmpty else { return }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}

/// The metrics every benchmark here shows: package-benchmark's own clock, and the
/// two figures the workload definition asks for that its tables do not have.
enum Metrics {
    static let eventsPerSecond = BenchmarkMetric.custom("events/s (whole workload)", polarity: .prefersLarger, useScalingFactor: false)
    static let p999 = BenchmarkMetric.custom("p99.9 operation (ns)", polarity: .prefersSmaller, useScalingFactor: false)
    static let all: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, eventsPerSecond, p999]
}
