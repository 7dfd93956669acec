import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerCore
import LedgerTestSupport
import Logging
import Metrics
import Synchronization
import Testing

@testable import LedgerProxy

/// "Acknowledged means recorded": the proxy commits a call's row before the client gets the reply's last byte.
/// The recorder here holds every commit until the test releases it, and the client (the project's libcurl client,
/// which hands over a streamed body as it arrives) shows what reached it meanwhile.
@Suite(.timeLimit(.minutes(1))) struct CommitOrderingTests {
    static let clientKey = "hsl-ordering-0123456789"

    /// A recorder whose commits wait until `release()`.
    final class HeldRecorder: UsageRecorder {
        let inner = MemoryUsageRecorder()
        private let state = Mutex<(holding: Bool, waiting: [CheckedContinuation<Void, Never>])>((true, []))

        func reserveCallID() -> Int64 { inner.reserveCallID() }

        func record(_ event: UsageEvent) async throws {
            await withCheckedContinuation { continuation in
                let hold = state.withLock { s -> Bool in
                    if s.holding { s.waiting.append(continuation) }
                    return s.holding
                }
                if !hold { continuation.resume() }
            }
            try await inner.record(event)
        }

        /// Records like ``record(_:)``, keeping what the proxy said of the call's company (``companyHints``).
        func recordCosted(_ event: UsageEvent, othersInProgress: Bool) async throws -> Int64? {
            hints.withLock { $0[event.id] = othersInProgress }
            try await record(event)
            return nil
        }

        private let hints = Mutex<[Int64: Bool]>([:])

        /// For each call id recorded (or being recorded), whether other calls were in progress as it was.
        var companyHints: [Int64: Bool] { hints.withLock { $0 } }

        /// Commits held so far.
        var held: Int { state.withLock { $0.waiting.count } }

        func release() {
            let waiting = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.holding = false
                defer { s.waiting = [] }
                return s.waiting
            }
            for continuation in waiting { continuation.resume() }
        }
    }

    private func withProxy(_ test: @Sendable (Int, HeldRecorder, CurlUpstreamClient) async throws -> Void)
        async throws
    {
        let stub = StubUpstream()
        let recorder = HeldRecorder()
        try await stub.run { port in
            let configuration = ProxyConfiguration(
                port: 0,
                providers: [
                    ProviderConfiguration(
                        name: "holysheep", baseURL: "http://127.0.0.1:\(port)/v1", kind: .holysheep,
                        apiKeyEnvironment: "HOLYSHEEP_API_KEY", apiKey: "upstream-secret")
                ])
            let upstream = try CurlUpstreamClient()
            defer { upstream.shutdown() }
            let client = try CurlUpstreamClient()
            defer { client.shutdown() }
            var logger = Logger(label: "ordering-test")
            logger.logLevel = .critical
            let app = buildApplication(
                configuration: configuration, upstream: upstream, recorder: recorder,
                keys: StaticKeyVerifier([Self.clientKey: ClientIdentity(keyID: 3, name: "app", team: nil)]),
                prices: DialectTests.prices, metrics: ProxyMetrics(factory: NOOPMetricsHandler.instance),
                routing: ProxyRouting(configuration: configuration.routing, clock: TestClock(.autoAdvance)),
                logger: logger)
            try await app.test(.live) { testClient in
                try await test(try #require(testClient.port), recorder, client)
            }
        }
    }

    private func request(
        _ port: Int, stream: Bool, path: String = "/v1/chat/completions", body custom: String? = nil
    ) -> UpstreamRequest {
        let body = custom ?? #"{"model":"gpt-4.1","stream":\#(stream),"messages":[{"role":"user","content":"hi"}]}"#
        return UpstreamRequest(
            method: "POST", url: "http://127.0.0.1:\(port)\(path)",
            headers: [("Authorization", "Bearer \(Self.clientKey)"), ("Content-Type", "application/json")],
            body: ByteBuffer(string: body), connectTimeout: .seconds(5), totalTimeout: .seconds(30),
            timeoutIsIdle: true)
    }

    private func eventually(_ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(5))
        }
        return condition()
    }

    @Test func aStreamsDoneAndLastByteWaitForTheCommit() async throws {
        try await withProxy { port, recorder, client in
            let response = try await client.send(request(port, stream: true))
            #expect(response.status == 200)
            var iterator = response.body.makeAsyncIterator()
            var received = ""
            // Every content event arrives while the commit is held...
            while !received.contains(#""content":"!""#) {
                guard let chunk = try await iterator.next() else { break }
                received += String(buffer: chunk)
            }
            #expect(received.contains(#""content":"Hel""#))
            #expect(try await eventually { recorder.held == 1 })
            // ...but neither [DONE] nor the end of the body does.
            #expect(!received.contains("[DONE]"))
            #expect(recorder.inner.events.isEmpty)
            recorder.release()
            while let chunk = try await iterator.next() { received += String(buffer: chunk) }
            #expect(received.hasSuffix("data: [DONE]\n\n"))
            #expect(recorder.inner.events.count == 1)
            #expect(recorder.inner.events.first?.status == .ok)
        }
    }

    @Test func aWholeReplyIsNotSentBeforeItsCommit() async throws {
        try await withProxy { port, recorder, client in
            let answered = Mutex(false)
            let call = Task {
                let response = try await client.send(request(port, stream: false))
                answered.withLock { $0 = true }
                return try await response.collectBody(upTo: 1 << 20)
            }
            #expect(try await eventually { recorder.held == 1 })
            // The proxy has the upstream's whole reply and is waiting for the ledger: not even the head went out.
            let headArrived = answered.withLock { $0 }
            #expect(!headArrived)
            #expect(recorder.inner.events.isEmpty)
            recorder.release()
            let body = try await call.value
            #expect(String(buffer: body).contains(#""content":"Hello!""#))
            #expect(recorder.inner.events.count == 1)
        }
    }

    /// The proxy tells the ledger whether a call has company (other calls in progress), so the writer can commit a
    /// lone call at once and batch the rest; a finished call stops counting, however it ended.
    @Test func theLedgerIsToldWhetherACallHasCompany() async throws {
        try await withProxy { port, recorder, client in
            let first = Task { try await client.send(request(port, stream: false)).collectBody(upTo: 1 << 20) }
            #expect(try await eventually { recorder.held == 1 })
            // The first call's commit is held: a second call arriving now has company.
            let second = Task {
                try await client.send(request(port, stream: false, body: #"{"model":"gpt-4.1","messages":[]}"#))
                    .collectBody(upTo: 1 << 20)
            }
            #expect(try await eventually { recorder.held == 2 })
            recorder.release()
            _ = try await (first.value, second.value)
            #expect(recorder.companyHints == [1: false, 2: true])
            // Both are done (and a refused call counts and uncounts too): the next call is alone again.
            let refused = try await client.send(request(port, stream: false, body: "{not json"))
            #expect(refused.status == 400)
            _ = try await client.send(request(port, stream: false)).collectBody(upTo: 1 << 20)
            #expect(recorder.companyHints == [1: false, 2: true, 3: false, 4: false])
        }
    }

    /// Messages hold `message_stop`, Responses hold `response.completed` (which carries the usage) until the commit.
    @Test(arguments: [
        ("/v1/messages", #"{"model":"claude-sonnet-4.5","max_tokens":9,"stream":true,"messages":[]}"#, "message_stop",
         #""text":"!""#),
        ("/v1/responses", #"{"model":"gpt-4.1","input":"hi","stream":true}"#, "response.completed", #""delta":"!""#),
    ])
    func theLastEventOfEachDialectsStreamWaitsForTheCommit(
        path: String, body: String, last: String, content: String
    ) async throws {
        try await withProxy { port, recorder, client in
            let response = try await client.send(request(port, stream: true, path: path, body: body))
            #expect(response.status == 200)
            var iterator = response.body.makeAsyncIterator()
            var received = ""
            while !received.contains(content) {
                guard let chunk = try await iterator.next() else { break }
                received += String(buffer: chunk)
            }
            #expect(try await eventually { recorder.held == 1 })
            #expect(!received.contains("event: \(last)"))
            #expect(recorder.inner.events.isEmpty)
            recorder.release()
            while let chunk = try await iterator.next() { received += String(buffer: chunk) }
            #expect(received.contains("event: \(last)\n"))
            #expect(recorder.inner.events.only?.status == .ok)
            #expect(recorder.inner.events.only?.usage != nil)
        }
    }
}

extension Array {
    fileprivate var only: Element? { count == 1 ? first : nil }
}
