/// Everything the routing and resilience layer is configured with. Plain values with the migration guide's
/// defaults; the proxy's config file maps onto them through ``init(settings:)``.
package struct RoutingConfiguration: Sendable, Hashable {
    /// Which model `auto` (or an alias) becomes, by task type.
    package var router: TaskRouter
    package var retry: RetryPolicy
    package var breaker: CircuitBreakerPolicy
    package var pool: PoolPolicy
    /// The priority of a request that names none.
    package var defaultPriority: RequestPriority
    /// Providers to try in order for a model without its own chain (primary first). Each call keeps only those
    /// that serve its model in its dialect, so every model falls back to its own vendor.
    package var defaultChain: [String]
    /// Per-model chains, by routed model name.
    package var chains: [String: [String]]

    package init(
        router: TaskRouter = .guideDefaults, retry: RetryPolicy = RetryPolicy(),
        breaker: CircuitBreakerPolicy = CircuitBreakerPolicy(), pool: PoolPolicy = PoolPolicy(),
        defaultPriority: RequestPriority = .normal,
        defaultChain: [String] = ["holysheep", "official", "anthropic", "gemini", "deepseek"],
        chains: [String: [String]] = [:]
    ) {
        self.router = router
        self.retry = retry
        self.breaker = breaker
        self.pool = pool
        self.defaultPriority = defaultPriority
        self.defaultChain = defaultChain
        self.chains = chains
    }

    /// The provider names to try for a routed model, primary first.
    package func chain(for model: String) -> [String] {
        chains[model] ?? defaultChain
    }

    /// The providers to try for a routed model, with their base URLs; names without a base URL (not configured)
    /// are left out, so a chain naming an unconfigured fallback still runs with what exists.
    /// - Parameter baseURLs: configured provider name → base URL.
    package func chain(for model: String, baseURLs: [String: String]) -> [ProviderEndpoint] {
        chain(for: model).compactMap { name in baseURLs[name].map { ProviderEndpoint(name: name, baseURL: $0) } }
    }
}
