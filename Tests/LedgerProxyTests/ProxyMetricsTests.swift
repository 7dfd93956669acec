import LedgerCore
import MetricsTestKit
import Testing

@testable import LedgerProxy

@Suite struct ProxyMetricsTests {
    static func event(
        endpoint: String = "/v1/chat/completions", status: CallStatus = .ok, usage: TokenUsage? = nil
    ) -> UsageEvent {
        var event = UsageEvent(
            id: 1, startedAtMicros: 0, finishedAtMicros: 10, endpoint: endpoint, status: status, latencyMicros: 1_500)
        event.model = "gpt-4.1"
        event.provider = "holysheep"
        event.usage = usage
        return event
    }

    @Test func countsCallsTokensAndCostPerLabelSetReusingItsHandles() throws {
        let factory = TestMetrics()
        let metrics = ProxyMetrics(factory: factory)
        let usage = TokenUsage(promptTokens: 11, completionTokens: 7)
        metrics.finished(Self.event(usage: usage), costPicoUSD: 5_000_000)
        metrics.finished(Self.event(usage: usage), costPicoUSD: 3_000)
        metrics.finished(Self.event(status: .upstreamError), costPicoUSD: nil)
        let labels = [("endpoint", "/v1/chat/completions"), ("model", "gpt-4.1"), ("provider", "holysheep")]
        #expect(try factory.expectCounter("ledger_requests_total", labels + [("status", "ok")]).totalValue == 2)
        #expect(try factory.expectCounter("ledger_requests_total", labels + [("status", "upstream_error")]).totalValue == 1)
        let model = [("model", "gpt-4.1"), ("provider", "holysheep")]
        #expect(try factory.expectCounter("ledger_prompt_tokens_total", model).totalValue == 22)
        #expect(try factory.expectCounter("ledger_completion_tokens_total", model).totalValue == 14)
        // Nano-USD, truncated per call: 5,000,000 pUSD -> 5,000 nUSD; 3,000 pUSD -> 3 nUSD.
        #expect(try factory.expectCounter("ledger_cost_nusd_total", model).totalValue == 5_003)
        let timer = try factory.expectTimer("ledger_request_duration_seconds", [("endpoint", "/v1/chat/completions")])
        #expect(timer.values == [1_500_000, 1_500_000, 1_500_000])
    }

    @Test func unknownPathsShareOneEndpointLabel() throws {
        let factory = TestMetrics()
        let metrics = ProxyMetrics(factory: factory)
        for path in ["/v1/nope", "/admin", "/v1/chat/completions/../x"] {
            metrics.finished(Self.event(endpoint: path, status: .clientError), costPicoUSD: nil)
        }
        #expect(factory.counters(label: "ledger_requests_total").count == 1)
        #expect(factory.counterTotal(label: "ledger_requests_total", dimensions: [("endpoint", "other")]) == 3)
    }
}
