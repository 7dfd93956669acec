package import LedgerCore
package import LedgerRouting

/// How a provider wants its key.
package enum UpstreamAuth: String, Sendable, Hashable {
    /// `Authorization: Bearer KEY` (OpenAI and the OpenAI-compatible vendors).
    case bearer
    /// `x-api-key: KEY` (Anthropic).
    case xAPIKey = "x-api-key"
}

/// One upstream provider: where it is, which price list applies, what it serves, and its limits. The key comes
/// from the environment.
package struct ProviderConfiguration: Sendable, Hashable {
    package var name: String
    /// Base URL including the version path, e.g. "https://api.holysheep.ai/v1".
    package var baseURL: String
    /// The price list for what is paid at this provider.
    package var kind: ProviderKind
    /// The environment variable holding the key (read by the CLI only).
    package var apiKeyEnvironment: String
    /// Older names of the key's variable, read when `apiKeyEnvironment` is not set (`OFFICIAL_API_KEY`).
    package var apiKeyEnvironmentFallbacks: [String] = []
    /// The dialects it accepts, the models it serves and their names there.
    package var service: ProviderService = .everything
    /// How the key is sent.
    package var auth: UpstreamAuth = .bearer
    /// The key, or nil when the variable was not set: calls are then answered with a clear error.
    package var apiKey: String?
    package var connectTimeout: Duration
    package var timeout: Duration

    package init(
        name: String, baseURL: String, kind: ProviderKind, apiKeyEnvironment: String, apiKey: String? = nil,
        connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(30), service: ProviderService = .everything,
        auth: UpstreamAuth = .bearer, apiKeyEnvironmentFallbacks: [String] = []
    ) {
        self.service = service
        self.auth = auth
        self.apiKeyEnvironmentFallbacks = apiKeyEnvironmentFallbacks
        self.name = name
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.kind = kind
        self.apiKeyEnvironment = apiKeyEnvironment
        self.apiKey = apiKey
        self.connectTimeout = connectTimeout
        self.timeout = timeout
    }

    /// The variable(s) the key is read from, for messages: "OPENAI_API_KEY (or OFFICIAL_API_KEY)".
    package var keyVariables: String {
        apiKeyEnvironmentFallbacks.isEmpty
            ? apiKeyEnvironment : "\(apiKeyEnvironment) (or \(apiKeyEnvironmentFallbacks.joined(separator: ", ")))"
    }

    /// HolySheep, the primary for every model and dialect (the migration guide's 30 s timeout).
    package static let holysheep = ProviderConfiguration(
        name: "holysheep", baseURL: "https://api.holysheep.ai/v1", kind: .holysheep,
        apiKeyEnvironment: "HOLYSHEEP_API_KEY", timeout: .seconds(30),
        service: ProviderService(dialects: [.openai, .responses, .anthropic], primaryDialect: .openai))

    /// The official OpenAI API: OpenAI's own models, chat and Responses (60 s).
    package static let official = ProviderConfiguration(
        name: "official", baseURL: "https://api.openai.com/v1", kind: .official, apiKeyEnvironment: "OPENAI_API_KEY",
        timeout: .seconds(60),
        service: ProviderService(
            dialects: [.openai, .responses], models: ["gpt-*", "o1*", "o3*", "o4*", "text-embedding-*"],
            primaryDialect: .openai),
        apiKeyEnvironmentFallbacks: ["OFFICIAL_API_KEY"])

    /// Anthropic: Claude models, native Messages and its OpenAI-compatible chat endpoint; `x-api-key` (60 s).
    package static let anthropic = ProviderConfiguration(
        name: "anthropic", baseURL: "https://api.anthropic.com/v1", kind: .official,
        apiKeyEnvironment: "ANTHROPIC_API_KEY", timeout: .seconds(60),
        service: ProviderService(
            dialects: [.anthropic, .openai], models: ["claude-*"], modelMap: ["claude-sonnet-4.5": "claude-sonnet-4-5"],
            primaryDialect: .anthropic),
        auth: .xAPIKey)

    /// Google Gemini through its OpenAI-compatible endpoint (60 s).
    package static let gemini = ProviderConfiguration(
        name: "gemini", baseURL: "https://generativelanguage.googleapis.com/v1beta/openai", kind: .official,
        apiKeyEnvironment: "GEMINI_API_KEY", timeout: .seconds(60),
        service: ProviderService(dialects: [.openai], models: ["gemini-*"], primaryDialect: .openai))

    /// DeepSeek (OpenAI dialect); the ledger's deepseek-v3.2 is `deepseek-chat` there (60 s).
    package static let deepseek = ProviderConfiguration(
        name: "deepseek", baseURL: "https://api.deepseek.com/v1", kind: .official,
        apiKeyEnvironment: "DEEPSEEK_API_KEY", timeout: .seconds(60),
        service: ProviderService(
            dialects: [.openai], models: ["deepseek-*"], modelMap: ["deepseek-v3.2": "deepseek-chat"],
            primaryDialect: .openai))

    /// The shipped providers, primary first: each model's own vendor is its fallback.
    package static let shipped: [ProviderConfiguration] = [.holysheep, .official, .anthropic, .gemini, .deepseek]
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
    /// Asked once per call after authentication and routing, before any upstream request (spend budgets); told
    /// the recorded paid cost once the row committed. Nil admits every call.
    package var admission: (any CallAdmission)? = nil
    /// Models accepted even without a price (priced calls need a price book row; these are recorded `unpriced`).
    package var extraModels: Set<String>
    /// Router, retries, circuit breakers, pool and fallback chains (the file's [routing], [retry], [breaker],
    /// [pool] and [fallback] sections).
    package var routing: RoutingConfiguration

    package init(
        host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 16 << 20,
        maxUpstreamBodyBytes: Int = 64 << 20,
        drainTimeout: Duration = .seconds(30), providers: [ProviderConfiguration] = ProviderConfiguration.shipped,
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
