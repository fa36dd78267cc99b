// swift-tools-version: 6.1
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Rapport",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RapportEventLog", targets: ["RapportEventLog"]),
        .library(name: "RapportLMDB", targets: ["RapportLMDB"]),
        .library(name: "RapportPostgres", targets: ["RapportPostgres"]),
        .library(name: "RapportTesting", targets: ["RapportTesting"]),
        .library(name: "RapportCore", targets: ["RapportCore"]),
        .library(name: "RapportReplay", targets: ["RapportReplay"]),
        .library(name: "RapportScenario", targets: ["RapportScenario"]),
        .library(name: "RapportProjections", targets: ["RapportProjections"]),
        .executable(name: "rapport-quickstart", targets: ["QuickStart"]),
        .executable(name: "rapport-crm-tour", targets: ["CRMTour"]),
        .executable(name: "rapport-lead-conversion", targets: ["LeadConversion"]),
        .executable(name: "rapport-audit-export", targets: ["AuditExport"]),
        .executable(name: "rapport", targets: ["RapportCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // liblmdb from the system (Debian: liblmdb-dev). Never vendored.
        .systemLibrary(
            name: "CLMDB",
            path: "Sources/CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"]), .brew(["lmdb"])]
        ),
        // Small C helpers for the hot paths (CRC32C with SSE4.2 / ARMv8 CRC).
        .target(name: "CRapportSupport", path: "Sources/CRapportSupport"),
        .target(
            name: "RapportEventLog",
            dependencies: [
                "CRapportSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "RapportLMDB",
            dependencies: [
                "CLMDB",
                "RapportEventLog",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "RapportPostgres",
            dependencies: [
                "RapportEventLog",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "RapportCore",
            dependencies: ["RapportEventLog", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "RapportReplay",
            dependencies: ["RapportEventLog"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "RapportScenario",
            dependencies: ["RapportCore", "RapportEventLog"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "RapportProjections",
            dependencies: [
                "RapportCore", "RapportReplay", "RapportEventLog",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "RapportTesting",
            dependencies: ["RapportEventLog"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "QuickStart",
            dependencies: ["RapportEventLog", "RapportLMDB"],
            path: "Examples/QuickStart",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "CRMTour",
            dependencies: ["RapportCore", "RapportEventLog", "RapportLMDB"],
            path: "Examples/CRMTour",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "LeadConversion",
            dependencies: ["RapportCore", "RapportEventLog", "RapportLMDB", "RapportProjections", "RapportReplay"],
            path: "Examples/LeadConversion",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "AuditExport",
            dependencies: ["RapportCore", "RapportEventLog", "RapportLMDB", "RapportProjections", "RapportReplay"],
            path: "Examples/AuditExport",
            swiftSettings: strictSettings
        ),
        // The `rapport` command: demo, import, history, deal, pipeline, audit, verify, stats, rebuild, copy.
        .executableTarget(
            name: "RapportCLI",
            dependencies: [
                "RapportCore", "RapportEventLog", "RapportLMDB", "RapportPostgres", "RapportReplay", "RapportScenario", "RapportProjections",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // A child process the crash-safety and multi-process tests drive.
        .executableTarget(
            name: "RapportStoreProbe",
            dependencies: ["CLMDB", "RapportEventLog", "RapportLMDB", "RapportReplay"],
            path: "Tests/RapportStoreProbe",
            swiftSettings: strictSettings
        ),
        // A child process the PostgreSQL multi-process test drives.
        .executableTarget(
            name: "RapportPostgresProbe",
            dependencies: [
                "RapportEventLog",
                "RapportPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/RapportPostgresProbe",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RapportEventLogTests",
            dependencies: ["RapportEventLog", "RapportTesting"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RapportCoreTests",
            dependencies: [
                "RapportCore", "RapportEventLog", "RapportLMDB",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RapportReplayTests",
            dependencies: ["RapportReplay", "RapportEventLog", "RapportLMDB", "RapportTesting"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RapportScenarioTests",
            dependencies: ["RapportScenario", "RapportCore", "RapportEventLog"],
            swiftSettings: strictSettings
        ),
        // End-to-end tests of the built `rapport` binary and of the examples.
        .testTarget(
            name: "RapportCLITests",
            dependencies: [
                "RapportCLI", "RapportEventLog", "RapportLMDB", "RapportProjections",
                "QuickStart", "CRMTour", "LeadConversion", "AuditExport", "RapportStoreProbe",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RapportProjectionsTests",
            dependencies: ["RapportProjections", "RapportCore", "RapportReplay", "RapportEventLog", "RapportLMDB", "RapportScenario", "RapportTesting"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RapportLMDBTests",
            dependencies: ["RapportEventLog", "RapportLMDB", "RapportTesting", "RapportScenario", "RapportStoreProbe"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RapportPostgresTests",
            dependencies: [
                "RapportCore",
                "RapportEventLog",
                "RapportLMDB",
                "RapportPostgres",
                "RapportProjections",
                "RapportReplay",
                "RapportScenario",
                "RapportTesting",
                "RapportPostgresProbe",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
