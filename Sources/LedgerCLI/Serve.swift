import ArgumentParser
import Foundation
import LedgerBudgets
import LedgerCore
import LedgerPostgres
import LedgerProxy
import LedgerStore
import Logging
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `holysheep-ledger serve`: the OpenAI-compatible proxy that records every call in the ledger.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the proxy (OpenAI and Anthropic APIs); every call is recorded in the ledger.",
        discussion: """
            Upstream keys come only from the environment: HOLYSHEEP_API_KEY (primary), OPENAI_API_KEY (or \
            OFFICIAL_API_KEY), ANTHROPIC_API_KEY, GEMINI_API_KEY, DEEPSEEK_API_KEY (each model's own vendor, its \
            fallback), or the variable a [provider NAME] section names with api_key_env. Without a key the proxy still starts, \
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
        var configuration = try ServeConfiguration.load(path: config, host: host, port: port)
        for provider in configuration.providersMissingKeys {
            logger.warning(
                "no API key for provider \(provider.name) (\(provider.baseURL)): set \(provider.keyVariables)")
        }
        // SQLite or PostgreSQL (--db postgres://...): the proxy sees only the Core protocols.
        let store = try await ledger.openForRecording(logger: logger, live: true)
        let upstream = try CurlUpstreamClient()
        defer { upstream.shutdown() }
        let registry = PrometheusCollectorRegistry()
        // Spend budgets (docs/budgets.md): the CallAdmission the request pipeline calls before going upstream,
        // on the same store as the ledger (in-process counters on SQLite, one statement per call on PostgreSQL).
        let kinds = Array(Set(configuration.providers.map(\.kind)))
        let outputCap = budgetOutputCap ?? WorstCase.defaultOutputCap
        let poster = CurlWebhookPoster(client: upstream)
        let budgetMetrics = PrometheusMetricsFactory(registry: registry)
        let budgets: any CallAdmission & Service
        let publishGauges: @Sendable () -> Void
        if let settings = try ledger.postgres() {
            let shared = PostgresBudgets(
                settings: settings, prices: LookupBudgetPrices(AnyPriceLookup(base: store.prices), kinds: kinds),
                outputCap: outputCap, poster: poster, metrics: budgetMetrics, logger: logger, now: { nowMicros() })
            budgets = shared
            // The shared figures are a query away: published as each scrape starts, seen by the next one.
            publishGauges = { Task { await shared.publishGauges() } }
        } else if let database = store.backend as? LedgerDatabase, let prices = store.prices as? LivePriceBook {
            let local = try LocalBudgets(
                store: BudgetStore(database: database), prices: BudgetPriceBook(book: prices, kinds: kinds),
                outputCap: outputCap, poster: poster, metrics: budgetMetrics, logger: logger, now: { nowMicros() })
            budgets = local
            publishGauges = { local.publishGauges() }
        } else {
            throw ValidationError("the ledger \(ledger.location) cannot hold budgets")
        }
        configuration.admission = budgets
        let app = buildApplication(
            configuration: configuration, upstream: upstream, recorder: store.recorder, keys: store.keys,
            prices: store.prices,
            metrics: ProxyMetrics(factory: PrometheusMetricsFactory(registry: registry)),
            exposition: PrometheusExposition(registry: registry, beforeRender: publishGauges),
            ledgerHealth: store.health,
            reports: ServeReports.endpoint(database: store.backend), services: [store.service, budgets],
            logger: logger)
        var group = ServiceGroupConfiguration(
            services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = configuration.drainTimeout
        try await ServiceGroup(configuration: group).run()
    }
}

/// Any price lookup as a concrete type (for generic consumers such as the budgets' worst case).
struct AnyPriceLookup: PriceLookup {
    let base: any PriceLookup
    func price(model: String, kind: ProviderKind, atMicros micros: Int64) -> ModelPrice? {
        base.price(model: model, kind: kind, atMicros: micros)
    }
    func models(atMicros micros: Int64) -> [String] { base.models(atMicros: micros) }
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
