/// Everything decided about a request before any upstream call: the model, its priority and the providers to try.
package struct RoutingPlan: Sendable, Hashable {
    package var decision: RouteDecision
    package var priority: RequestPriority
    /// The routed model's providers, primary first, limited to configured ones.
    package var chain: [ProviderEndpoint]
}

extension RoutingConfiguration {
    /// Plans one request from what the proxy read off it.
    /// - Parameters:
    ///   - model: the body's `model`.
    ///   - taskTypeHeader: `X-Task-Type`, if sent.
    ///   - taskTypeMetadata: the body's `metadata.task_type`, if present.
    ///   - priorityHeader: `X-Priority`, if sent.
    ///   - priorityMetadata: the body's `metadata.priority` as written (a number or a numeric string), if present.
    ///   - baseURLs: configured provider name → base URL.
    ///   - dialect: the call's wire dialect.
    ///   - services: what each configured provider serves; a provider missing here serves everything.
    /// - Throws: ``RoutingError/invalidPriority(_:)``, ``RoutingError/emptyChain(model:)`` (nothing configured) or
    ///   ``RoutingError/modelNotServed(model:dialect:providers:)`` (configured, but none serves the model in the
    ///   dialect).
    package func plan(
        model: String, taskTypeHeader: String? = nil, taskTypeMetadata: String? = nil, priorityHeader: String? = nil,
        priorityMetadata: String? = nil, baseURLs: [String: String], dialect: WireDialect = .openai,
        services: [String: ProviderService] = [:]
    ) throws(RoutingError) -> RoutingPlan {
        let decision = router.route(
            model: model, taskType: TaskRouter.taskType(header: taskTypeHeader, metadata: taskTypeMetadata)
        )
        let priority: RequestPriority
        if let header = priorityHeader, !header.trimmingSpaces().isEmpty {
            priority = try RequestPriority(parsing: header)
        } else if let metadata = priorityMetadata {
            priority = try RequestPriority(parsing: metadata)
        } else {
            priority = defaultPriority
        }
        let configured = chain(for: decision.routedModel, baseURLs: baseURLs)
        guard !configured.isEmpty else { throw .emptyChain(model: decision.routedModel) }
        let chain = configured.filter {
            (services[$0.name] ?? .everything).serves(model: decision.routedModel, dialect: dialect)
        }
        guard !chain.isEmpty else {
            throw .modelNotServed(
                model: decision.routedModel, dialect: dialect.rawValue, providers: configured.map(\.name))
        }
        return RoutingPlan(decision: decision, priority: priority, chain: chain)
    }
}

extension RoutingConfiguration {
    /// The providers of the default chain that accept `dialect`, for calls that name no model (`GET
    /// /v1/responses/{id}` and the like): primary first, configured ones only.
    package func chain(
        accepting dialect: WireDialect, baseURLs: [String: String], services: [String: ProviderService]
    ) -> [ProviderEndpoint] {
        defaultChain.compactMap { name in
            guard let baseURL = baseURLs[name], (services[name] ?? .everything).dialects.contains(dialect) else {
                return nil
            }
            return ProviderEndpoint(name: name, baseURL: baseURL)
        }
    }
}

extension ResilientCall {
    /// A caller with fresh breakers and pool built from `configuration`, sharing `clock`. Build one per process and
    /// share it: the breakers and the pool only work if every request goes through the same instances.
    package init(
        configuration: RoutingConfiguration, clock: C,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.init(
            policy: configuration.retry, breakers: CircuitBreakers(policy: configuration.breaker, clock: clock),
            pool: PriorityPool(policy: configuration.pool, clock: clock), clock: clock, random: random
        )
    }
}
