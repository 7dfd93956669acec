import Foundation
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

/// Anthropic Messages and the OpenAI Responses API through the one pipeline, live on port 0 against the stub
/// upstream speaking each dialect (JSON and SSE, cut streams), asserted on the recorded rows.
@Suite struct DialectTests {
    static let clientKey = "hsl-dialects-0123456789"
    static let identity = ClientIdentity(keyID: 9, name: "claude-app", team: "atlas")
    static let prices = StaticPrices([
        .holysheep: [
            "gpt-4.1": ModelPrice(input: 320_000, cachedInput: 80_000, output: 1_280_000),
            "claude-sonnet-4.5": ModelPrice(
                input: 480_000, cachedInput: 48_000, output: 2_400_000, cacheWriteInput: 600_000,
                cacheWrite1hInput: 960_000),
        ],
        .official: [
            "gpt-4.1": ModelPrice(input: 2_000_000, cachedInput: 500_000, output: 8_000_000),
            "claude-sonnet-4.5": ModelPrice(
                input: 3_000_000, cachedInput: 300_000, output: 15_000_000, cacheWriteInput: 3_750_000,
                cacheWrite1hInput: 6_000_000),
            "gemini-2.5-flash": ModelPrice(input: 300_000, cachedInput: 75_000, output: 2_500_000),
            "deepseek-v3.2": ModelPrice(input: 280_000, cachedInput: 28_000, output: 420_000),
        ],
    ])

    struct Harness: Sendable {
        let client: any TestClientProtocol
        let recorder: MemoryUsageRecorder
        let stub: StubUpstream

        func post(
            _ path: String, _ body: String, headers extra: HTTPFields = [:], bearer: Bool = false,
            key: String? = DialectTests.clientKey
        ) async throws -> TestResponse {
            var headers: HTTPFields = [.contentType: "application/json"]
            if let key {
                if bearer { headers[.authorization] = "Bearer \(key)" } else { headers[.xAPIKey] = key }
            }
            headers.append(contentsOf: extra)
            return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
        }

        func send(_ method: HTTPRequest.Method, _ path: String) async throws -> TestResponse {
            try await client.execute(
                uri: path, method: method, headers: [.authorization: "Bearer \(DialectTests.clientKey)"],
                body: nil)
        }

        /// The row, once recorded (streams record in the body writer).
        func row(count: Int = 1) async throws -> UsageEvent {
            let deadline = ContinuousClock.now + .seconds(10)
            while recorder.events.count < count && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            return try #require(recorder.events.last)
        }
    }

    /// The proxy with `providers(stubURL)` (default: holysheep only, serving everything), on a test clock.
    static func withProxy(
        maxBodyBytes: Int = 16 << 20, admission: (any CallAdmission)? = nil,
        recorder: MemoryUsageRecorder = MemoryUsageRecorder(),
        providers: @escaping @Sendable (String) -> [ProviderConfiguration] = { url in
            [
                ProviderConfiguration(
                    name: "holysheep", baseURL: url, kind: .holysheep, apiKeyEnvironment: "HOLYSHEEP_API_KEY",
                    apiKey: "upstream-secret")
            ]
        },
        _ test: @Sendable (Harness) async throws -> Void
    ) async throws {
        let stub = StubUpstream()
        try await stub.run { port in
            var configuration = ProxyConfiguration(
                port: 0, maxBodyBytes: maxBodyBytes, providers: providers("http://127.0.0.1:\(port)/v1"))
            configuration.admission = admission
            configuration.routing.retry.maxAttemptsPerProvider = 1
            let upstream = try CurlUpstreamClient()
            defer { upstream.shutdown() }
            var logger = Logger(label: "dialect-test")
            logger.logLevel = .critical
            let routing = ProxyRouting(
                configuration: configuration.routing, clock: TestClock(.autoAdvance), random: { 0.5 })
            let app = buildApplication(
                configuration: configuration, upstream: upstream, recorder: recorder,
                keys: StaticKeyVerifier([Self.clientKey: Self.identity]), prices: Self.prices,
                metrics: ProxyMetrics(factory: NOOPMetricsHandler.instance), routing: routing, logger: logger)
            try await app.test(.live) { client in
                try await test(Harness(client: client, recorder: recorder, stub: stub))
            }
        }
    }

    static let message =
        #"{"model":"claude-sonnet-4.5","max_tokens":64,"messages":[{"role":"user","content":"hi"}],"x_client":[1,{"a":null}]}"#

    // MARK: Anthropic Messages

    @Test func aMessageIsRelayedUnchangedAndRecordedWithCacheReadsAndWrites() async throws {
        try await Self.withProxy { h in
            let response = try await h.post(
                "/v1/messages", Self.message,
                headers: [.anthropicVersion: "2023-06-01", .anthropicBeta: "prompt-caching-2024-07-31"])
            #expect(response.status == .ok)
            let text = String(buffer: response.body)
            #expect(text.hasPrefix(#"{"id":"msg_stub","type":"message""#))
            let event = try await h.row()
            #expect(event.status == .ok && event.endpoint == "/v1/messages")
            #expect(event.usage == StubUpstream.anthropicTokenUsage.withTier("standard"))
            #expect(event.model == "claude-sonnet-4.5" && event.keyID == 9 && !event.stream)
            #expect(event.upstreamRequestID == "req-stub-anthropic")
            let sent = try #require(h.stub.requests.only)
            #expect(sent.path == "/v1/messages")
            #expect(sent.body == Array(Self.message.utf8))
            #expect(sent.headers["anthropic-version"] == "2023-06-01")
            #expect(sent.headers["anthropic-beta"] == "prompt-caching-2024-07-31")
            #expect(sent.authorization == "Bearer upstream-secret")
        }
    }

    @Test func aStreamedMessageTakesInputFromMessageStartAndOutputFromMessageDelta() async throws {
        try await Self.withProxy { h in
            let body = #"{"model":"claude-sonnet-4.5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#
            let response = try await h.post("/v1/messages", body, bearer: true)
            #expect(response.status == .ok)
            let text = String(buffer: response.body)
            #expect(text.hasPrefix("event: message_start\n"))
            #expect(text.hasSuffix("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
            let event = try await h.row()
            #expect(event.status == .ok && event.stream)
            #expect(event.usage == StubUpstream.anthropicTokenUsage)
            // No default version sent twice, none missing: the SDK's or ours.
            #expect(h.stub.requests.only?.headers["anthropic-version"] == "2023-06-01")
        }
    }

    @Test func aMessageStreamCutMidWayIsInterruptedWithUsageMissing() async throws {
        try await Self.withProxy { h in
            let body = #"{"model":"claude-sonnet-4.5","max_tokens":64,"stream":true,"messages":[],"x_stub_fault":"cut_after=4"}"#
            _ = try? await h.post("/v1/messages", body)
            let event = try await h.row()
            #expect(event.status == .interrupted)
            #expect(event.usage == nil)
        }
    }

    @Test func badMessagesAreRefusedInAnthropicsShapeAndRecordedWithNoCost() async throws {
        try await Self.withProxy(maxBodyBytes: 4096) { h in
            let cases: [(String, Int, String)] = [
                (#"{"model":"claude-sonnet-4.5","messages":[]}"#, 400, "invalid_request_error"),
                (#"{"model":"claude-sonnet-4.5","max_tokens":5}"#, 400, "invalid_request_error"),
                (#"{"model":"claude-sonnet-4.5","max_tokens":5,"messages":"hi"}"#, 400, "invalid_request_error"),
                (#"{"model":"claude-sonnet-4.5","max_tokens":"5","messages":[]}"#, 400, "invalid_request_error"),
                (#"{"max_tokens":5,"messages":[]}"#, 400, "invalid_request_error"),
                (#"{"model":"claude-nope","max_tokens":5,"messages":[]}"#, 404, "not_found_error"),
                ("not json", 400, "invalid_request_error"),
                (#"{"model":"claude-sonnet-4.5","max_tokens":5,"messages":[],"pad":""# + String(repeating: "x", count: 5000) + "\"}", 413, "request_too_large"),
            ]
            for (index, (body, status, type)) in cases.enumerated() {
                let response = try await h.post("/v1/messages", body)
                #expect(Int(response.status.code) == status, "case \(index)")
                let json = try #require(
                    try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
                #expect(json["type"] as? String == "error", "case \(index)")
                #expect((json["error"] as? [String: Any])?["type"] as? String == type, "case \(index)")
                #expect((json["error"] as? [String: Any])?["message"] is String, "case \(index)")
                let event = try await h.row(count: index + 1)
                #expect(event.status == .clientError && event.usage == nil && event.httpStatus == status)
            }
            let unauthorised = try await h.post("/v1/messages", Self.message, key: "hsl-wrong")
            #expect(unauthorised.status == .unauthorized)
            #expect(String(buffer: unauthorised.body).contains(#""type":"authentication_error""#))
            #expect(h.stub.requests.isEmpty)
        }
    }

    @Test func ledgerFailuresAndWrongPathsAnswerInAnthropicsShape() async throws {
        struct DiskFull: Error, CustomStringConvertible {
            var description: String { "database or disk is full" }
        }
        let recorder = MemoryUsageRecorder()
        try await Self.withProxy(recorder: recorder) { h in
            let wrongMethod = try await h.client.execute(
                uri: "/v1/messages", method: .get, headers: [.xAPIKey: Self.clientKey], body: nil)
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(String(buffer: wrongMethod.body).hasPrefix(#"{"type":"error","error":{"type":"not_found_error""#))
            let unknown = try await h.post("/v1/messages/batches", "{}")
            #expect(unknown.status == .notFound)
            #expect(String(buffer: unknown.body).hasPrefix(#"{"type":"error","error":{"type":"not_found_error""#))
            recorder.failRecords(with: DiskFull())
            let failed = try await h.post("/v1/messages", Self.message)
            #expect(failed.status == .serviceUnavailable)
            let text = String(buffer: failed.body)
            #expect(text.hasPrefix(#"{"type":"error","error":{"type":"api_error","message":"The ledger could not record"#))
            #expect(text.contains("database or disk is full"))
            #expect(recorder.events.count == 2)
        }
    }

    @Test func theModelListTakesAnthropicsShapeForTheAnthropicSDK() async throws {
        try await Self.withProxy { h in
            let listed = try await h.client.execute(
                uri: "/v1/models", method: .get,
                headers: [.xAPIKey: Self.clientKey, .anthropicVersion: "2023-06-01"], body: nil)
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(listed.body.readableBytesView)) as? [String: Any])
            let data = try #require(json["data"] as? [[String: Any]])
            #expect(data.compactMap { $0["id"] as? String }.contains("claude-sonnet-4.5"))
            #expect(data.allSatisfy { $0["type"] as? String == "model" })
            #expect(json["has_more"] as? Bool == false)
            #expect(h.stub.requests.isEmpty)
        }
    }

    @Test func countTokensPassesThroughUnbilled() async throws {
        try await Self.withProxy { h in
            let response = try await h.post(
                "/v1/messages/count_tokens", #"{"model":"claude-sonnet-4.5","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(response.status == .ok)
            #expect(String(buffer: response.body) == #"{"input_tokens":25}"#)
            let event = try await h.row()
            #expect(event.status == .ok && event.usage == nil && event.model == nil)
            #expect(event.requestedModel == "claude-sonnet-4.5" && event.endpoint == "/v1/messages/count_tokens")
            #expect(h.stub.requests.only?.headers["anthropic-version"] == "2023-06-01")
        }
    }

    // MARK: OpenAI Responses

    static let response = #"{"model":"gpt-4.1","input":"hi","max_output_tokens":100}"#

    @Test func aResponseIsRelayedUnchangedAndRecordedWithCachedAndReasoningTokens() async throws {
        try await Self.withProxy { h in
            let response = try await h.post("/v1/responses", Self.response, bearer: true)
            #expect(response.status == .ok)
            #expect(String(buffer: response.body) == StubUpstream.responseJSON(id: "resp_stub", model: "gpt-4.1"))
            let event = try await h.row()
            #expect(event.status == .ok && event.endpoint == "/v1/responses")
            #expect(event.usage == StubUpstream.responsesTokenUsage.withTier("default"))
            #expect(h.stub.requests.only?.body == Array(Self.response.utf8))
        }
    }

    @Test func aStreamedResponseTakesUsageFromResponseCompleted() async throws {
        try await Self.withProxy { h in
            let body = #"{"model":"gpt-4.1","input":[{"role":"user","content":"hi"}],"stream":true}"#
            let response = try await h.post("/v1/responses", body, bearer: true)
            let text = String(buffer: response.body)
            #expect(text.hasPrefix("event: response.created\n"))
            #expect(text.contains("event: response.completed\n"))
            let event = try await h.row()
            #expect(event.status == .ok && event.stream)
            #expect(event.usage == StubUpstream.responsesTokenUsage.withTier("default"))
            // The body went upstream as sent: no stream_options added in this dialect.
            #expect(h.stub.requests.only?.body == Array(body.utf8))
        }
    }

    @Test func aResponseStreamCutBeforeCompletedIsInterruptedNeverPricedAtZero() async throws {
        try await Self.withProxy { h in
            // A stream that ends without response.completed, then one cut mid-way (its connection goes down with it).
            for fault in ["no_usage", "cut_after=5"] {
                let body = #"{"model":"gpt-4.1","input":"hi","stream":true,"x_stub_fault":"\#(fault)"}"#
                _ = try? await h.post("/v1/responses", body, bearer: true)
            }
            let cut = try await h.row(count: 2)
            let events = h.recorder.events
            #expect(events.map(\.status) == [.interrupted, .interrupted])
            #expect(events.allSatisfy { $0.usage == nil })
            #expect(events.first?.errorType == "upstream_stream_incomplete")
            #expect(cut.errorType == "upstream_interrupted")
        }
    }

    @Test func badResponsesRequestsAreRefusedInOpenAIsShape() async throws {
        try await Self.withProxy { h in
            let missing = try await h.post("/v1/responses", #"{"model":"gpt-4.1"}"#, bearer: true)
            #expect(missing.status == .badRequest)
            #expect(String(buffer: missing.body).contains(#""param":"input","code":"missing_required_parameter""#))
            let typed = try await h.post("/v1/responses", #"{"model":"gpt-4.1","input":7}"#, bearer: true)
            #expect(String(buffer: typed.body).contains(#""code":"invalid_type""#))
            let unknown = try await h.post("/v1/responses", #"{"model":"gpt-9","input":"x"}"#, bearer: true)
            #expect(unknown.status == .notFound)
            #expect(String(buffer: unknown.body).contains(#""code":"model_not_found""#))
            _ = try await h.row(count: 3)
            #expect(h.recorder.events.allSatisfy { $0.status == .clientError && $0.usage == nil })
            #expect(h.stub.requests.isEmpty)
        }
    }

    @Test func storedResponsesPassThroughUnbilled() async throws {
        try await Self.withProxy { h in
            let got = try await h.send(.get, "/v1/responses/resp_123?include=x")
            #expect(String(buffer: got.body).hasPrefix(#"{"id":"resp_123","object":"response""#))
            let items = try await h.send(.get, "/v1/responses/resp_123/input_items")
            #expect(String(buffer: items.body).contains(#""object":"list""#))
            let deleted = try await h.send(.delete, "/v1/responses/resp_123")
            #expect(String(buffer: deleted.body).contains(#""deleted":true"#))
            _ = try await h.row(count: 3)
            let events = h.recorder.events
            #expect(events.map(\.endpoint) == ["/v1/responses/{id}", "/v1/responses/{id}/input_items", "/v1/responses/{id}"])
            #expect(events.allSatisfy { $0.status == .ok && $0.usage == nil && $0.model == nil })
            #expect(h.stub.requests.map(\.path) == ["/v1/responses/resp_123", "/v1/responses/resp_123/input_items", "/v1/responses/resp_123"])
            #expect(h.stub.requests.map(\.method) == ["GET", "GET", "DELETE"])
        }
    }

    // MARK: each model's own vendor

    /// holysheep is down (nothing listens); each vendor is the stub under its own key.
    static func vendors(_ url: String) -> [ProviderConfiguration] {
        func vendor(_ base: ProviderConfiguration, key: String) -> ProviderConfiguration {
            var provider = base
            provider.baseURL = url
            provider.apiKey = key
            provider.timeout = .seconds(5)
            return provider
        }
        var down = ProviderConfiguration.holysheep
        down.baseURL = "http://127.0.0.1:1/v1"
        down.apiKey = "hs-secret"
        return [
            down, vendor(.official, key: "openai-secret"), vendor(.anthropic, key: "anthropic-secret"),
            vendor(.gemini, key: "gemini-secret"), vendor(.deepseek, key: "deepseek-secret"),
        ]
    }

    @Test func eachSeedModelFallsBackToItsOwnVendorUnderItsNameAndAuth() async throws {
        try await Self.withProxy(providers: Self.vendors) { h in
            let calls: [(path: String, body: String, provider: String, sent: String, auth: String?, apiKey: String?)] = [
                ("/v1/chat/completions", #"{"model":"gpt-4.1","messages":[{"role":"user","content":"x"}]}"#,
                 "official", "gpt-4.1", "Bearer openai-secret", nil),
                ("/v1/responses", #"{"model":"gpt-4.1","input":"x"}"#, "official", "gpt-4.1", "Bearer openai-secret", nil),
                ("/v1/messages", #"{"model":"claude-sonnet-4.5","max_tokens":5,"messages":[]}"#,
                 "anthropic", "claude-sonnet-4-5", nil, "anthropic-secret"),
                ("/v1/chat/completions", #"{"model":"claude-sonnet-4.5","messages":[{"role":"user","content":"x"}]}"#,
                 "anthropic", "claude-sonnet-4-5", "Bearer anthropic-secret", "anthropic-secret"),
                ("/v1/chat/completions", #"{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"x"}]}"#,
                 "gemini", "gemini-2.5-flash", "Bearer gemini-secret", nil),
                ("/v1/chat/completions", #"{"model":"deepseek-v3.2","messages":[{"role":"user","content":"x"}]}"#,
                 "deepseek", "deepseek-chat", "Bearer deepseek-secret", nil),
            ]
            for (index, call) in calls.enumerated() {
                let response = try await h.post(call.path, call.body, bearer: true)
                #expect(response.status == .ok, "call \(index)")
                #expect(response.headers[.ledgerProvider] == call.provider, "call \(index)")
                #expect(response.headers[.ledgerUpstreamModel] == call.sent, "call \(index)")
                let event = try await h.row(count: index + 1)
                #expect(event.provider == call.provider && event.providerKind == .official && event.fallbackUsed)
                #expect(event.upstreamModel == call.sent, "call \(index): the row records the model id sent")
                let sent = try #require(h.stub.requests.last)
                #expect(sent.json?["model"] as? String == call.sent, "call \(index)")
                #expect(sent.authorization == call.auth, "call \(index)")
                #expect(sent.headers["x-api-key"] == call.apiKey, "call \(index)")
            }
            // Priced as the ledger's model, at the vendor's (official) list.
            #expect(h.recorder.events.map(\.model) == [
                "gpt-4.1", "gpt-4.1", "claude-sonnet-4.5", "claude-sonnet-4.5", "gemini-2.5-flash", "deepseek-v3.2",
            ])
            // Gemini's vendor does not speak Anthropic's dialect: only the primary is tried (down), never gemini.
            let before = h.stub.requests.count
            let refused = try await h.post("/v1/messages", #"{"model":"gemini-2.5-flash","max_tokens":5,"messages":[]}"#)
            #expect([502, 503].contains(Int(refused.status.code)))
            #expect(String(buffer: refused.body).contains(#""type":"error""#))
            #expect(h.stub.requests.count == before)
        }
    }

    @Test func aModelNoProviderServesInTheDialectIsAClearClientError() async throws {
        try await Self.withProxy(providers: { url in
            var official = ProviderConfiguration.official
            official.baseURL = url
            official.apiKey = "openai-secret"
            return [official]
        }) { h in
            let refused = try await h.post("/v1/messages", Self.message)
            #expect(refused.status == .notFound)
            let text = String(buffer: refused.body)
            #expect(text.hasPrefix(#"{"type":"error","error":{"type":"not_found_error""#))
            #expect(text.contains("no configured provider serves model 'claude-sonnet-4.5' in the anthropic dialect"))
            let event = try await h.row()
            #expect(event.status == .clientError && event.errorType == "model_not_served")
            #expect(h.stub.requests.isEmpty)
        }
    }
}

extension TokenUsage {
    func withTier(_ tier: String?) -> TokenUsage {
        var usage = self
        usage.serviceTier = tier
        return usage
    }
}

extension Array {
    fileprivate var only: Element? { count == 1 ? first : nil }
}
