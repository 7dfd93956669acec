// swift-tools-version:6.2
import PackageDescription

// The same upcoming features as hummingbird's and penny-bot's packages (docs/ARCHITECTURE.md, "Targets").
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "holysheep-ledger",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "holysheep-ledger", targets: ["LedgerCLI"]),
        .executable(name: "ledger-bench", targets: ["LedgerBench"]),
        .executable(name: "report-bench", targets: ["ReportBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // Already in the graph through Hummingbird; named because the proxy imports them directly (NIOCore's
        // ChannelHandler for client disconnects, HTTPTypes for fields and statuses).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // Already in the graph through Hummingbird; named for NIOHTTPTypes' request parts (ClientConnectionWatcher).
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // The zip container of the reports' .xlsx workbooks.
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        // The PostgreSQL ledger (LedgerPostgres): the wire protocol, no ORM.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // Values only, no I/O.
        .target(name: "LedgerCore", swiftSettings: swiftSettings),

        // Spend budgets: definitions, calendar UTC periods, the reservation arithmetic, the in-process exact counter,
        // alerts (docs/budgets.md). The stores (LedgerStore, LedgerPostgres) hold the ledger parts.
        .target(
            name: "LedgerBudgets",
            dependencies: [
                "LedgerCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // Process-wide SQLite settings made through `sqlite3_config` (variadic, so C), before SQLite initializes.
        .target(name: "CSQLiteTuning", linkerSettings: [.linkedLibrary("sqlite3")]),

        // SQLite through GRDB: schema, durable group-commit writer, price book, keys.
        .target(
            name: "LedgerStore",
            dependencies: [
                "LedgerCore",
                "LedgerBudgets",
                "CSQLiteTuning",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The C API under GRDB (same package): the writer binds call rows directly.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings,
            plugins: ["EmbedSQLPlugin"]
        ),

        // PostgreSQL ledger for many `serve` replicas: schema (migrations/postgres/*.sql), group-commit writer,
        // keys and prices over postgres-nio directly.
        .target(
            name: "LedgerPostgres",
            dependencies: [
                "LedgerCore",
                // The store protocols (ReportStore) and the SQLite store's price book and costing, shared.
                "LedgerStore",
                "LedgerBudgets",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // The report store's own event-loop thread (synchronous report code waits on its futures).
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings,
            plugins: ["EmbedSQLPlugin"]
        ),

        // Routing and resilience decisions for the proxy: router, retry policy, circuit breaker, priority pool.
        // Pure and deterministic (injected clock and random source); no I/O.
        .target(
            name: "LedgerRouting",
            dependencies: ["LedgerCore"],
            swiftSettings: swiftSettings
        ),

        // libcurl, called directly.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),

        // The OpenAI-compatible proxy.
        .target(
            name: "LedgerProxy",
            dependencies: [
                "LedgerCore",
                "LedgerRouting",
                "CCurl",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // Finance reports: compute (reports/*.sql) and render (CSV, table, JSON, Markdown, HTML).
        .target(
            name: "LedgerReports",
            dependencies: [
                "LedgerCore",
                "LedgerStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The SQLite C API, for the export's and percentile scans' per-column reads (no per-row Strings).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            swiftSettings: swiftSettings,
            plugins: ["EmbedSQLPlugin"]
        ),

        // The thin executable: parse, configure, wire, run.
        .executableTarget(
            name: "LedgerCLI",
            dependencies: [
                "LedgerCore",
                "LedgerBudgets",
                "LedgerStore",
                "LedgerPostgres",
                "LedgerProxy",
                "LedgerReports",
                "LedgerRouting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // Benchmarks that print numbers (bench/README.md): never timed tests.
        .executableTarget(
            name: "LedgerBench",
            dependencies: [
                "LedgerCore",
                "LedgerBudgets",
                .product(name: "Metrics", package: "swift-metrics"),
                "LedgerStore",
                "LedgerPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                "LedgerReports",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench/Sources/LedgerBench",
            swiftSettings: swiftSettings
        ),

        // The reports' benchmark: a 10M-call ledger, then report --month / --year and export timings.
        .executableTarget(
            name: "ReportBench",
            dependencies: [
                "LedgerCore",
                "LedgerStore",
                "LedgerReports",
                "LedgerPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "bench/Sources/ReportBench",
            swiftSettings: swiftSettings
        ),

        // Proxy benchmark: stub upstream directly vs through the proxy (bench/README.md).
        .executableTarget(
            name: "ProxyBench",
            dependencies: [
                "LedgerBudgets",
                "LedgerCore",
                "LedgerStore",
                "LedgerProxy",
                "LedgerTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "bench/Sources/ProxyBench",
            swiftSettings: swiftSettings
        ),

        // Build-time tool + plugin that embed migrations/*.sql and reports/*.sql as string constants.
        .executableTarget(name: "EmbedSQL", swiftSettings: swiftSettings),
        .plugin(name: "EmbedSQLPlugin", capability: .buildTool(), dependencies: ["EmbedSQL"]),

        // Test-only helpers: temp ledgers, stub upstream, fixtures.
        .target(
            name: "LedgerTestSupport",
            dependencies: [
                "LedgerBudgets",
                "LedgerCore",
                "LedgerStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "LedgerBudgetsTests",
            dependencies: [
                "LedgerCore", "LedgerBudgets", "LedgerStore", "LedgerProxy", "LedgerTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerCoreTests",
            dependencies: ["LedgerCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerRoutingTests",
            dependencies: ["LedgerCore", "LedgerRouting", "LedgerTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerStoreTests",
            dependencies: [
                "LedgerCore", "LedgerStore", "LedgerTestSupport", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerProxyTests",
            dependencies: [
                "LedgerCore", "LedgerProxy", "LedgerRouting", "LedgerStore", "LedgerTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerReportsTests",
            dependencies: ["LedgerCore", "LedgerStore", "LedgerReports", "LedgerTestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            // Golden files, read through #filePath.
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerPostgresTests",
            dependencies: [
                "LedgerCore", "LedgerPostgres", "LedgerStore", "LedgerReports", "LedgerTestSupport",
                "LedgerBudgets", "LedgerProxy",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerCLITests",
            dependencies: ["LedgerCLI", "LedgerCore", "LedgerRouting", "LedgerStore", "LedgerTestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
