import Benchmark

// Benchmarks of the replay engine (issue 5): loading aggregates, with and
// without snapshots, now and as of a past position; the CRM scenario's
// C1–C4 (Scenario.swift); W5, 1M against 10M events (Scale.swift); P1,
// decoding activity payloads (PayloadDecode.swift). One file per subject;
// each benchmark prints a `RESULT` line (p50/p99/p99.9 of its operations)
// that `run.sh` adds to its summary.
//
//     cd Benchmarks && swift package --disable-sandbox benchmark --target ReplayBenchmarks
//
// package-benchmark runs every benchmark in its own process; when
// RAPPORT_BENCH_DIR is set (run.sh sets it), the stores built by one
// benchmark's setup are kept there and reused by the next.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], timeUnits: .microseconds)

    SnapshotLoads.register()
    ScenarioBenchmarks.register()
    ScaleBenchmarks.register()
    PayloadDecodeBenchmarks.register()
}
