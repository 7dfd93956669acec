import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerCore
import LedgerRouting
import LedgerTestSupport
import Logging
import Metrics
import Synchronization
import Testing

@testable import LedgerProxy

/// The admission seam (spend budgets): asked once per call after authentication and routing and before any
/// upstream request; a refusal is a 429 in the caller's dialect, recorded, never sent upstream; an admitted call's
/// headers reach the client, and it is settled with the exact paid cost the ledger recorded.
@Suite struct AdmissionTests {
    /// Admits unless the model is refused; keeps what it was asked and told.
    final class FakeAdmission: CallAdmission {
        let refusedModels: Set<String>
        let asked = Mutex<[AdmissionRequest]>([])
        let settled = Mutex<[(Admission, Int64?)]>([])

        init(refusing models: Set<String> = []) { refusedModels = models }

        func admit(_ request: AdmissionRequest) async throws(AdmissionRefusal) -> Admission {
            asked.withLock { $0.append(request) }
            if refusedModels.contains(request.model) {
                throw AdmissionRefusal(message: "team atlas: monthly budget of 10.00 USD reached; resets 2026-01-01")
            }
            return Admission(holds: [request.keyID * 100], headers: ["x-ledger-budget-remaining-usd": "4.25"])
        }

        func settle(_ admission: Admission, paidPico: Int64?) async {
            settled.withLock { $0.append((admission, paidPico)) }
        }
    }

    /// A recorder that prices rows as the ledger writer does (paid list of the provider's kind).
    final class CostingRecorder: UsageRecorder {
        let memory = MemoryUsageRecorder()
        let prices: StaticPrices
        init(prices: StaticPrices) { self.prices = prices }
        func reserveCallID() -> Int64 { memory.reserveCallID() }
        func record(_ event: UsageEvent) async throws { _ = try await recordCosted(event) }
        func recordCosted(_ event: UsageEvent) async throws -> Int64? {
            try await memory.record(event)
            guard let usage = event.usage, let model = event.model,
                let price = prices.price(model: model, kind: event.providerKind ?? .holysheep, atMicros: 0)
            else { return nil }
            return Int64(try CostCalculator.cost(for: usage, price: price).picoUSD)
        }
    }

    @Test func refusalIsA429InTheCallersDialectBeforeAnyUpstreamRequest() async throws {
        let admission = FakeAdmission(refusing: ["gpt-4.1", "claude-sonnet-4.5"])
        try await DialectTests.withProxy(admission: admission) { h in
            let chat = try await h.post(
                "/v1/chat/completions", #"{"model":"gpt-4.1","max_completion_tokens":99,"messages":[]}"#, bearer: true)
            #expect(chat.status == .tooManyRequests)
            #expect(
                String(buffer: chat.body)
                    == #"{"error":{"message":"team atlas: monthly budget of 10.00 USD reached; resets 2026-01-01","type":"insufficient_quota","param":null,"code":"budget_exceeded"}}"#
                    + "\n")
            let message = try await h.post("/v1/messages", DialectTests.message)
            #expect(message.status == .tooManyRequests)
            #expect(
                String(buffer: message.body)
                    == #"{"type":"error","error":{"type":"rate_limit_error","message":"team atlas: monthly budget of 10.00 USD reached; resets 2026-01-01"}}"#
                    + "\n")
            _ = try await h.row(count: 2)
            #expect(h.recorder.events.allSatisfy { $0.status == .clientError && $0.errorType == "budget_exceeded" })
            #expect(h.recorder.events.allSatisfy { $0.httpStatus == 429 && $0.usage == nil })
            #expect(h.stub.requests.isEmpty)
            let asked = admission.asked.withLock { $0 }
            #expect(asked.map(\.maxOutputTokens) == [99, 64])
            #expect(asked.map(\.bodyBytes) == [60, DialectTests.message.utf8.count])
            #expect(asked.allSatisfy { $0.keyID == 9 && $0.team == "atlas" })
            #expect(admission.settled.withLock { $0.isEmpty })
        }
    }

    @Test func anAdmittedCallCarriesItsHeadersAndIsSettledWithTheRecordedCost() async throws {
        let admission = FakeAdmission()
        let recorder = CostingRecorder(prices: DialectTests.prices)
        try await Self.withCostingProxy(admission: admission, recorder: recorder) { post in
            let whole = try await post("/v1/messages", DialectTests.message)
            #expect(whole.headers[HTTPField.Name("x-ledger-budget-remaining-usd")!] == "4.25")
            let streamed = try await post(
                "/v1/responses", #"{"model":"gpt-4.1","input":"hi","stream":true,"max_output_tokens":7}"#)
            #expect(streamed.headers[HTTPField.Name("x-ledger-budget-remaining-usd")!] == "4.25")
            _ = try? await post("/v1/responses", #"{"model":"gpt-4.1","input":"hi","stream":true,"x_stub_fault":"cut_after=3"}"#)
        }
        // claude-sonnet-4.5 at holysheep: 25 input x 480,000 + 400 reads x 48,000 + 40 5m writes x 600,000
        // + 60 1h writes x 960,000 + 15 output x 2,400,000 = 12,000,000 + 19,200,000 + 24,000,000 + 57,600,000
        // + 36,000,000 pico-USD.
        let claude: Int64 = 148_800_000
        // gpt-4.1 at holysheep: 200 uncached x 320,000 + 128 cached x 80,000 + 52 output x 1,280,000.
        let gpt: Int64 = 64_000_000 + 10_240_000 + 66_560_000
        let settled = admission.settled.withLock { $0 }
        #expect(settled.map(\.1) == [claude, gpt, nil])
        #expect(settled.allSatisfy { $0.0.holds == [900] })
        #expect(admission.asked.withLock { $0.map(\.maxOutputTokens) } == [64, 7, nil])
    }

    static func withCostingProxy(
        admission: FakeAdmission, recorder: CostingRecorder,
        _ test: @Sendable (_ post: @Sendable (String, String) async throws -> TestResponse) async throws -> Void
    ) async throws {
        let stub = StubUpstream()
        try await stub.run { port in
            var configuration = ProxyConfiguration(
                port: 0,
                providers: [
                    ProviderConfiguration(
                        name: "holysheep", baseURL: "http://127.0.0.1:\(port)/v1", kind: .holysheep,
                        apiKeyEnvironment: "HOLYSHEEP_API_KEY", apiKey: "upstream-secret")
                ])
            configuration.admission = admission
            configuration.routing.retry.maxAttemptsPerProvider = 1
            let upstream = try CurlUpstreamClient()
            defer { upstream.shutdown() }
            var logger = Logger(label: "admission-test")
            logger.logLevel = .critical
            let app = buildApplication(
                configuration: configuration, upstream: upstream, recorder: recorder,
                keys: StaticKeyVerifier([DialectTests.clientKey: DialectTests.identity]), prices: DialectTests.prices,
                metrics: ProxyMetrics(factory: NOOPMetricsHandler.instance),
                routing: ProxyRouting(configuration: configuration.routing, clock: TestClock(.autoAdvance)),
                logger: logger)
            try await app.test(.live) { client in
                try await test { path, body in
                    try await client.execute(
                        uri: path, method: .post,
                        headers: [.contentType: "application/json", .xAPIKey: DialectTests.clientKey],
                        body: ByteBuffer(string: body))
                }
            }
        }
    }
}
