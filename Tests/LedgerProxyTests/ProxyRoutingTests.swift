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

/// Routing, retries, fallback, circuit breakers and the priority pool, wired into the live proxy against the
/// fault-injecting stub upstream; asserted on the recorded rows. Backoff, cooldown and queue timeouts run on a
/// ``TestClock``, so no test waits through real backoff.
@Suite struct ProxyRoutingTests {
    static let clientKey = "hsl-routing-0123456789"
    static let prices = StaticPrices([
        .holysheep: [
            "gpt-4.1": ModelPrice(input: 320_000, cachedInput: 80_000, output: 1_280_000),
            "deepseek-v3.2": ModelPrice(input: 44_800, cachedInput: 11_200, output: 67_200),
        ],
        .official: [
            "gpt-4.1": ModelPrice(input: 2_000_000, cachedInput: 500_000, output: 8_000_000),
            "deepseek-v3.2": ModelPrice(input: 280_000, cachedInput: 70_000, output: 420_000),
        ],
    ])
    static let chatUsage = TokenUsage(promptTokens: 11, cachedPromptTokens: 3, completionTokens: 7, reasoningTokens: 2)

    struct Harness: Sendable {
        let client: any TestClientProtocol
        let recorder: MemoryUsageRecorder
        let stub: StubUpstream
        let routing: ProxyRouting
        let clock: TestClock

        func post(_ body: String, headers extra: HTTPFields = [:]) async throws -> TestResponse {
            var headers: HTTPFields = [.contentType: "application/json", .authorization: "Bearer \(clientKey)"]
            headers.append(contentsOf: extra)
            return try await client.execute(
                uri: "/v1/chat/completions", method: .post, headers: headers, body: ByteBuffer(string: body))
        }
    }

    /// The proxy with `holysheep` (the stub, or `primaryURL`) and `official` (the stub), routing from `settings`.
    private func withProxy(
        settings: [String: String] = [:], clock: TestClock = TestClock(.autoAdvance), primaryURL: String? = nil,
        primaryKey: String? = "hs-secret", timeout: Duration = .seconds(5),
        _ test: @Sendable (Harness) async throws -> Void
    ) async throws {
        let stub = StubUpstream()
        let recorder = MemoryUsageRecorder()
        let routingConfiguration = try RoutingConfiguration(settings: settings)
        try await stub.run { port in
            let stubURL = "http://127.0.0.1:\(port)/v1"
            let configuration = ProxyConfiguration(
                port: 0,
                providers: [
                    ProviderConfiguration(
                        name: "holysheep", baseURL: primaryURL ?? stubURL, kind: .holysheep,
                        apiKeyEnvironment: "HOLYSHEEP_API_KEY", apiKey: primaryKey, connectTimeout: .seconds(2),
                        timeout: timeout),
                    ProviderConfiguration(
                        name: "official", baseURL: stubURL, kind: .official, apiKeyEnvironment: "OFFICIAL_API_KEY",
                        apiKey: "official-secret", timeout: timeout),
                ], extraModels: ["claude-sonnet-4.5"], routing: routingConfiguration)
            let routing = ProxyRouting(configuration: routingConfiguration, clock: clock, random: { 0.5 })
            let upstream = try CurlUpstreamClient()
            defer { upstream.shutdown() }
            var logger = Logger(label: "routing-test")
            logger.logLevel = .critical
            let app = buildApplication(
                configuration: configuration, upstream: upstream, recorder: recorder,
                keys: StaticKeyVerifier([Self.clientKey: ClientIdentity(keyID: 1, name: "app", team: "atlas")]),
                prices: Self.prices, metrics: ProxyMetrics(factory: NOOPMetricsHandler.instance), routing: routing,
                logger: logger)
            try await app.test(.live) { client in
                try await test(Harness(client: client, recorder: recorder, stub: stub, routing: routing, clock: clock))
            }
        }
    }

    static func chat(fault: String? = nil, model: String = "gpt-4.1", extra: String = "") -> String {
        let faultMember = fault.map { #","x_stub_fault":"\#($0)""# } ?? ""
        return #"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]\#(faultMember)\#(extra)}"#
    }

    @Test func retriesA500ThenRecordsTheSuccessWithTwoAttempts() async throws {
        try await withProxy { h in
            let response = try await h.post(Self.chat(fault: "fail_first=1,status=500"))
            #expect(response.status == .ok)
            let event = try #require(h.recorder.events.only)
            #expect(event.status == .ok)
            #expect(event.attempts == 2)
            #expect(!event.fallbackUsed)
            #expect(event.provider == "holysheep")
            #expect(event.providerKind == .holysheep)
            #expect(event.usage == Self.chatUsage)
            #expect(h.stub.requests.count == 2)
            // The default backoff before the first retry (2 s, jitter centred), waited on the test clock.
            #expect(h.clock.recordedSleeps == [.seconds(2)])
        }
    }

    @Test func honoursRetryAfterOnA429() async throws {
        try await withProxy { h in
            let response = try await h.post(Self.chat(fault: "fail_first=1,status=429,retry_after=7"))
            #expect(response.status == .ok)
            let event = try #require(h.recorder.events.only)
            #expect(event.attempts == 2)
            #expect(event.status == .ok)
            #expect(h.clock.recordedSleeps == [.seconds(7)])
        }
    }

    @Test func retriesAHangPastTheTimeout() async throws {
        // The first attempt hangs 3 s past a 1 s timeout; the retry must answer within 1 s even on a loaded machine.
        try await withProxy(timeout: .milliseconds(1000)) { h in
            let response = try await h.post(Self.chat(fault: "fail_first=1,delay_ms=3000"))
            #expect(response.status == .ok)
            let event = try #require(h.recorder.events.only)
            #expect(event.attempts == 2)
            #expect(event.status == .ok)
            #expect(event.usage == Self.chatUsage)
        }
    }

    @Test func aTimeoutOnEveryAttemptNamesTheTimeoutAndItsValue() async throws {
        try await withProxy(
            settings: ["retry.max_attempts": "2", "fallback.default_chain": "holysheep"], timeout: .milliseconds(150)
        ) { h in
            let response = try await h.post(Self.chat(fault: "delay_ms=500"))
            #expect(response.status == .gatewayTimeout)
            let text = String(buffer: response.body)
            #expect(text.contains("the total timeout (150 ms) fired at provider 'holysheep'"))
            let event = try #require(h.recorder.events.only)
            #expect(event.status == .timeout)
            #expect(event.attempts == 2)
            #expect(event.errorType == "upstream_timeout")
        }
    }

    @Test func retriesAConnectionReset() async throws {
        try await withProxy { h in
            let response = try await h.post(Self.chat(fault: "fail_first=1,reset"))
            #expect(response.status == .ok)
            let event = try #require(h.recorder.events.only)
            #expect(event.attempts == 2)
            #expect(event.status == .ok)
            #expect(event.usage == Self.chatUsage)
        }
    }

    @Test func neverRetriesAStreamCutAfterBytesReachedTheClient() async throws {
        try await withProxy { h in
            // The client sees the stream end early (its reader throws); the row says what happened.
            _ = try? await h.post(#"{"model":"gpt-4.1","messages":[],"stream":true,"x_stub_fault":"cut_after=2"}"#)
            for _ in 0..<100 where h.recorder.events.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            let event = try #require(h.recorder.events.only)
            #expect(event.status == .interrupted)
            #expect(event.attempts == 1)
            #expect(event.usage == nil)
            #expect(h.stub.requests.count == 1)
        }
    }

    @Test func answersMalformedUpstreamJSONWithADiagnosisAndNoCost() async throws {
        try await withProxy { h in
            let response = try await h.post(Self.chat(fault: "malformed"))
            #expect(response.status == .badGateway)
            let text = String(buffer: response.body)
            #expect(text.contains(#""code":"upstream_malformed_response""#))
            #expect(text.contains("'holysheep'"))
            let event = try #require(h.recorder.events.only)
            #expect(event.status == .upstreamError)
            #expect(event.usage == nil)
            #expect(event.attempts == 1)
        }
    }

    @Test func neverRetriesA400AndPassesItThrough() async throws {
        try await withProxy { h in
            let response = try await h.post(Self.chat(fault: "status=400"))
            #expect(response.status == .badRequest)
            #expect(String(buffer: response.body).contains(#""code":"stub_400""#))
            let event = try #require(h.recorder.events.only)
            #expect(event.attempts == 1)
            #expect(event.httpStatus == 400)
            #expect(h.stub.requests.count == 1)
        }
    }

    @Test func diagnosesAnUpstream401WithTheProviderAndItsBaseURL() async throws {
        try await withProxy { h in
            let response = try await h.post(Self.chat(fault: "status=401"))
            #expect(response.status == .badGateway)
            let text = String(buffer: response.body)
            #expect(text.contains("provider 'holysheep' at http://127.0.0.1:"))
            #expect(text.contains("check the API key configured for 'holysheep' and its base_url"))
            let event = try #require(h.recorder.events.only)
            #expect(event.attempts == 1)
            #expect(event.errorType == "upstream_authentication_failed")
        }
    }

    @Test func fallsBackWhenThePrimaryIsDownAndPricesAtTheFallbacksList() async throws {
        // Port 1 on loopback refuses connections: the primary is down.
        try await withProxy(primaryURL: "http://127.0.0.1:1/v1") { h in
            let response = try await h.post(Self.chat())
            #expect(response.status == .ok)
            #expect(response.headers[.ledgerProvider] == "official")
            let event = try #require(h.recorder.events.only)
            #expect(event.status == .ok)
            #expect(event.fallbackUsed)
            #expect(event.provider == "official")
            #expect(event.providerKind == .official)
            #expect(event.attempts == 4)
            #expect(event.usage == Self.chatUsage)
            #expect(h.stub.requests.only?.authorization == "Bearer official-secret")
            // Two backoffs at the primary (2 s, 4 s), none before the fallback's first attempt.
            #expect(h.clock.recordedSleeps == [.seconds(2), .seconds(4)])
        }
    }

    @Test func aPrimaryWithoutAKeyIsSkippedAndTheFallbackServes() async throws {
        try await withProxy(primaryKey: nil) { h in
            let response = try await h.post(Self.chat())
            #expect(response.status == .ok)
            let event = try #require(h.recorder.events.only)
            #expect(event.provider == "official")
            #expect(event.providerKind == .official)
            #expect(event.fallbackUsed)
            #expect(event.attempts == 1)
            #expect(h.stub.requests.only?.authorization == "Bearer official-secret")
        }
    }

    @Test func opensTheCircuitAfterRepeatedFailuresAndClosesItAfterAProbe() async throws {
        let clock = TestClock(.manual)
        let settings = [
            "retry.max_attempts": "1", "breaker.failure_threshold": "2", "breaker.cooldown": "30s",
            "fallback.default_chain": "holysheep",
        ]
        try await withProxy(settings: settings, clock: clock) { h in
            for _ in 0..<2 {
                let failed = try await h.post(Self.chat(fault: "status=500"))
                #expect(failed.status == .internalServerError)
            }
            let skipped = try await h.post(Self.chat())
            #expect(skipped.status == .serviceUnavailable)
            #expect(skipped.headers[.retryAfter] == "30")
            #expect(String(buffer: skipped.body).contains(#""code":"upstream_circuit_open""#))
            #expect(h.stub.requests.count == 2)
            let health = try await h.client.execute(uri: "/healthz", method: .get)
            #expect(String(buffer: health.body).contains(#""name":"holysheep","#))
            #expect(String(buffer: health.body).contains(#""circuit":"open""#))

            clock.advance(by: .seconds(30))
            let probe = try await h.post(Self.chat())
            #expect(probe.status == .ok)
            #expect(h.routing.breakerSnapshots().first { $0.provider == "holysheep" }?.state == .closed)
            let events = h.recorder.events
            #expect(events.count == 4)
            #expect(events[2].attempts == 0 && events[2].errorType == "upstream_circuit_open")
            #expect(events[3].status == .ok)
        }
    }

    @Test func admitsQueuedCallsByPriorityUnderASaturatedPool() async throws {
        let settings = ["pool.max_concurrent": "1", "retry.max_attempts": "1"]
        try await withProxy(settings: settings, clock: TestClock(.manual)) { h in
            // Each call on a connection of its own (the test client's requests share one keep-alive connection).
            let port = try #require(h.client.port)
            let direct = try CurlUpstreamClient()
            defer { direct.shutdown() }
            @Sendable func send(_ body: String, priority: String? = nil) async throws {
                var headers = [("Authorization", "Bearer \(Self.clientKey)"), ("Content-Type", "application/json")]
                if let priority { headers.append(("X-Priority", priority)) }
                let response = try await direct.send(
                    UpstreamRequest(
                        method: "POST", url: "http://127.0.0.1:\(port)/v1/chat/completions", headers: headers,
                        body: ByteBuffer(string: body)))
                _ = try await response.collectBody(upTo: 1 << 20)
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                // The first call holds the only slot long enough for the other three to queue behind it even on a
                // loaded machine (the test waits on the queue itself, not on this delay).
                group.addTask { try await send(Self.chat(fault: "delay_ms=3000", extra: #","user":"first""#)) }
                #expect(await Self.eventually { h.routing.poolSnapshot()?.inFlight == 1 })
                for (index, priority) in ["1", "5", "3"].enumerated() {
                    group.addTask { try await send(Self.chat(extra: #","user":"p\#(priority)""#), priority: priority) }
                    #expect(await Self.eventually { h.routing.poolSnapshot()?.queued == index + 1 })
                }
                try await group.waitForAll()
            }
            let order = h.stub.requests.compactMap { $0.json?["user"] as? String }
            #expect(order == ["first", "p5", "p3", "p1"])
            let events = h.recorder.events
            #expect(events.count == 4)
            #expect(events.allSatisfy { $0.status == .ok && $0.queueWaitMicros != nil })
            #expect(events.allSatisfy { $0.inflightAtAdmission != nil })
        }
    }

    @Test func refusesOverflowWith429AndRetryAfterInOpenAIShape() async throws {
        let settings = ["pool.max_concurrent": "1", "pool.max_queued": "0", "pool.retry_after": "2s"]
        try await withProxy(settings: settings, clock: TestClock(.manual)) { h in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = try await h.post(Self.chat(fault: "delay_ms=300")) }
                #expect(await Self.eventually { h.routing.poolSnapshot()?.inFlight == 1 })
                // A second connection of its own (the test client's requests share one keep-alive connection).
                let port = try #require(h.client.port)
                let direct = try CurlUpstreamClient()
                defer { direct.shutdown() }
                let answer = try await direct.send(
                    UpstreamRequest(
                        method: "POST", url: "http://127.0.0.1:\(port)/v1/chat/completions",
                        headers: [("Authorization", "Bearer \(Self.clientKey)"), ("Content-Type", "application/json")],
                        body: ByteBuffer(string: Self.chat())))
                #expect(answer.status == 429)
                #expect(answer.header("retry-after") == "2")
                let text = String(buffer: try await answer.collectBody(upTo: 1 << 20))
                #expect(text.hasPrefix(#"{"error":{"message":"too many requests are waiting"#))
                #expect(text.contains(#""code":"rate_limit_exceeded""#))
                try await group.waitForAll()
            }
            #expect(h.stub.requests.count == 1)
            #expect(h.recorder.events.contains { $0.errorType == "rate_limit_exceeded" && $0.httpStatus == 429 })
        }
    }

    @Test func routesAutoByTaskTypeHeaderAndMetadata() async throws {
        try await withProxy { h in
            let byHeader = try await h.post(Self.chat(model: "auto"), headers: [.xTaskType: "code review"])
            #expect(byHeader.status == .ok)
            let byMetadata = try await h.post(
                Self.chat(model: "auto", extra: #","metadata":{"task_type":"deep analysis","priority":"4"}"#))
            #expect(byMetadata.status == .ok)
            let plain = try await h.post(Self.chat(model: "auto"))
            #expect(plain.status == .ok)
            let events = h.recorder.events
            #expect(events.map(\.requestedModel) == ["auto", "auto", "auto"])
            #expect(events.map(\.model) == ["deepseek-v3.2", "claude-sonnet-4.5", "gpt-4.1"])
            let sent = h.stub.requests.compactMap { $0.json?["model"] as? String }
            #expect(sent == ["deepseek-v3.2", "claude-sonnet-4.5", "gpt-4.1"])
            // metadata is a valid OpenAI field: it goes upstream untouched.
            #expect(h.stub.requests[1].json?["metadata"] != nil)
        }
    }

    @Test func refusesAnInvalidPriorityWith400() async throws {
        try await withProxy { h in
            let response = try await h.post(Self.chat(), headers: [.xPriority: "9"])
            #expect(response.status == .badRequest)
            #expect(String(buffer: response.body).contains("priority must be a whole number from 1 to 5"))
            #expect(h.stub.requests.isEmpty)
            #expect(h.recorder.events.only?.status == .clientError)
        }
    }

    /// Yields until `condition` holds (at most 10 s of real time); only waits for other tasks to get somewhere.
    static func eventually(_ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return condition()
    }
}

extension Array {
    fileprivate var only: Element? { count == 1 ? first : nil }
}
