package import LedgerCore
package import Metrics
import Synchronization

/// The proxy's metrics, created through an injected factory (the CLI passes Prometheus's; tests a fresh one).
package struct ProxyMetrics: Sendable {
    private let factory: any MetricsFactory
    private let queueDepth: Gauge
    private let depth = CountingCell()

    package init(factory: any MetricsFactory) {
        self.factory = factory
        self.queueDepth = Gauge(label: "ledger_queue_depth", dimensions: [], factory: factory)
    }

    /// Counts one finished call: request count, latency, tokens and cost (nano-USD, truncated) by model, provider, status.
    func finished(_ event: UsageEvent, costPicoUSD: Int128?) {
        let dimensions = [
            ("endpoint", event.endpoint), ("model", event.model ?? ""), ("provider", event.provider ?? ""),
            ("status", event.status.rawValue),
        ]
        Counter(label: "ledger_requests_total", dimensions: dimensions, factory: factory).increment()
        Timer(label: "ledger_request_duration_seconds", dimensions: [("endpoint", event.endpoint)], factory: factory)
            .recordMicroseconds(event.latencyMicros)
        if let usage = event.usage {
            let modelDimensions = [("model", event.model ?? ""), ("provider", event.provider ?? "")]
            Counter(label: "ledger_prompt_tokens_total", dimensions: modelDimensions, factory: factory)
                .increment(by: Int(usage.promptTokens))
            Counter(label: "ledger_completion_tokens_total", dimensions: modelDimensions, factory: factory)
                .increment(by: Int(usage.completionTokens))
            if let costPicoUSD {
                Counter(label: "ledger_cost_nusd_total", dimensions: modelDimensions, factory: factory)
                    .increment(by: Int(costPicoUSD / 1000))
            }
        }
    }

    /// Tracks records waiting for their commit (the ledger queue as the proxy sees it).
    func recording<T>(_ body: () async throws -> T) async rethrows -> T {
        queueDepth.record(depth.add(1))
        defer { queueDepth.record(depth.add(-1)) }
        return try await body()
    }
}

/// A shared integer counter.
private final class CountingCell: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ delta: Int) -> Int { value.add(delta, ordering: .relaxed).newValue }
}
