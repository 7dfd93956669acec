package import LedgerCore
package import LedgerRouting

/// One upstream provider: where it is, which price list applies, and its limits. The key comes from the environment.
package struct ProviderConfiguration: Sendable, Hashable {
    package var name: String
    /// Base URL including the version path, e.g. "https://api.holysheep.ai/v1".
    package var baseURL: String
    /// The price list for what is paid at this provider.
    package var kind: ProviderKind
    /// The environment variable holding the key (read by the CLI only).
    package var apiKeyEnvironment: String
    /// The key, or nil when the variable was not set: calls are then answered with a clear error.
    package var apiKey: String?
    package var connectTimeout: Duration
    package var timeout: Duration

    package init(
        name: String, baseURL: String, kind: ProviderKind, apiKeyEnvironment: String, apiKey: String? = nil,
        connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(30)
    ) {
        self.name = name
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.kind = kind
        self.apiKeyEnvironment = apiKeyEnvironment
        self.apiKey = apiKey
        self.connectTimeout = connectTimeout
        self.timeout = timeout
    }

    /// HolySheep, the primary (the migration guide's 30 s timeout).
    package static let holysheep = ProviderConfiguration(
        name: "holysheep", baseURL: "https://api.holysheep.ai/v1", kind: .holysheep,
        apiKeyEnvironment: "HOLYSHEEP_API_KEY", timeout: .seconds(30))

    /// The official OpenAI API, the fallback (60 s).
    package static let official = ProviderConfiguration(
        name: "official", baseURL: "https://api.openai.com/v1", kind: .official, apiKeyEnvironment: "OFFICIAL_API_KEY",
        timeout: .seconds(60))
}

/// Everything `serve` needs that is not a dependency: plain values, built by the CLI or directly by tests.
package struct ProxyConfiguration: Sendable {
    package var host: String
    package var port: Int
    /// Largest accepted request body; larger ones get 413.
    package var maxBodyBytes: Int
    /// Largest upstream body the proxy buffers for a non-streamed reply.
    package var maxUpstreamBodyBytes: Int
    /// How long SIGTERM waits for in-flight calls before cancelling them.
    package var drainTimeout: Duration
    /// How long a request body may take to arrive, from the request's head; a slower client gets 408.
    package var bodyTimeout: Duration = .seconds(30)
    /// How long an idle keep-alive client connection stays open.
    package var idleTimeout: Duration = .seconds(60)
    /// Providers in fallback order; the first is the primary.
    package var providers: [ProviderConfiguration]
    /// Models accepted even without a price (priced calls need a price book row; these are recorded `unpriced`).
    package var extraModels: Set<String>
    /// Router, retries, circuit breakers, pool and fallback chains (the file's [routing], [retry], [breaker],
    /// [pool] and [fallback] sections).
    package var routing: RoutingConfiguration

    package init(
        host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 16 << 20,
        maxUpstreamBodyBytes: Int = 64 << 20,
        drainTimeout: Duration = .seconds(30), providers: [ProviderConfiguration] = [.holysheep, .official],
        extraModels: Set<String> = [], routing: RoutingConfiguration = RoutingConfiguration()
    ) {
        self.routing = routing
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.maxUpstreamBodyBytes = maxUpstreamBodyBytes
        self.drainTimeout = drainTimeout
        self.providers = providers
        self.extraModels = extraModels
    }

    /// Providers whose key is not set.
    package var providersMissingKeys: [ProviderConfiguration] { providers.filter { $0.apiKey == nil } }
}
