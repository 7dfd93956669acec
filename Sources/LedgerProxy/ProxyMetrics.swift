import LedgerCore
package import LedgerRouting
package import Metrics
import Synchronization

/// The proxy's metrics, created through an injected factory (the CLI passes Prometheus's; tests a fresh one).
package struct ProxyMetrics: Sendable {
    private let factory: any MetricsFactory
    private let queueDepth: Gauge
    private let depth = CountingCell()
    private let handles = CallMetricHandles()
    private let commitFailures: Counter
    private let refusals: Counter

    package init(factory: any MetricsFactory) {
        self.factory = factory
        self.queueDepth = Gauge(label: "ledger_queue_depth", dimensions: [], factory: factory)
        self.commitFailures = Counter(label: "ledger_commit_failures_total", dimensions: [], factory: factory)
        self.refusals = Counter(
            label: "ledger_refused_requests_total", dimensions: [("reason", "ledger_unwritable")], factory: factory)
    }

    /// Counts a call whose row the ledger failed to commit.
    func commitFailed() { commitFailures.increment() }

    /// Counts a request refused before any upstream call because the ledger cannot commit.
    func refusedUnrecordable() { refusals.increment() }

    /// Counts one finished call: request count, latency, tokens and cost (nano-USD, truncated) by model, provider, status.
    func finished(_ event: UsageEvent, costPicoUSD: Int64?) {
        // Unknown paths (404s) share one label value, so a scan of random URLs cannot grow the series without bound.
        let endpoint = ProxyEndpoint(rawValue: event.endpoint) != nil ? event.endpoint : "other"
        let handles = handles.get(
            CallKey(
                endpoint: endpoint, model: event.model ?? "", provider: event.provider ?? "",
                status: event.status.rawValue), factory: factory)
        handles.requests.increment()
        handles.duration.recordMicroseconds(event.latencyMicros)
        if let usage = event.usage {
            handles.promptTokens.increment(by: Int(usage.promptTokens))
            handles.completionTokens.increment(by: Int(usage.completionTokens))
            if let costPicoUSD { handles.cost.increment(by: Int(costPicoUSD / 1000)) }
        }
    }

    /// Counts a request whose model was routed (`auto` or an alias) to `model`.
    func routed(requested: String, to model: String) {
        Counter(
            label: "ledger_routed_requests_total", dimensions: [("requested_model", requested), ("model", model)],
            factory: factory
        ).increment()
    }

    /// Publishes circuit-breaker states (0 closed, 1 half-open, 2 open) and pool gauges; called before /metrics
    /// renders, so the numbers are current without a timer.
    package func publish(circuits: [CircuitSnapshot], pool: PoolSnapshot?) {
        for circuit in circuits {
            let dimensions = [("provider", circuit.provider)]
            Gauge(label: "ledger_circuit_state", dimensions: dimensions, factory: factory)
                .record(circuit.state.gaugeValue)
            Gauge(label: "ledger_circuit_consecutive_failures", dimensions: dimensions, factory: factory)
                .record(circuit.consecutiveFailures)
            Gauge(label: "ledger_circuit_opened", dimensions: dimensions, factory: factory).record(circuit.timesOpened)
        }
        guard let pool else { return }
        Gauge(label: "ledger_pool_in_flight", dimensions: [], factory: factory).record(pool.inFlight)
        Gauge(label: "ledger_pool_queued", dimensions: [], factory: factory).record(pool.queued)
        Gauge(label: "ledger_pool_admitted", dimensions: [], factory: factory).record(pool.admitted)
        Gauge(label: "ledger_pool_rejected", dimensions: [("reason", "queue_full")], factory: factory)
            .record(pool.rejectedQueueFull)
        Gauge(label: "ledger_pool_rejected", dimensions: [("reason", "queue_timeout")], factory: factory)
            .record(pool.rejectedQueueTimeout)
        for (provider, count) in pool.inFlightByProvider {
            Gauge(label: "ledger_pool_provider_in_flight", dimensions: [("provider", provider)], factory: factory)
                .record(count)
        }
    }

    /// Tracks records waiting for their commit (the ledger queue as the proxy sees it).
    func recording<T>(_ body: () async throws -> T) async rethrows -> T {
        queueDepth.record(depth.add(1))
        defer { queueDepth.record(depth.add(-1)) }
        return try await body()
    }
}

/// The labels of one finished call's metrics.
private struct CallKey: Hashable {
    var endpoint: String
    var model: String
    var provider: String
    var status: String
}

/// The metric handles for each label set seen so far, made once: creating them per call (the metrics API's
/// `Counter(label:dimensions:)` goes to the factory, which validates names and looks the series up each time) cost
/// more CPU than recording. The set is bounded by endpoints x models x providers x statuses.
private final class CallMetricHandles: Sendable {
    struct Handles: Sendable {
        let requests: Counter
        let duration: Timer
        let promptTokens: Counter
        let completionTokens: Counter
        let cost: Counter
    }

    private let byKey = Mutex<[CallKey: Handles]>([:])

    func get(_ key: CallKey, factory: any MetricsFactory) -> Handles {
        if let handles = byKey.withLock({ $0[key] }) { return handles }
        let dimensions = [
            ("endpoint", key.endpoint), ("model", key.model), ("provider", key.provider), ("status", key.status),
        ]
        let modelDimensions = [("model", key.model), ("provider", key.provider)]
        let handles = Handles(
            requests: Counter(label: "ledger_requests_total", dimensions: dimensions, factory: factory),
            duration: Timer(
                label: "ledger_request_duration_seconds", dimensions: [("endpoint", key.endpoint)], factory: factory),
            promptTokens: Counter(label: "ledger_prompt_tokens_total", dimensions: modelDimensions, factory: factory),
            completionTokens: Counter(
                label: "ledger_completion_tokens_total", dimensions: modelDimensions, factory: factory),
            cost: Counter(label: "ledger_cost_nusd_total", dimensions: modelDimensions, factory: factory))
        return byKey.withLock { byKey in
            if let existing = byKey[key] { return existing }
            byKey[key] = handles
            return handles
        }
    }
}

/// A shared integer counter.
private final class CountingCell: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ delta: Int) -> Int { value.add(delta, ordering: .relaxed).newValue }
}
