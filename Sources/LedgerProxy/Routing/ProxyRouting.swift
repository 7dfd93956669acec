package import Hummingbird
package import LedgerCore
package import LedgerRouting
import Synchronization

/// What one successful (or passed-through) upstream attempt handed back: the provider that answered, its response,
/// and, for replies read whole, the body and its usage.
package struct UpstreamReply: Sendable {
    package var provider: ProviderConfiguration
    package var response: UpstreamResponse
    /// The whole body, for non-streamed replies and error replies; nil for a stream still arriving.
    package var body: ByteBuffer?
    /// The usage of a successful reply read whole.
    package var usage: TokenUsage? = nil
}

/// The process-wide routing layer: one ``ResilientCall`` (breakers and pool shared by every request), its clock
/// erased so the controller is not generic. Tests build it with a test clock; production with `ContinuousClock`.
package struct ProxyRouting: Sendable {
    package typealias Attempt = (ProviderEndpoint, AttemptContext) async throws -> AttemptOutcome<UpstreamReply>

    package let configuration: RoutingConfiguration
    private let runner:
        @Sendable (
            _ chain: [ProviderEndpoint], _ priority: RequestPriority, _ model: String, _ source: String,
            _ attempt: Attempt
        ) async -> ResilientCallResult<UpstreamReply>
    private let finisher: @Sendable (ResilientCallResult<UpstreamReply>) -> Void
    private let releaser: @Sendable (PoolLease) -> Void
    /// Every provider's circuit, for /metrics and /healthz.
    package let breakerSnapshots: @Sendable () -> [CircuitSnapshot]
    /// Pool gauges, for /metrics.
    package let poolSnapshot: @Sendable () -> PoolSnapshot?

    /// - Parameters:
    ///   - configuration: router, retry, breaker, pool and fallback settings.
    ///   - clock: drives backoff waits, breaker cooldowns and queue timeouts.
    ///   - random: draws in [0, 1) for backoff jitter.
    package init<C: Clock>(
        configuration: RoutingConfiguration, clock: C,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) where C.Duration == Duration {
        let caller = ResilientCall(configuration: configuration, clock: clock, random: random)
        self.configuration = configuration
        self.runner = { chain, priority, model, source, attempt in
            await caller.run(
                chain: chain, priority: priority, model: model, holdLeaseOnSuccess: true, source: source,
                isolation: nil, attempt: attempt)
        }
        self.finisher = { caller.finish($0) }
        self.releaser = { caller.pool?.release($0) }
        self.breakerSnapshots = { caller.breakers.snapshots() }
        self.poolSnapshot = { caller.pool?.snapshot() }
    }

    /// Runs `attempt` along `chain` with retries, backoff, breakers, pool admission and fallback; `source` (the
    /// client key) lets the breakers keep one key's failures from stopping the others.
    /// A successful result keeps its pool slot in `lease`: hand it back with ``finish(_:)`` or a ``LeaseRelease``.
    package func run(
        chain: [ProviderEndpoint], priority: RequestPriority, model: String, source: String = "", attempt: Attempt
    ) async -> ResilientCallResult<UpstreamReply> {
        await runner(chain, priority, model, source, attempt)
    }

    /// Hands back the pool slot a successful result kept (harmless without one).
    package func finish(_ result: ResilientCallResult<UpstreamReply>) { finisher(result) }

    /// A one-shot release of `lease` that also fires when dropped, so a streamed reply whose body writer never runs
    /// (the client left before the head went out) cannot leak its slot.
    package func releaseOnce(_ lease: PoolLease?) -> LeaseRelease {
        guard let lease else { return LeaseRelease(nil) }
        let releaser = self.releaser
        let action: @Sendable () -> Void = { releaser(lease) }
        return LeaseRelease(action)
    }
}

/// Releases a pool slot exactly once: explicitly, or when the last reference goes away.
package final class LeaseRelease: Sendable {
    private let action: Mutex<(@Sendable () -> Void)?>

    init(_ action: (@Sendable () -> Void)?) { self.action = Mutex(action) }

    /// Releases now (later calls and the deinit do nothing).
    package func callAsFunction() {
        let pending = action.withLock { action in
            defer { action = nil }
            return action
        }
        pending?()
    }

    deinit { self() }
}
