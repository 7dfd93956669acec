/// A provider as the orchestrator sees it: its configured name and base URL (for diagnoses).
package struct ProviderEndpoint: Sendable, Hashable {
    package var name: String
    package var baseURL: String

    package init(name: String, baseURL: String) {
        self.name = name
        self.baseURL = baseURL
    }
}

/// What the `attempt` closure is told about the attempt it makes.
package struct AttemptContext: Sendable, Hashable {
    /// 1 for the first attempt at this provider.
    package var attemptAtProvider: Int
    /// 1 for the call's first attempt, counting every provider.
    package var attemptOverall: Int
    /// True when this provider is not the first of the chain.
    package var isFallback: Bool
    /// The pool slot this attempt holds, when a pool is used.
    package var lease: PoolLease?
}

/// One step of a call's history, in order.
package struct AttemptRecord: Sendable, Hashable {
    package enum Event: Sendable, Hashable {
        case succeeded
        case failed(AttemptFailure)
        case failedAfterBytesSent(AttemptFailure)
        /// The provider's circuit was open (or its half-open probe was out), so it was not called.
        case skippedOpenCircuit
    }

    package var provider: String
    /// 1-based attempt at this provider (0 for a skip).
    package var attempt: Int
    package var event: Event
    /// The backoff waited before this attempt.
    package var waitedBefore: Duration
}

/// How a resilient call ended: who answered, how many attempts it took, and, on failure, a diagnosis.
package struct ResilientCallResult<Response: Sendable>: Sendable {
    /// The success response, or the last provider's error reply to pass through (nil when none came back).
    package var response: Response?
    /// The provider that produced `response`, or the last one tried.
    package var provider: ProviderEndpoint?
    /// Upstream attempts made, over every provider (the ledger's `attempts`).
    package var attempts: Int
    /// True when `provider` is not the first of the chain (the ledger's `fallback_used`).
    package var fallbackUsed: Bool
    /// Nil on success; otherwise what the proxy reports (its description is the diagnosis).
    package var error: RoutingError?
    /// Time spent queued for pool slots, summed over attempts (the ledger's `queue_wait_us`).
    package var queueWait: Duration
    /// In-flight upstream calls when the first attempt was admitted (the ledger's `inflight_at_admission`).
    package var inFlightAtAdmission: Int?
    /// The successful attempt's pool slot, still held, when `run` was asked to keep it (a streamed reply that
    /// continues after `run` returns). Hand it back with ``ResilientCall/finish(_:)`` when the reply is done.
    package var lease: PoolLease?
    package var trail: [AttemptRecord]

    package var succeeded: Bool { error == nil }
}

/// Runs one upstream call with retries, backoff, circuit breakers, pool admission and fallback along a chain of
/// providers. The proxy supplies `attempt(provider, context)`, which makes one upstream request and reports an
/// ``AttemptOutcome``; everything else (what to retry, how long to wait, which provider next) is decided here.
///
/// Waits go through the injected clock (`ContinuousClock` in production, a test clock in tests) and jitter through
/// the injected `random` source, so runs are deterministic under test.
package struct ResilientCall<C: Clock>: Sendable where C.Duration == Duration {
    package var policy: RetryPolicy
    package let breakers: CircuitBreakers<C>
    /// Nil to call without concurrency limits.
    package let pool: PriorityPool<C>?
    package let clock: C
    /// Draws in [0, 1) for backoff jitter.
    package let random: @Sendable () -> Double

    package init(
        policy: RetryPolicy, breakers: CircuitBreakers<C>, pool: PriorityPool<C>?, clock: C,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.policy = policy
        self.breakers = breakers
        self.pool = pool
        self.clock = clock
        self.random = random
    }

    /// Calls `attempt` on the chain's providers in order until one answers or a failure is final.
    /// - Parameters:
    ///   - chain: the model's providers, primary first (``RoutingConfiguration/chain(for:)``).
    ///   - priority: the request's queue priority for pool slots.
    ///   - model: for the diagnosis of an empty chain.
    ///   - holdLeaseOnSuccess: keep the successful attempt's pool slot in ``ResilientCallResult/lease`` instead of
    ///     releasing it when `attempt` returns, so a reply that keeps streaming after `run` still counts against the
    ///     limits. The caller must then call ``finish(_:)`` (in a `defer`) when the reply is done.
    ///   - source: who makes the call (the client key), so the breakers can tell one source's failures from an
    ///     outage (see ``CircuitBreakers``).
    ///   - isolation: the caller's actor, inherited so `attempt` need not be `Sendable`.
    ///   - attempt: makes one upstream request. Throwing `CancellationError` (client gone) ends the call as
    ///     ``RoutingError/cancelled``; any other thrown error ends it as unreachable, without retry.
    package func run<Response: Sendable>(
        chain: [ProviderEndpoint], priority: RequestPriority = .normal, model: String = "",
        holdLeaseOnSuccess: Bool = false, source: String = "", isolation: isolated (any Actor)? = #isolation,
        attempt: (ProviderEndpoint, AttemptContext) async throws -> AttemptOutcome<Response>
    ) async -> ResilientCallResult<Response> {
        var result = ResilientCallResult<Response>(
            response: nil, provider: nil, attempts: 0, fallbackUsed: false, error: nil, queueWait: .zero,
            inFlightAtAdmission: nil, lease: nil, trail: []
        )
        guard let first = chain.first else {
            result.error = .emptyChain(model: model)
            return result
        }
        var lastError: RoutingError?
        var skipped: [String] = []

        for provider in chain {
            var tries = 0
            var waited = Duration.zero
            result.provider = provider
            result.fallbackUsed = provider != first
            while true {
                guard !Task.isCancelled else { return cancelled(result) }
                guard let permit = breakers.permit(provider.name, source: source) else {
                    if tries == 0 {
                        skipped.append(provider.name)
                        result.trail.append(
                            AttemptRecord(
                                provider: provider.name, attempt: 0, event: .skippedOpenCircuit, waitedBefore: .zero)
                        )
                    }
                    break
                }
                var lease: PoolLease?
                if let pool {
                    do {
                        let granted = try await pool.acquire(provider: provider.name, priority: priority)
                        lease = granted
                        result.queueWait += granted.queueWait
                        if result.inFlightAtAdmission == nil {
                            result.inFlightAtAdmission = granted.inFlightAtAdmission
                        }
                    } catch {
                        breakers.record(.abandoned, for: permit)
                        result.error = error as? RoutingError ?? .cancelled
                        return result
                    }
                }
                tries += 1
                result.attempts += 1
                let context = AttemptContext(
                    attemptAtProvider: tries, attemptOverall: result.attempts, isFallback: provider != first,
                    lease: lease
                )
                let outcome: AttemptOutcome<Response>
                do {
                    outcome = try await attempt(provider, context)
                } catch {
                    if let lease { pool?.release(lease) }
                    if error is CancellationError || Task.isCancelled {
                        breakers.record(.abandoned, for: permit)
                        return cancelled(result)
                    }
                    breakers.record(.failure, for: permit)
                    result.error = .upstreamUnreachable(
                        provider: provider.name, baseURL: provider.baseURL, reason: String(describing: error),
                        attempts: tries
                    )
                    return result
                }
                if case .success = outcome, holdLeaseOnSuccess {
                    result.lease = lease
                } else if let lease {
                    pool?.release(lease)
                }

                switch outcome {
                case .success(let response):
                    breakers.record(.success, for: permit)
                    result.trail.append(
                        AttemptRecord(provider: provider.name, attempt: tries, event: .succeeded, waitedBefore: waited)
                    )
                    result.response = response
                    result.error = nil
                    return result
                case .failedAfterBytesSent(let failure, let response):
                    breakers.record(Self.isProviderFault(failure) ? .failure : .neutral, for: permit)
                    result.trail.append(
                        AttemptRecord(
                            provider: provider.name, attempt: tries, event: .failedAfterBytesSent(failure),
                            waitedBefore: waited
                        )
                    )
                    result.response = response
                    result.error = .failedAfterBytesSent(
                        provider: provider.name, baseURL: provider.baseURL, failure: failure.description
                    )
                    return result
                case .failure(let failure, let response):
                    breakers.record(Self.isProviderFault(failure) ? .failure : .neutral, for: permit)
                    result.trail.append(
                        AttemptRecord(
                            provider: provider.name, attempt: tries, event: .failed(failure), waitedBefore: waited)
                    )
                    result.response = response
                    lastError = Self.diagnose(failure, at: provider, attempts: tries)
                    guard policy.isRetryable(failure) else {
                        result.error = lastError
                        return result
                    }
                    // No point waiting out a backoff for a provider whose circuit this failure just opened.
                    guard breakers.allows(provider.name, source: source),
                        let delay = policy.delay(beforeRetry: tries, after: failure, random: random())
                    else { break }
                    do {
                        try await clock.sleep(for: delay)
                    } catch {
                        return cancelled(result)
                    }
                    waited = delay
                    continue
                }
                break
            }
        }

        if let lastError {
            // The last provider that answered (or was tried) stays in `provider`/`response` for pass-through.
            if let index = result.trail.lastIndex(where: { $0.attempt > 0 }),
                let tried = chain.first(where: { $0.name == result.trail[index].provider })
            {
                result.provider = tried
                result.fallbackUsed = tried != first
            }
            result.error = lastError
        } else {
            let waits = skipped.compactMap { name in
                [breakers.snapshot(of: name).reopensIn, breakers.snapshot(of: name, source: source).reopensIn]
                    .compactMap { $0 }.max()
            }
            result.provider = nil
            result.fallbackUsed = false
            result.error = .circuitOpen(providers: skipped, retryAfter: waits.min() ?? .seconds(1))
        }
        return result
    }

    /// Hands back the slot a successful call kept with `holdLeaseOnSuccess` (harmless otherwise or twice).
    package func finish<Response>(_ result: ResilientCallResult<Response>) {
        if let lease = result.lease { pool?.release(lease) }
    }

    /// Failures that count against a provider's circuit: it is down, overloaded, slow or garbled. A 4xx other than
    /// 429 is the request's or the configuration's fault and the provider is evidently up.
    package static func isProviderFault(_ failure: AttemptFailure) -> Bool {
        switch failure.kind {
        case .status(let code): code == 429 || code >= 500
        case .connect, .timeout, .malformedResponse: true
        }
    }

    /// The diagnosis of a failure at `provider` (issue 4 §5): 401/403 name the provider, its base URL and what to
    /// check; a timeout names which one fired and its value.
    package static func diagnose(_ failure: AttemptFailure, at provider: ProviderEndpoint, attempts: Int)
        -> RoutingError
    {
        switch failure.kind {
        case .status(let code) where code == 401 || code == 403:
            .upstreamAuthentication(provider: provider.name, baseURL: provider.baseURL, status: code)
        case .status(let code):
            .upstreamStatus(provider: provider.name, baseURL: provider.baseURL, status: code, attempts: attempts)
        case .connect(let reason):
            .upstreamUnreachable(provider: provider.name, baseURL: provider.baseURL, reason: reason, attempts: attempts)
        case .timeout(let kind, let limit):
            .upstreamTimeout(
                provider: provider.name, baseURL: provider.baseURL, kind: kind, limit: limit, attempts: attempts)
        case .malformedResponse(let reason):
            .upstreamMalformed(provider: provider.name, baseURL: provider.baseURL, reason: reason)
        }
    }

    private func cancelled<Response>(_ result: ResilientCallResult<Response>) -> ResilientCallResult<Response> {
        var result = result
        result.error = .cancelled
        return result
    }
}
