import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerCore
import LedgerTestSupport
import Logging
import Metrics
import Testing

@testable import LedgerProxy
import LedgerRouting

/// The whole proxy, live on port 0, against the stub upstream on port 0.
@Suite struct ProxyApplicationTests {
    static let clientKey = "hsl-testkey-0123456789"
    static let identity = ClientIdentity(keyID: 7, name: "atlas-app", team: "atlas")
    static let prices = StaticPrices([
        .holysheep: [
            "gpt-4.1": ModelPrice(input: 320_000, cachedInput: 80_000, output: 1_280_000),
            "text-embedding-3-small": ModelPrice(input: 3_200, cachedInput: 3_200, output: 0),
        ],
        .official: ["gpt-4.1": ModelPrice(input: 2_000_000, cachedInput: 500_000, output: 8_000_000)],
    ])

    struct Harness: Sendable {
        let client: any TestClientProtocol
        let recorder: MemoryUsageRecorder
        let stub: StubUpstream
        /// The proxy's own upstream client.
        let upstream: CurlUpstreamClient

        func post(
            _ path: String, _ body: String, key: String? = ProxyApplicationTests.clientKey, tags: String? = nil
        ) async throws -> TestResponse {
            var headers: HTTPFields = [.contentType: "application/json"]
            if let key { headers[.authorization] = "Bearer \(key)" }
            if let tags { headers[HTTPField.Name("X-Ledger-Tags")!] = tags }
            return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
        }
    }

    private func withProxy(
        upstreamKey: String? = "upstream-secret", maxBodyBytes: Int = 16 << 20, timeout: Duration = .seconds(5),
        _ test: @Sendable (Harness) async throws -> Void
    ) async throws {
        let stub = StubUpstream()
        let recorder = MemoryUsageRecorder()
        try await stub.run { port in
            let configuration = ProxyConfiguration(
                port: 0, maxBodyBytes: maxBodyBytes,
                providers: [
                    ProviderConfiguration(
                        name: "holysheep", baseURL: "http://127.0.0.1:\(port)/v1", kind: .holysheep,
                        apiKeyEnvironment: "HOLYSHEEP_API_KEY", apiKey: upstreamKey, timeout: timeout)
                ])
            let upstream = try CurlUpstreamClient()
            defer { upstream.shutdown() }
            var logger = Logger(label: "proxy-test")
            logger.logLevel = .critical
            // Retries as configured by default, but backoff waits cost no real time.
            let routing = ProxyRouting(
                configuration: configuration.routing, clock: TestClock(.autoAdvance), random: { 0.5 })
            let app = buildApplication(
                configuration: configuration, upstream: upstream, recorder: recorder,
                keys: StaticKeyVerifier([Self.clientKey: Self.identity]), prices: Self.prices,
                metrics: ProxyMetrics(factory: NOOPMetricsHandler.instance), routing: routing, logger: logger)
            try await app.test(.live) { client in
                try await test(Harness(client: client, recorder: recorder, stub: stub, upstream: upstream))
            }
        }
    }

    static let chat =
        #"{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"temperature":0.70,"x_client_field":[1,{"a":null}]}"#
    static let chatUsage = TokenUsage(promptTokens: 11, cachedPromptTokens: 3, completionTokens: 7, reasoningTokens: 2)

    @Test func relaysANonStreamedChatUnchangedAndRecordsItsUsage() async throws {
        try await withProxy { h in
            let response = try await h.post("/v1/chat/completions", Self.chat, tags: " project=atlas , env=prod ")
            #expect(response.status == .ok)
            let body = String(buffer: response.body)
            #expect(body.hasPrefix(#"{"id":"stub-1","object":"chat.completion""#))
            #expect(body.contains(#""x_stub_unknown":{"kept":true}"#))
            #expect(response.headers[HTTPField.Name("x-ledger-call-id")!] == "1")
            #expect(response.headers[HTTPField.Name("x-ledger-provider")!] == "holysheep")
            #expect(response.headers[HTTPField.Name("x-latency-ms")!].flatMap(Int.init) != nil)
            #expect(response.headers[HTTPField.Name("x-request-id")!] == "req-stub-1")
            // Recorded before the reply was complete: the row is there as soon as the client has the body.
            let event = try #require(h.recorder.events.only)
            #expect(event.id == 1)
            #expect(event.status == .ok)
            #expect(event.httpStatus == 200)
            #expect(event.usage == Self.chatUsage)
            #expect(event.model == "gpt-4.1")
            #expect(event.requestedModel == "gpt-4.1")
            #expect(event.provider == "holysheep")
            #expect(event.providerKind == .holysheep)
            #expect(event.keyID == 7)
            #expect(event.team == "atlas")
            #expect(event.tags == "project=atlas,env=prod")
            #expect(event.upstreamRequestID == "req-stub-1")
            #expect(!event.stream)
            #expect(event.latencyMicros > 0 && (event.upstreamLatencyMicros ?? 0) > 0)
            // Upstream got the client's bytes unchanged, with the provider key instead of the client's.
            let received = try #require(h.stub.requests.only)
            #expect(String(decoding: received.body, as: UTF8.self) == Self.chat)
            #expect(received.authorization == "Bearer upstream-secret")
        }
    }

    static let streamedChat = #"{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"stream":true}"#

    @Test func streamsAndHidesTheUsageChunkTheClientDidNotAskFor() async throws {
        try await withProxy { h in
            let response = try await h.post("/v1/chat/completions", Self.streamedChat)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/event-stream")
            let events = String(buffer: response.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.count == 5)
            #expect(events.last == "data: [DONE]")
            #expect(!events.contains { $0.contains("prompt_tokens") })
            // Chunks as the client would have had them without the forced include_usage: no "usage":null member.
            #expect(!events.contains { $0.contains(#""usage""#) })
            #expect(events.dropLast().allSatisfy { $0.hasPrefix("data: {") && $0.hasSuffix("}") })
            #expect(events[0].hasSuffix(#""finish_reason":null}]}"#))
            let event = try #require(h.recorder.events.only)
            #expect(event.stream)
            #expect(event.status == .ok)
            #expect(event.usage == Self.chatUsage)
            #expect(event.timeToFirstTokenMicros != nil)
            let upstream = try #require(h.stub.requests.only?.json)
            #expect((upstream["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)
        }
    }

    @Test func streamsTheUsageChunkWhenTheClientAskedForIt() async throws {
        try await withProxy { h in
            let body = #"{"model":"gpt-4.1","messages":[],"stream":true,"stream_options":{"include_usage":true}}"#
            let response = try await h.post("/v1/chat/completions", body)
            let events = String(buffer: response.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.count == 6)
            #expect(events[4].contains(#""choices":[],"usage":{"prompt_tokens":11"#))
            // The client asked: chunks come unchanged, "usage":null included.
            #expect(events[0].hasSuffix(#""usage":null}"#))
            #expect(h.recorder.events.only?.usage == Self.chatUsage)
            #expect(String(decoding: try #require(h.stub.requests.only).body, as: UTF8.self) == body)
        }
    }

    @Test func recordsACutStreamAsInterruptedWithoutUsage() async throws {
        try await withProxy { h in
            let body = #"{"model":"gpt-4.1","messages":[],"stream":true,"x_stub_fault":"cut_after=2"}"#
            _ = try? await h.post("/v1/chat/completions", body)
            for _ in 0..<100 where h.recorder.events.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            let event = try #require(h.recorder.events.only)
            #expect(event.status == .interrupted)
            #expect(event.usage == nil)
            #expect(event.errorType == "upstream_interrupted")
        }
    }

    @Test func recordsAClientThatLeavesMidStreamAsCancelledAndAbortsTheUpstream() async throws {
        try await withProxy { h in
            let port = try #require(h.client.port)
            let curl = try CurlUpstreamClient()
            defer { curl.shutdown() }
            let body = #"{"model":"gpt-4.1","messages":[],"stream":true,"x_stub_fault":"chunk_delay_ms=100"}"#
            let response = try await curl.send(
                UpstreamRequest(
                    method: "POST", url: "http://127.0.0.1:\(port)/v1/chat/completions",
                    headers: [("Authorization", "Bearer \(Self.clientKey)")], body: ByteBuffer(string: body)))
            var iterator = response.body.makeAsyncIterator()
            let first = try #require(try await iterator.next())
            #expect(String(buffer: first).hasPrefix("data: {"))
            response.cancel()
            for _ in 0..<300 where h.recorder.events.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            let event = try #require(h.recorder.events.only)
            #expect(event.status == .cancelled)
            #expect(event.usage == nil)
            for _ in 0..<300 where h.stub.streamWriteFailures.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            #expect(h.stub.streamWriteFailures == [true])
        }
    }

    @Test func cancelsANonStreamedCallUpstreamWhenItsClientLeaves() async throws {
        try await withProxy(timeout: .seconds(30)) { h in
            let port = try #require(h.client.port)
            let curl = try CurlUpstreamClient()
            defer { curl.shutdown() }
            // The stub answers after 3 s; the client gives up while the proxy waits for it and closes its connection.
            let body = #"{"model":"gpt-4.1","messages":[],"x_stub_fault":"delay_ms=3000"}"#
            let started = ContinuousClock.now
            let client = Task {
                try await curl.send(
                    UpstreamRequest(
                        method: "POST", url: "http://127.0.0.1:\(port)/v1/chat/completions",
                        headers: [("Authorization", "Bearer \(Self.clientKey)")], body: ByteBuffer(string: body)))
            }
            for _ in 0..<300 where h.upstream.activeTransfers == 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(h.upstream.activeTransfers == 1)
            client.cancel()
            await #expect(throws: UpstreamError.cancelled) { _ = try await client.value }
            for _ in 0..<200 where h.recorder.events.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            let event = try #require(h.recorder.events.only)
            #expect(event.status == .cancelled)
            #expect(event.usage == nil)
            #expect(h.upstream.activeTransfers == 0)
            // Well before the stub would have answered: the proxy aborted its upstream transfer.
            #expect(ContinuousClock.now - started < .milliseconds(2500))
        }
    }

    @Test func doesNotCancelCallsOnAConnectionTheClientKeepsOpen() async throws {
        try await withProxy { h in
            for _ in 0..<3 {
                let response = try await h.post("/v1/chat/completions", Self.chat)
                #expect(response.status == .ok)
            }
            #expect(h.recorder.events.map(\.status) == [.ok, .ok, .ok])
            #expect(h.upstream.activeTransfers == 0)
        }
    }

    @Test func aStreamMayRunPastTheTimeoutWhileItKeepsSending() async throws {
        try await withProxy(timeout: .milliseconds(1000)) { h in
            // Six chunks 300 ms apart: ~1.8 s in all, never silent for 1 s (a margin of 0.7 s per chunk, so a
            // loaded machine's scheduling stalls do not fire the timeout).
            let body = #"{"model":"gpt-4.1","messages":[],"stream":true,"x_stub_fault":"chunk_delay_ms=300"}"#
            let response = try await h.post("/v1/chat/completions", body)
            let events = String(buffer: response.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.last == "data: [DONE]")
            let event = try #require(h.recorder.events.only)
            #expect(event.status == .ok)
            #expect(event.usage == Self.chatUsage)
            #expect(event.latencyMicros > 1_000_000)
        }
    }

    @Test func aStreamSilentForLongerThanTheTimeoutIsCutAndRecordedAsATimeout() async throws {
        try await withProxy(timeout: .milliseconds(300)) { h in
            let body = #"{"model":"gpt-4.1","messages":[],"stream":true,"x_stub_fault":"chunk_delay_ms=5000"}"#
            let started = ContinuousClock.now
            _ = try? await h.post("/v1/chat/completions", body)
            for _ in 0..<200 where h.recorder.events.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            let event = try #require(h.recorder.events.only)
            #expect(event.status == .timeout)
            #expect(event.errorType == "upstream_timeout")
            #expect(event.usage == nil)
            // Cut by the 0.3 s silence limit, long before the stub's next chunk at 5 s.
            #expect(ContinuousClock.now - started < .milliseconds(4000))
            #expect(h.upstream.activeTransfers == 0)
        }
    }

    @Test func answersAHungUpstreamWith504AndRecordsATimeout() async throws {
        try await withProxy(timeout: .milliseconds(200)) { h in
            let response = try await h.post(
                "/v1/chat/completions", #"{"model":"gpt-4.1","messages":[],"x_stub_fault":"delay_ms=700"}"#)
            #expect(response.status == .gatewayTimeout)
            #expect(String(buffer: response.body).contains("total timeout"))
            let event = try #require(h.recorder.events.only)
            #expect(event.status == .timeout)
            #expect(event.httpStatus == 504)
            #expect(event.usage == nil)
        }
    }

    @Test func relaysEmbeddingsAndCompletions() async throws {
        try await withProxy { h in
            let embedding = try await h.post("/v1/embeddings", #"{"model":"text-embedding-3-small","input":"hello"}"#)
            #expect(embedding.status == .ok)
            #expect(String(buffer: embedding.body).contains(#""embedding":[0.25,-0.5,0.125]"#))
            let completion = try await h.post("/v1/completions", #"{"model":"gpt-4.1","prompt":"Say"}"#)
            #expect(completion.status == .ok)
            let events = h.recorder.events
            #expect(events.map(\.endpoint) == ["/v1/embeddings", "/v1/completions"])
            #expect(events[0].usage == TokenUsage(promptTokens: 5, completionTokens: 0))
            #expect(events[1].usage == TokenUsage(promptTokens: 4, completionTokens: 6))
        }
    }

    @Test func listsThePricedModelsAndRecordsTheCall() async throws {
        try await withProxy { h in
            let response = try await h.client.execute(
                uri: "/v1/models", method: .get, headers: [.authorization: "Bearer \(Self.clientKey)"])
            #expect(response.status == .ok)
            let body = String(buffer: response.body)
            #expect(body.hasPrefix(#"{"object":"list","data":[{"id":"gpt-4.1","object":"model""#))
            #expect(body.contains(#""id":"text-embedding-3-small""#))
            // Answered from the price book: no upstream request, so no provider or circuit can make it fail.
            #expect(h.stub.requests.isEmpty)
            #expect(h.recorder.events.only?.status == .ok)
            #expect(h.recorder.events.only?.usage == nil)
        }
    }

    @Test func passesUpstreamErrorsThroughAndRecordsThem() async throws {
        try await withProxy { h in
            let response = try await h.post(
                "/v1/chat/completions", #"{"model":"gpt-4.1","messages":[],"x_stub_fault":"status=429"}"#)
            #expect(response.status == .tooManyRequests)
            #expect(String(buffer: response.body).contains(#""code":"stub_429""#))
            let event = try #require(h.recorder.events.only)
            #expect(event.status == .upstreamError)
            #expect(event.httpStatus == 429)
            #expect(event.usage == nil)
        }
    }

    struct BadCase: Sendable, CustomStringConvertible {
        var path: String
        var method: HTTPRequest.Method = .post
        var body: String
        var key: String? = ProxyApplicationTests.clientKey
        var status: HTTPResponse.Status
        var code: String?
        var description: String { "\(method) \(path) \(body) → \(status.code)" }
    }

    static let badCases: [BadCase] = [
        BadCase(
            path: "/v1/chat/completions", body: Self.chat, key: "hsl-wrong", status: .unauthorized,
            code: "invalid_api_key"),
        BadCase(
            path: "/v1/chat/completions", body: Self.chat, key: nil, status: .unauthorized, code: "invalid_api_key"),
        BadCase(
            path: "/v1/chat/completions", body: #"{"model":"gpt-4.1","messages":[}"#, status: .badRequest, code: nil),
        BadCase(
            path: "/v1/chat/completions", body: #"{"messages":[]}"#, status: .badRequest,
            code: "missing_required_parameter"),
        BadCase(
            path: "/v1/chat/completions", body: #"{"model":"gpt-4.1"}"#, status: .badRequest,
            code: "missing_required_parameter"),
        BadCase(
            path: "/v1/embeddings", body: #"{"model":"text-embedding-3-small"}"#, status: .badRequest,
            code: "missing_required_parameter"),
        BadCase(
            path: "/v1/chat/completions", body: #"{"model":"gpt-9","messages":[]}"#, status: .notFound,
            code: "model_not_found"),
        BadCase(path: "/v1/chat/completion", body: Self.chat, status: .notFound, code: "not_found"),
        BadCase(
            path: "/v1/chat/completions", method: .get, body: "", status: .methodNotAllowed, code: "method_not_allowed"),
    ]

    @Test(arguments: badCases)
    func refusesBadRequestsInOpenAIShapeAndRecordsThem(_ bad: BadCase) async throws {
        try await withProxy { h in
            var headers: HTTPFields = [.contentType: "application/json"]
            if let key = bad.key { headers[.authorization] = "Bearer \(key)" }
            let response = try await h.client.execute(
                uri: bad.path, method: bad.method, headers: headers, body: ByteBuffer(string: bad.body))
            #expect(response.status == bad.status)
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
            let error = try #require(json["error"] as? [String: Any])
            #expect(error["message"] is String)
            #expect(error["type"] as? String == "invalid_request_error")
            #expect(error.keys.contains("param"))
            #expect(error["code"] as? String == bad.code)
            let event = try #require(h.recorder.events.only)
            #expect(event.status == .clientError)
            #expect(event.httpStatus == Int(bad.status.code))
            #expect(event.usage == nil)
            #expect(response.headers[HTTPField.Name("x-ledger-call-id")!] == String(event.id))
            #expect(h.stub.requests.isEmpty)
        }
    }

    @Test func refusesABodyOverTheLimitWith413() async throws {
        try await withProxy(maxBodyBytes: 64) { h in
            let response = try await h.post("/v1/chat/completions", Self.chat)
            #expect(response.status == .contentTooLarge)
            #expect(h.recorder.events.only?.errorType == "request_too_large")
            #expect(h.stub.requests.isEmpty)
        }
    }

    @Test func answersClearlyWhenTheUpstreamKeyIsMissing() async throws {
        try await withProxy(upstreamKey: nil) { h in
            let response = try await h.post("/v1/chat/completions", Self.chat)
            #expect(response.status == .serviceUnavailable)
            #expect(String(buffer: response.body).contains("HOLYSHEEP_API_KEY"))
            #expect(h.recorder.events.only?.status == .upstreamError)
            let health = try await h.client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .serviceUnavailable)
            #expect(String(buffer: health.body).contains("missing:HOLYSHEEP_API_KEY"))
            #expect(String(buffer: health.body).contains(#""ledger":"unchecked""#))
        }
    }

    @Test func healthIsOKWithAKeyAndAWritableLedger() async throws {
        try await withProxy { h in
            let health = try await h.client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
            #expect(String(buffer: health.body).hasPrefix(#"{"status":"ok""#))
            #expect(h.recorder.events.isEmpty)
        }
    }

    @Test func failsTheCallWhenTheLedgerCannotRecordIt() async throws {
        struct LedgerDown: Error {}
        try await withProxy { h in
            h.recorder.failRecords(with: LedgerDown())
            let response = try await h.post("/v1/chat/completions", Self.chat)
            #expect(response.status == .serviceUnavailable)
            #expect(String(buffer: response.body).contains("ledger_unavailable"))
        }
    }
}

extension Array {
    /// The single element, or nil when there are none or several.
    fileprivate var only: Element? { count == 1 ? first : nil }
}
