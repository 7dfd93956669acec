import Foundation
import LedgerBudgets
import LedgerCore
import LedgerPostgres
import LedgerTestSupport
import LedgerProxy
import Logging
import MetricsTestKit
import NIOCore
import PostgresNIO
import Synchronization
import Testing

/// Budgets shared by replicas of one PostgreSQL ledger (issue 13, points 3 and 4), on the throwaway cluster.
@Suite struct PostgresBudgetsTests {
    static let usd: Int128 = 1_000_000_000_000
    static let model = "budget-test"
    /// 1,000 bytes x 10 USD/MTok + 1,000 tokens x 16 USD/MTok = 0.026 USD per call, reserved and paid.
    static let callPico: Int128 = 26_000_000_000

    func prepared() async throws -> PostgresSettings {
        let settings = try await migratedDatabase()
        try await execute(
            settings,
            """
            INSERT INTO price (provider_kind, model, input_musd_per_mtok, cached_input_musd_per_mtok,
                               output_musd_per_mtok, effective_from_us, source, created_at_us)
            VALUES ('official', \(Self.model), 10000000, 10000000, 16000000, 0, 'test', 1),
                   ('holysheep', \(Self.model), 10000000, 10000000, 16000000, 0, 'test', 1)
            """)
        try await execute(
            settings,
            """
            INSERT INTO api_key (name, team, lookup_prefix, salt, secret_sha256, created_at_us)
            VALUES ('a', 'ml', 'hsl-budget01', '\\x00'::bytea, '\\x00'::bytea, 1)
            """)
        return settings
    }

    func replica(_ settings: PostgresSettings, ledger: PostgresLedger, poster: (any WebhookPoster)? = nil)
        -> PostgresBudgets
    {
        PostgresBudgets(
            settings: settings, prices: LookupBudgetPrices(ledger), poster: poster,
            retry: AlertRetry(attempts: 5, firstDelay: .milliseconds(20), maxDelay: .milliseconds(200)),
            metrics: TestMetrics(), logger: testLogger, refreshInterval: .milliseconds(100),
            now: { budgetNowMicros() })
    }

    func request(key: Int64) -> AdmissionRequest {
        AdmissionRequest(
            keyID: key, team: "ml", tags: nil, model: Self.model, bodyBytes: 1000, maxOutputTokens: 1000,
            atMicros: budgetNowMicros())
    }

    func event(_ id: Int64, key: Int64) -> UsageEvent {
        let now = budgetNowMicros()
        return UsageEvent(
            id: id, startedAtMicros: now, finishedAtMicros: now, endpoint: "/v1/chat/completions", model: Self.model,
            provider: "holysheep", providerKind: .holysheep, status: .ok,
            usage: TokenUsage(promptTokens: 1000, completionTokens: 1000), latencyMicros: 1, keyID: key, team: "ml")
    }

    /// Runs `body` with the budgets services running, then stops them.
    func running<T: Sendable>(_ replicas: [PostgresBudgets], _ body: () async throws -> T) async throws -> T {
        let tasks = replicas.map { r in Task { try await r.run() } }
        do {
            for r in replicas { try await waitUntil("the pool up") { (try? await r.reload()) != nil } }
            let value = try await body()
            for t in tasks { t.cancel() }
            for t in tasks { _ = try? await t.value }
            return value
        } catch {
            for t in tasks { t.cancel() }
            for t in tasks { _ = try? await t.value }
            throw error
        }
    }

    /// 64 concurrent clients on two replicas (two PostgresBudgets and two PostgresLedger instances) share a 1.00
    /// USD team budget with calls of 0.026 USD: the team's recorded paid cost ends at most 1.00 USD and at least
    /// 1.00 USD minus one call; nothing stays reserved.
    @Test func sixtyFourClientsOnTwoReplicasShareATeamBudgetExactly() async throws {
        let settings = try await prepared()
        let ledgerA = try await PostgresLedger.open(settings, logger: testLogger)
        let ledgerB = try await PostgresLedger.open(settings, logger: testLogger)
        let a = replica(settings, ledger: ledgerA)
        let b = replica(settings, ledger: ledgerB)
        let key = try await scalar(settings, "SELECT id FROM api_key WHERE name = 'a'")
        let tally = BudgetTally()
        try await whileRunning(ledgerA) {
            try await whileRunning(ledgerB) {
                try await running([a, b]) {
                    try await a.set(
                        scope: .team("ml"), period: .month, limitPico: 1_000_000_000_000, action: .block,
                        alertAtBasisPoints: nil, webhook: nil, nowMicros: budgetNowMicros())
                    try await b.reload()
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for n in 0..<64 {
                            let (budgets, ledger) = n % 2 == 0 ? (a, ledgerA) : (b, ledgerB)
                            group.addTask {
                                while true {
                                    let held: Admission
                                    do { held = try await budgets.admit(request(key: key)) } catch {
                                        tally.add(refused: 1)
                                        return
                                    }
                                    tally.add(admitted: 1)
                                    // PostgresLedger does not return the cost it recorded yet (no recordCosted:
                                    // the default gives nil); the paid cost is the ledger's own arithmetic.
                                    let e = event(ledger.reserveCallID(), key: key)
                                    try await ledger.record(e)
                                    let price = try #require(
                                        ledger.price(model: Self.model, kind: .holysheep, atMicros: e.startedAtMicros))
                                    let paid = try CostCalculator.cost(for: e.usage!, price: price).picoUSD
                                    await budgets.settle(held, paidPico: Int64(paid))
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                }
            }
        }
        let recorded = Int128(
            try await scalar(settings, "SELECT coalesce(sum(cost_paid_pusd), 0)::bigint FROM call WHERE team = 'ml'"))
        #expect(recorded <= Self.usd)
        #expect(recorded >= Self.usd - Self.callPico)
        #expect(tally.value.refused == 64)
        #expect(Int128(tally.value.admitted) * Self.callPico == recorded)
        #expect(try await scalar(settings, "SELECT reserved_pusd::bigint FROM budget_period") == 0)
        let spent = try await scalar(settings, "SELECT spent_pusd::bigint FROM budget_period")
        #expect(Int128(spent) == recorded, "spent \(spent), recorded \(recorded), admitted \(tally.value.admitted)")
    }

    /// Two replicas cross the same threshold: the ledger keeps one alert, one replica POSTs it, retried while the
    /// local receiver fails, every attempt recorded.
    @Test func alertsAreSentOnceAcrossReplicasAndRetried() async throws {
        let settings = try await prepared()
        let ledger = try await PostgresLedger.open(settings, logger: testLogger)
        let key = try await scalar(settings, "SELECT id FROM api_key WHERE name = 'a'")
        let receiver = WebhookReceiver(failFirst: 2)
        let curl = try CurlUpstreamClient()
        defer { curl.shutdown() }
        let poster = TestPoster { url, json, headers in
            try await curl.send(
                UpstreamRequest(
                    method: "POST", url: url, headers: headers.map { ($0.name, $0.value) },
                    body: ByteBuffer(bytes: json), wholeBodyLimit: 1 << 16)
            ).status
        }
        try await receiver.run { port in
            let a = replica(settings, ledger: ledger, poster: poster)
            let b = replica(settings, ledger: ledger, poster: poster)
            try await running([a, b]) {
                try await a.set(
                    scope: .team("ml"), period: .month, limitPico: 1_000_000_000_000, action: .block,
                    alertAtBasisPoints: [5000, 8000], webhook: "http://127.0.0.1:\(port)/hook",
                    nowMicros: budgetNowMicros())
                try await b.reload()
                // Both replicas settle 0.30 at once: each sees spent reach 0.60 or more, so both may try to alert 50%.
                async let first: Void = {
                    let held = try await a.admit(request(key: key))
                    await a.settle(held, paidPico: 300_000_000_000)
                }()
                async let second: Void = {
                    let held = try await b.admit(request(key: key))
                    await b.settle(held, paidPico: 300_000_000_000)
                }()
                _ = try await (first, second)
                try await waitUntil("the alerts handled") { a.pendingAlerts == 0 && b.pendingAlerts == 0 }
            }
        }
        #expect(try await scalar(settings, "SELECT count(*) FROM budget_alert") == 1)
        #expect(try await scalar(settings, "SELECT threshold_bp FROM budget_alert") == 5000)
        #expect(try await scalar(settings, "SELECT count(*) FROM budget_alert WHERE delivered_at_us IS NOT NULL") == 1)
        #expect(receiver.requests.map(\.status) == [500, 500, 200])
        #expect(Set(receiver.requests.map(\.body)).count == 1)
        #expect(try await scalar(settings, "SELECT count(*) FROM budget_alert_attempt") == 3)
        #expect(try await scalar(settings, "SELECT count(*) FROM budget_alert_attempt WHERE delivered") == 1)
        #expect(try await scalar(settings, "SELECT spent_pusd::bigint FROM budget_period") == 600_000_000_000)
    }

    /// Scopes are checked; a changed budget keeps what was not given.
    @Test func setChecksScopesAndKeepsUnchangedFields() async throws {
        let settings = try await prepared()
        let ledger = try await PostgresLedger.open(settings, logger: testLogger)
        let a = replica(settings, ledger: ledger)
        try await running([a]) {
            await #expect(throws: BudgetError.self) {
                try await a.set(
                    scope: .team("nope"), period: .day, limitPico: 1, action: nil, alertAtBasisPoints: nil,
                    webhook: nil, nowMicros: 1)
            }
            let first = try await a.set(
                scope: .team("ml"), period: .day, limitPico: 5, action: .alert, alertAtBasisPoints: [5000],
                webhook: "http://h/x", nowMicros: 1)
            let again = try await a.set(
                scope: .team("ml"), period: .day, limitPico: 7, action: nil, alertAtBasisPoints: nil, webhook: nil,
                nowMicros: 2)
            #expect(again.id == first.id && again.action == .alert && again.webhook == "http://h/x")
            #expect(again.alertAtBasisPoints == [5000] && again.limitPico == 7)
            try await a.remove(id: first.id, nowMicros: 3)
            await #expect(throws: BudgetError.self) { try await a.remove(id: first.id, nowMicros: 4) }
        }
        #expect(try await scalar(settings, "SELECT count(*) FROM budget") == 1)
    }
}

func budgetNowMicros() -> Int64 { Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()) }

final class BudgetTally: Sendable {
    private let counts = Mutex((admitted: 0, refused: 0))
    func add(admitted: Int = 0, refused: Int = 0) {
        counts.withLock {
            $0.admitted += admitted
            $0.refused += refused
        }
    }
    var value: (admitted: Int, refused: Int) { counts.withLock { $0 } }
}
