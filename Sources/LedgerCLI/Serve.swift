import ArgumentParser
import Foundation
import LedgerBudgets
import LedgerCore
import LedgerProxy
import LedgerStore
import Logging
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `holysheep-ledger serve`: the OpenAI-compatible proxy that records every call in the ledger.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the OpenAI-compatible proxy; every call is recorded in the ledger.",
        discussion: """
            Upstream keys come only from the environment: HOLYSHEEP_API_KEY (primary), OFFICIAL_API_KEY (fallback), \
            or the variable a [provider NAME] section names with api_key_env. Without a key the proxy still starts, \
            warns, and answers calls with an OpenAI-shaped error naming the missing variable. SIGTERM stops \
            accepting, lets in-flight calls finish (at most drain_timeout_seconds), flushes the ledger and exits 0.

            Routing: model "auto" is routed by X-Task-Type or metadata.task_type; failed calls are retried with \
            backoff and fall back along [fallback] default_chain; X-Priority (1-5) orders the upstream queue. \
            The [routing], [retry], [breaker], [pool] and [fallback] sections of the config set all of it.

            Examples:
              holysheep-ledger serve
              holysheep-ledger serve --port 9000 --config /etc/holysheep-ledger.ini --db /var/lib/holysheep/ledger.sqlite
            """)

    @OptionGroup var ledger: LedgerOptions

    @Option(help: "Address to listen on (default 127.0.0.1, or [server] host).")
    var host: String?

    @Option(help: "Port to listen on (default 8080, or [server] port).")
    var port: Int?

    @Option(help: ArgumentHelp("Configuration file (INI; see config/holysheep-ledger.example.ini).", valueName: "path"))
    var config: String?

    @Option(
        help: ArgumentHelp(
            "Output tokens a budget reserves for a call that names no max_tokens (default 16384).", valueName: "n"))
    var budgetOutputCap: Int64?

    func run() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let logger = Logger(label: "holysheep-ledger")
        let configuration = try ServeConfiguration.load(path: config, host: host, port: port)
        for provider in configuration.providersMissingKeys {
            logger.warning(
                "no API key for provider \(provider.name) (\(provider.baseURL)): set \(provider.apiKeyEnvironment)")
        }
        let database = try ledger.open()
        let writer = try LedgerWriter(database: database, logger: logger)
        let upstream = try CurlUpstreamClient()
        defer { upstream.shutdown() }
        let registry = PrometheusCollectorRegistry()
        let prices = try LivePriceBook(database: database)
        // Spend budgets (docs/budgets.md): the CallAdmission the request pipeline calls before going upstream.
        let budgets = try LocalBudgets(
            store: BudgetStore(database: database),
            prices: BudgetPriceBook(book: prices, kinds: Array(Set(configuration.providers.map(\.kind)))),
            outputCap: budgetOutputCap ?? WorstCase.defaultOutputCap, poster: CurlWebhookPoster(client: upstream),
            metrics: PrometheusMetricsFactory(registry: registry), logger: logger, now: { nowMicros() })
        let app = buildApplication(
            configuration: configuration, upstream: upstream, recorder: writer, keys: try KeyVerifier(database: database),
            prices: prices,
            metrics: ProxyMetrics(factory: PrometheusMetricsFactory(registry: registry)),
            exposition: PrometheusExposition(registry: registry, beforeRender: budgets.publishGauges),
            ledgerHealth: LedgerProbe(writer: writer),
            reports: ServeReports.endpoint(database: database), services: [writer, budgets], logger: logger)
        var group = ServiceGroupConfiguration(
            services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = configuration.drainTimeout
        try await ServiceGroup(configuration: group).run()
    }
}

/// Renders swift-prometheus's registry for `/metrics`.
struct PrometheusExposition: MetricsExposition {
    let registry: PrometheusCollectorRegistry
    /// Publishes gauges kept elsewhere (the budgets') just before rendering.
    var beforeRender: @Sendable () -> Void = {}
    func render() -> String {
        beforeRender()
        return registry.emitToString()
    }
}

/// `/healthz`'s ledger check: a failing commit (probed again, so it clears once the ledger commits), else whether
/// the write lock can be taken.
struct LedgerProbe: LedgerHealthCheck {
    let writer: LedgerWriter
    func ledgerWriteFailure() async -> String? { await writer.writeFailure() }
}

/// Builds the proxy configuration: defaults, then the file, then flags; keys from the environment.
enum ServeConfiguration {
    static func load(path: String?, host: String?, port: Int?) throws -> ProxyConfiguration {
        var configuration = ProxyConfiguration()
        if let path {
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw ValidationError("cannot read config file \(path): \(error.localizedDescription)")
            }
            do { configuration = try configuration.applying(file: text) } catch {
                throw ValidationError("\(path): \(error)")
            }
        }
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        return configuration.resolvingKeys(from: ProcessInfo.processInfo.environment)
    }
}
