// swift-tools-version: 6.1
// The benchmark harness of Rapport, kept in its own package so that users of
// the library never build it (or its dependencies).
//
//     cd Benchmarks && swift package --disable-sandbox benchmark
//     ./run.sh          # everything, plus the ratios to raw LMDB
//     ./run-postgres.sh # the PostgreSQL benchmarks on a throwaway server, plus the ratios to raw SQL
//
// The workloads (W1–W4) are defined in the project's shared/WORKLOAD.md; see
// docs/benchmarks.md for the figures and how they were measured.
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "RapportBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Rapport", path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // The baseline: the same workloads written against liblmdb directly, in C.
        .target(
            name: "RawLMDB",
            path: "Sources/RawLMDB",
            linkerSettings: [.linkedLibrary("lmdb")]
        ),
        .executableTarget(
            name: "RapportBenchmarks",
            dependencies: [
                "RawLMDB",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "RapportEventLog", package: "Rapport"),
                .product(name: "RapportLMDB", package: "Rapport"),
            ],
            path: "Benchmarks/RapportBenchmarks",
            swiftSettings: strictSettings,
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
        // W1–W4 against PostgresEventStore, beside raw INSERT / COPY / SELECT on the
        // same server (RAPPORT_POSTGRES_URL; ./run-postgres.sh starts one). Timings.swift
        // and Workload.swift are links to RapportBenchmarks' files.
        .executableTarget(
            name: "PostgresBenchmarks",
            dependencies: [
                "RawLMDB",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "RapportEventLog", package: "Rapport"),
                .product(name: "RapportPostgres", package: "Rapport"),
            ],
            path: "Benchmarks/PostgresBenchmarks",
            swiftSettings: strictSettings,
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
        // The replay engine: aggregate loads with and without snapshots, as-of loads.
        .executableTarget(
            name: "ReplayBenchmarks",
            dependencies: [
                "RawLMDB",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "RapportCore", package: "Rapport"),
                .product(name: "RapportEventLog", package: "Rapport"),
                .product(name: "RapportLMDB", package: "Rapport"),
                .product(name: "RapportProjections", package: "Rapport"),
                .product(name: "RapportReplay", package: "Rapport"),
                .product(name: "RapportScenario", package: "Rapport"),
            ],
            path: "Benchmarks/ReplayBenchmarks",
            swiftSettings: strictSettings,
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ]
)
