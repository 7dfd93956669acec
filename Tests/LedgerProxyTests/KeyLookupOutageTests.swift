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

/// A key that cannot be looked up because the ledger's server is down is not a wrong key: the call gets the
/// ledger's 503, before any upstream request, and no row (the ledger cannot take one); a wrong key while the ledger
/// is up is still 401.
@Suite struct KeyLookupOutageTests {
    static let key = "hsl-outage-0123456789"

    /// A ledger (recorder and key store in one, as PostgresLedger is) whose key lookup can fail like a server that
    /// went away: the failed lookup returns no identity and marks the ledger failing.
    final class OutageLedger: UsageRecorder, ClientKeyVerifier {
        let memory = MemoryUsageRecorder()
        let lookupFails = Atomic<Bool>(false)
        /// The lookup fails but says so itself (`check`), and the ledger is up again by the time the proxy asks it
        /// (commitFailure() nil): a server back a moment after a failed lookup.
        let lookupFailsThenRecovers = Atomic<Bool>(false)
        let failing = Mutex<String?>(nil)

        func reserveCallID() -> Int64 { memory.reserveCallID() }
        func record(_ event: UsageEvent) async throws { try await memory.record(event) }
        func recordCosted(_ event: UsageEvent) async throws -> Int64? {
            try await memory.record(event)
            return nil
        }
        func commitFailure() async -> String? { failing.withLock { $0 } }
        func verify(secret: String) async -> ClientIdentity? {
            if lookupFails.load(ordering: .relaxed) {
                failing.withLock { $0 = "cannot connect to PostgreSQL at 127.0.0.1:5432: connection refused" }
                return nil
            }
            return secret == KeyLookupOutageTests.key ? ClientIdentity(keyID: 3, name: "app", team: nil) : nil
        }
        func check(secret: String) async -> KeyVerdict {
            if lookupFailsThenRecovers.load(ordering: .relaxed) {
                return .unverifiable(reason: "the client key could not be looked up: connection reset by peer")
            }
            return KeyVerdict(found: await verify(secret: secret))
        }
    }

    @Test func aFailedKeyLookupIsA503WithNoRowAndNoUpstreamRequest() async throws {
        let ledger = OutageLedger()
        let stub = StubUpstream()
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
            var logger = Logger(label: "key-outage-test")
            logger.logLevel = .critical
            let app = buildApplication(
                configuration: configuration, upstream: upstream, recorder: ledger, keys: ledger,
                prices: DialectTests.prices, metrics: ProxyMetrics(factory: NOOPMetricsHandler.instance),
                routing: ProxyRouting(configuration: configuration.routing, clock: TestClock(.autoAdvance)),
                logger: logger)
            try await app.test(.live) { client in
                func chat(_ key: String) async throws -> TestResponse {
                    try await client.execute(
                        uri: "/v1/chat/completions", method: .post,
                        headers: [.contentType: "application/json", .authorization: "Bearer \(key)"],
                        body: ByteBuffer(string: #"{"model":"gpt-4.1","messages":[]}"#))
                }
                // The ledger is up: a wrong key is 401, recorded as a client error.
                let wrong = try await chat("hsl-wrong-0123456789")
                #expect(wrong.status == .unauthorized)
                #expect(ledger.memory.events.map(\.status) == [.clientError])

                ledger.lookupFails.store(true, ordering: .relaxed)
                let down = try await chat(Self.key)
                #expect(down.status == .serviceUnavailable)
                #expect(String(buffer: down.body).contains(#""code":"ledger_unavailable""#))
                #expect(String(buffer: down.body).contains("cannot connect to PostgreSQL at 127.0.0.1:5432"))
                #expect(ledger.memory.events.count == 1)
                #expect(stub.requests.isEmpty)

                // The lookup failed, but the ledger commits again by the time the proxy would ask it: still the
                // ledger's 503 (the verdict says why), never a 401 for a key that was not checked.
                ledger.lookupFails.store(false, ordering: .relaxed)
                ledger.failing.withLock { $0 = nil }
                ledger.lookupFailsThenRecovers.store(true, ordering: .relaxed)
                let back = try await chat(Self.key)
                #expect(back.status == .serviceUnavailable)
                #expect(String(buffer: back.body).contains("the client key could not be looked up"))
                #expect(ledger.memory.events.count == 1)
                #expect(stub.requests.isEmpty)

                ledger.lookupFailsThenRecovers.store(false, ordering: .relaxed)
                let ok = try await chat(Self.key)
                #expect(ok.status != .serviceUnavailable && ok.status != .unauthorized)
            }
        }
    }
}
