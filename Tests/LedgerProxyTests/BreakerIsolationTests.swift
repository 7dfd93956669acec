import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerCore
import LedgerRouting
import LedgerTestSupport
import Logging
import Metrics
import Testing

@testable import LedgerProxy

/// One client key whose requests make the upstream fail must not open the provider's circuit for the other keys,
/// while an outage that fails every key's calls still opens it within the configured threshold.
@Suite(.timeLimit(.minutes(2))) struct BreakerIsolationTests {
    static let badKey = "hsl-bad-0123456789"
    static let goodKey = "hsl-good-0123456789"
    static let good = #"{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}"#
    static let failing = #"{"model":"gpt-4.1","messages":[],"x_stub_fault":"status=500"}"#

    struct Harness: Sendable {
        let client: any TestClientProtocol
        let stub: StubUpstream
        let routing: ProxyRouting

        func post(_ body: String, key: String) async throws -> TestResponse {
            try await client.execute(
                uri: "/v1/chat/completions", method: .post,
                headers: [.contentType: "application/json", .authorization: "Bearer \(key)"],
                body: ByteBuffer(string: body))
        }

        var circuit: CircuitState { routing.breakerSnapshots().first { $0.provider == "holysheep" }?.state ?? .closed }

        /// Upstream requests that asked the stub to fail.
        var failingRequests: Int { stub.requests.filter { $0.json?["x_stub_fault"] != nil }.count }
    }

    private func withProxy(_ test: @Sendable (Harness) async throws -> Void) async throws {
        let stub = StubUpstream()
        try await stub.run { port in
            let configuration = ProxyConfiguration(
                port: 0,
                providers: [
                    ProviderConfiguration(
                        name: "holysheep", baseURL: "http://127.0.0.1:\(port)/v1", kind: .holysheep,
                        apiKeyEnvironment: "HOLYSHEEP_API_KEY", apiKey: "hs-secret")
                ])
            let upstream = try CurlUpstreamClient()
            defer { upstream.shutdown() }
            var logger = Logger(label: "breaker-isolation-test")
            logger.logLevel = .critical
            // Backoff waits and cooldowns on a test clock: nothing here waits in real time, and no cooldown ends.
            let routing = ProxyRouting(configuration: configuration.routing, clock: TestClock(.autoAdvance))
            let app = buildApplication(
                configuration: configuration, upstream: upstream, recorder: MemoryUsageRecorder(),
                keys: StaticKeyVerifier([
                    Self.badKey: ClientIdentity(keyID: 1, name: "fuzzer", team: nil),
                    Self.goodKey: ClientIdentity(keyID: 2, name: "checkout", team: nil),
                ]),
                prices: ProxyApplicationTests.prices, metrics: ProxyMetrics(factory: NOOPMetricsHandler.instance),
                routing: routing, logger: logger)
            try await app.test(.live) { client in
                try await test(Harness(client: client, stub: stub, routing: routing))
            }
        }
    }

    @Test func oneKeysFailingRequestsDoNotOpenTheCircuitForAnotherKey() async throws {
        try await withProxy { h in
            let goodStatuses = try await withThrowingTaskGroup(of: [HTTPResponse.Status].self) { group in
                // The bad key: 160 requests the upstream answers 500, 4 at a time.
                for _ in 0..<4 {
                    group.addTask {
                        var statuses: [HTTPResponse.Status] = []
                        for _ in 0..<40 { statuses.append(try await h.post(Self.failing, key: Self.badKey).status) }
                        #expect(!statuses.contains(.ok))
                        return []
                    }
                }
                // Meanwhile the other key: 200 valid calls.
                group.addTask {
                    var statuses: [HTTPResponse.Status] = []
                    for _ in 0..<200 { statuses.append(try await h.post(Self.good, key: Self.goodKey).status) }
                    return statuses
                }
                var all: [HTTPResponse.Status] = []
                for try await statuses in group { all += statuses }
                return all
            }
            #expect(goodStatuses.count == 200)
            #expect(goodStatuses.allSatisfy { $0 == .ok })
            // And a valid call right after the bad key's storm.
            #expect(try await h.post(Self.good, key: Self.goodKey).status == .ok)
            #expect(h.circuit == .closed)
            // The bad key's own circuit stopped it: far fewer upstream attempts than 160 calls x 3 attempts.
            #expect(h.failingRequests < 160)
            let refused = try await h.post(Self.failing, key: Self.badKey)
            #expect(refused.status == .serviceUnavailable)
            #expect(String(buffer: refused.body).contains("upstream_circuit_open"))
        }
    }

    @Test func anOutageThatFailsEveryKeyStillOpensTheCircuitWithinTheThreshold() async throws {
        try await withProxy { h in
            #expect(try await h.post(Self.good, key: Self.badKey).status == .ok)
            #expect(try await h.post(Self.good, key: Self.goodKey).status == .ok)
            let threshold = CircuitBreakerPolicy().failureThreshold
            var calls = 0
            while h.circuit != .open && calls < 2 * threshold {
                _ = try await h.post(Self.failing, key: calls % 2 == 0 ? Self.badKey : Self.goodKey)
                calls += 1
            }
            #expect(h.circuit == .open)
            #expect(h.failingRequests <= threshold)
            let before = h.stub.requests.count
            for key in [Self.goodKey, Self.badKey] {
                let refused = try await h.post(Self.good, key: key)
                #expect(refused.status == .serviceUnavailable)
                #expect(String(buffer: refused.body).contains("upstream_circuit_open"))
            }
            #expect(h.stub.requests.count == before)
        }
    }

    @Test func theModelListNeverWaitsOnTheBreaker() async throws {
        try await withProxy { h in
            for _ in 0..<CircuitBreakerPolicy().failureThreshold {
                _ = try await h.post(Self.failing, key: Self.goodKey)
            }
            #expect(h.circuit == .open)
            let before = h.stub.requests.count
            let models = try await h.client.execute(
                uri: "/v1/models", method: .get, headers: [.authorization: "Bearer \(Self.goodKey)"])
            #expect(models.status == .ok)
            #expect(String(buffer: models.body).contains(#""id":"gpt-4.1""#))
            #expect(h.stub.requests.count == before)
        }
    }
}
