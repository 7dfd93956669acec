import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerCore
import LedgerStore
import LedgerTestSupport
import Logging
import MetricsTestKit
import Testing

@testable import LedgerProxy

/// The proxy over a real ledger file whose writer connection SQLite caps with `PRAGMA max_page_count`: the ledger
/// fills up for real, and the proxy must fail closed (no upstream call it cannot record) and recover by itself.
@Suite(.timeLimit(.minutes(2))) struct LedgerFailureTests {
    static let clientKey = "hsl-testkey-0123456789"
    static let chat = #"{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}"#

    struct WriterHealth: LedgerHealthCheck {
        let writer: LedgerWriter
        func ledgerWriteFailure() async -> String? { await writer.writeFailure() }
    }

    struct Harness: Sendable {
        let client: any TestClientProtocol
        let stub: StubUpstream
        let database: LedgerDatabase
        let metrics: TestMetrics

        func chat() async throws -> TestResponse {
            try await client.execute(
                uri: "/v1/chat/completions", method: .post,
                headers: [.contentType: "application/json", .authorization: "Bearer \(LedgerFailureTests.clientKey)"],
                body: ByteBuffer(string: LedgerFailureTests.chat))
        }

        func callIDs() throws -> [Int64] {
            try database.writer.read { try Int64.fetchAll($0, sql: "SELECT id FROM call ORDER BY id") }
        }

        /// Caps the ledger file at `pages` pages on the writer's connection (SQLite keeps at least the current size).
        func capPages(_ pages: Int) throws {
            try database.writer.writeWithoutTransaction { try $0.execute(sql: "PRAGMA max_page_count = \(pages)") }
        }

        func pageCount() throws -> Int {
            try database.writer.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA page_count") ?? 0 }
        }
    }

    private func withProxy(_ test: @Sendable (Harness) async throws -> Void) async throws {
        let temp = TemporaryLedgerPath("full")
        defer { temp.remove() }
        let database = try LedgerDatabase(path: temp.path)
        let logger = {
            var logger = Logger(label: "ledger-failure-test")
            logger.logLevel = .critical
            return logger
        }()
        let writer = try LedgerWriter(database: database, logger: logger)
        let stub = StubUpstream()
        let factory = TestMetrics()
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
            let app = buildApplication(
                configuration: configuration, upstream: upstream, recorder: writer,
                keys: StaticKeyVerifier([Self.clientKey: ClientIdentity(keyID: 1, name: "app", team: nil)]),
                prices: try LivePriceBook(database: database), metrics: ProxyMetrics(factory: factory),
                ledgerHealth: WriterHealth(writer: writer),
                routing: ProxyRouting(configuration: configuration.routing, clock: TestClock(.autoAdvance)),
                services: [writer], logger: logger)
            try await app.test(.live) { client in
                try await test(Harness(client: client, stub: stub, database: database, metrics: factory))
            }
        }
    }

    /// Polls `condition` until it holds or `seconds` pass.
    private func eventually(seconds: Double = 10, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    @Test func aFullLedgerRefusesCallsBeforeTheUpstreamAndRecoversByItself() async throws {
        try await withProxy { h in
            try h.capPages(try h.pageCount())
            // Calls are answered and recorded until a row no longer fits.
            var answered: [Int64] = []
            var failed: TestResponse?
            for _ in 0..<5_000 {
                let response = try await h.chat()
                guard response.status == .ok else {
                    failed = response
                    break
                }
                answered.append(try #require(response.headers[.ledgerCallID].flatMap(Int64.init)))
            }
            let failure = try #require(failed)
            #expect(failure.status == .serviceUnavailable)
            #expect(String(buffer: failure.body).contains(#""code":"ledger_unavailable""#))
            #expect(String(buffer: failure.body).contains("full"))
            // Every answered call is in the ledger, and the failed one left no row (no usage-less second write).
            #expect(try h.callIDs() == answered)
            #expect(try h.metrics.expectCounter("ledger_commit_failures_total").totalValue == 1)

            // The failure is known: later calls are refused before any upstream request, and nothing is written.
            let upstreamRequests = h.stub.requests.count
            #expect(upstreamRequests == answered.count + 1)
            for _ in 0..<5 {
                let refused = try await h.chat()
                #expect(refused.status == .serviceUnavailable)
                #expect(String(buffer: refused.body).contains("ledger_unavailable"))
            }
            #expect(h.stub.requests.count == upstreamRequests)
            #expect(try h.callIDs() == answered)
            #expect(try h.metrics.expectCounter("ledger_commit_failures_total").totalValue == 1)
            let health = try await h.client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .serviceUnavailable)
            #expect(String(buffer: health.body).contains(#""ledger":"unwritable""#))
            #expect(String(buffer: health.body).contains(#""ledger_error":"database or disk is full""#))

            // Space comes back: the probe sees it and calls flow and are recorded again.
            try h.capPages(1 << 30)
            #expect(
                try await eventually {
                    try await h.client.execute(uri: "/healthz", method: .get).status == .ok
                })
            let recovered = try await h.chat()
            #expect(recovered.status == .ok)
            let id = try #require(recovered.headers[.ledgerCallID].flatMap(Int64.init))
            #expect(try h.callIDs() == answered + [id])
            #expect(h.stub.requests.count == upstreamRequests + 1)
        }
    }
}
