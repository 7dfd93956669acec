import Foundation
import GRDB
import LedgerBudgets
import LedgerCore
import LedgerProxy
import LedgerStore
import LedgerTestSupport
import Logging
import MetricsTestKit
import NIOCore
import Synchronization
import Testing

/// The in-process budgets over a real SQLite ledger file, with the real writer.
@Suite struct SQLiteBudgetsTests {
    static let usd: Int128 = 1_000_000_000_000
    static let model = "budget-test"
    /// 10 USD/MTok in, 16 USD/MTok out: a call of 1,000 bytes and max_tokens 1,000 reserves
    /// 1,000 x 10 + 1,000 x 16 = 26,000 micro-USD... = 0.026 USD, and costs exactly that when its reply uses it all.
    static let price = ModelPrice(input: 10_000_000, cachedInput: 10_000_000, output: 16_000_000)
    static let callPico: Int128 = 26_000_000_000

    let logger = Logger(label: "budget-tests")

    func ledger(_ temp: TemporaryLedgerPath) throws -> (LedgerDatabase, Int64) {
        let database = try LedgerDatabase(path: temp.path)
        _ = try database.addPrices(
            ProviderKind.allCases.map {
                PriceBookEntry(kind: $0, model: Self.model, price: Self.price, effectiveFromMicros: 0, source: "test")
            }, nowMicros: 1)
        let key = try KeyStore(database: database).create(name: "a", team: "ml", nowMicros: 1).key.id
        return (database, key)
    }

    func budgets(_ database: LedgerDatabase, poster: (any WebhookPoster)? = nil) throws -> LocalBudgets {
        try LocalBudgets(
            store: BudgetStore(database: database), prices: BudgetPriceBook(book: try LivePriceBook(database: database)),
            poster: poster, retry: AlertRetry(attempts: 5, firstDelay: .milliseconds(20), maxDelay: .milliseconds(200)),
            metrics: TestMetrics(), logger: logger, now: { nowMicros() })
    }

    func request(key: Int64) -> AdmissionRequest {
        AdmissionRequest(
            keyID: key, team: "ml", tags: nil, model: Self.model, bodyBytes: 1000, maxOutputTokens: 1000,
            atMicros: nowMicros())
    }

    func event(_ id: Int64, key: Int64, usage: TokenUsage?) -> UsageEvent {
        let now = nowMicros()
        return UsageEvent(
            id: id, startedAtMicros: now, finishedAtMicros: now, endpoint: "/v1/chat/completions", model: Self.model,
            provider: "holysheep", providerKind: .holysheep, status: usage == nil ? .interrupted : .ok,
            usage: usage, latencyMicros: 1, keyID: key, team: "ml")
    }

    func recordedPaid(_ database: LedgerDatabase) throws -> Int128 {
        try database.writer.read { db in
            Int128(try Int64.fetchOne(db, sql: "SELECT coalesce(sum(cost_paid_pusd), 0) FROM call WHERE team = 'ml'") ?? -1)
        }
    }

    /// Issue 13, point 3, on one process: 64 concurrent clients share a 1.00 USD team budget with calls of 0.026
    /// USD; each calls until refused. The recorded paid cost ends at most 1.00 and at least 1.00 minus one call,
    /// and a restarted process seeds exactly the ledger's figure.
    @Test func sixtyFourClientsShareATeamBudgetExactly() async throws {
        let temp = TemporaryLedgerPath("budget64")
        defer { temp.remove() }
        let (database, key) = try ledger(temp)
        _ = try BudgetStore(database: database).set(
            scope: .team("ml"), period: .month, limitPico: 1_000_000_000_000, action: .block, alertAtBasisPoints: nil,
            webhook: nil, nowMicros: nowMicros())
        let writer = try LedgerWriter(database: database, logger: logger)
        let admission = try budgets(database)
        let writing = Task { try await writer.run() }
        let counts = Tally()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<64 {
                group.addTask {
                    while true {
                        let held: Admission
                        do { held = try await admission.admit(request(key: key)) } catch {
                            counts.add(refused: 1)
                            return  // refused before anything was recorded or sent
                        }
                        counts.add(admitted: 1)
                        let paid = try await writer.recordCosted(
                            event(
                                writer.reserveCallID(), key: key,
                                usage: TokenUsage(promptTokens: 1000, completionTokens: 1000)))
                        await admission.settle(held, paidPico: paid)
                    }
                }
            }
            try await group.waitForAll()
        }
        writing.cancel()
        _ = try? await writing.value
        let recorded = try recordedPaid(database)
        #expect(recorded <= Self.usd)
        #expect(recorded >= Self.usd - Self.callPico)
        #expect(counts.value.refused == 64)
        #expect(Int128(counts.value.admitted) * Self.callPico == recorded)
        #expect(admission.uses()[0].spentPico == recorded && admission.uses()[0].reservedPico == 0)
        // A restart seeds from the ledger's rows (call_rollup x the paid rows): the same exact figure.
        #expect(try budgets(database).uses()[0].spentPico == recorded)
    }

    /// A cut stream's reservation stays counted (never zero), across a restart.
    @Test func reservationsWithoutUsageAreKeptAndSurviveARestart() async throws {
        let temp = TemporaryLedgerPath("budgetheld")
        defer { temp.remove() }
        let (database, key) = try ledger(temp)
        _ = try BudgetStore(database: database).set(
            scope: .key(key), period: .day, limitPico: 100_000_000_000, action: .block, alertAtBasisPoints: nil,
            webhook: nil, nowMicros: nowMicros())
        let admission = try budgets(database)
        let running = Task { try await admission.run() }
        let held = try await admission.admit(request(key: key))
        await admission.settle(held, paidPico: nil)
        #expect(admission.uses()[0].heldPico == Self.callPico)
        try await waitUntil("the kept reservation recorded") {
            try BudgetStore(database: database).list(atMicros: nowMicros())[0].use.heldPico == Self.callPico
        }
        running.cancel()
        _ = try? await running.value
        let restarted = try budgets(database)
        #expect(restarted.uses()[0].heldPico == Self.callPico)
        #expect(restarted.uses()[0].remainingPico == 100_000_000_000 - Self.callPico)
    }

    /// Issue 13, point 4: two instances on one ledger cross the same threshold; one alert is recorded and POSTed,
    /// retried while the receiver fails, every attempt recorded; `budgets list` shows it.
    @Test func alertsAreSentOncePerThresholdAndRetried() async throws {
        let temp = TemporaryLedgerPath("budgetalert")
        defer { temp.remove() }
        let (database, key) = try ledger(temp)
        let receiver = WebhookReceiver(failFirst: 2)
        let curl = try CurlUpstreamClient()
        defer { curl.shutdown() }
        let poster = TestPoster { url, json, headers in
            let reply = try await curl.send(
                UpstreamRequest(
                    method: "POST", url: url, headers: headers.map { ($0.name, $0.value) },
                    body: ByteBuffer(bytes: json), wholeBodyLimit: 1 << 16))
            return reply.status
        }
        try await receiver.run { port in
            _ = try BudgetStore(database: database).set(
                scope: .team("ml"), period: .month, limitPico: 1_000_000_000_000, action: .block,
                alertAtBasisPoints: [5000, 8000], webhook: "http://127.0.0.1:\(port)/hook", nowMicros: nowMicros())
            let a = try budgets(database, poster: poster)
            let b = try budgets(database, poster: poster)
            let runA = Task { try await a.run() }
            let runB = Task { try await b.run() }
            // Each instance settles 0.60 USD on its own counter: both cross 50%; the ledger keeps one alert.
            for instance in [a, b] {
                let held = try await instance.admit(request(key: key))
                await instance.settle(held, paidPico: 600_000_000_000)
            }
            try await waitUntil("the alerts handled") { a.pendingAlerts == 0 && b.pendingAlerts == 0 }
            try await waitUntil("the webhook delivered") { receiver.requests.contains { $0.status == 200 } }
            runA.cancel()
            runB.cancel()
            _ = try? await runA.value
            _ = try? await runB.value
        }
        let store = BudgetStore(database: database)
        let alerts = try store.alerts()
        #expect(alerts.count == 1)
        #expect(alerts.first?.thresholdBasisPoints == 5000)
        #expect(alerts.first?.deliveredAtMicros != nil)
        // Two failures, then the delivery: three POSTs of the same alert, three attempts recorded.
        #expect(receiver.requests.map(\.status) == [500, 500, 200])
        #expect(Set(receiver.requests.map(\.body)).count == 1)
        #expect(receiver.requests[0].body.contains(#""budget_id":1"#))
        #expect(receiver.requests[0].body.contains(#""threshold":"50%""#))
        let attempts = try store.attempts(alertID: alerts[0].id)
        #expect(attempts.map(\.attempt) == [1, 2, 3])
        #expect(attempts.map(\.httpStatus) == [500, 500, 200])
        #expect(attempts.map(\.delivered) == [false, false, true])
        let listed = try store.list(atMicros: nowMicros())[0]
        #expect(listed.alertsThisPeriod == 1 && listed.lastAlert?.id == alerts[0].id)
    }

    /// `budgets set` refuses unknown scopes and writes nothing.
    @Test func unknownScopesAreRefusedAndNothingIsWritten() throws {
        let temp = TemporaryLedgerPath("budgetscope")
        defer { temp.remove() }
        let (database, key) = try ledger(temp)
        let store = BudgetStore(database: database)
        for scope in [BudgetScope.team("nope"), .key(key + 1), .tag(name: "p", value: "x")] {
            #expect(throws: BudgetError.self) {
                try store.set(
                    scope: scope, period: .day, limitPico: 1, action: nil, alertAtBasisPoints: nil, webhook: nil,
                    nowMicros: 1)
            }
        }
        #expect(try store.budgets().isEmpty)
        _ = try store.set(
            scope: .tag(name: "p", value: "x"), period: .day, limitPico: 1, action: nil, alertAtBasisPoints: nil,
            webhook: nil, allowNewTag: true, nowMicros: 1)
        let changed = try store.set(
            scope: .team("ml"), period: .day, limitPico: 5, action: .alert, alertAtBasisPoints: [5000],
            webhook: "http://h/x", nowMicros: 2)
        #expect(changed.created && changed.overlapping.map(\.id) == [1])
        let again = try store.set(
            scope: .team("ml"), period: .day, limitPico: 7, action: nil, alertAtBasisPoints: nil, webhook: nil,
            nowMicros: 3)
        #expect(!again.created && again.budget.id == changed.budget.id)
        #expect(again.budget.action == .alert && again.budget.alertAtBasisPoints == [5000] && again.budget.webhook == "http://h/x")
        #expect(try store.remove(id: 1, nowMicros: 4).scope == .tag(name: "p", value: "x"))
        #expect(throws: BudgetError.self) { try store.remove(id: 1, nowMicros: 5) }
        #expect(try store.budgets().map(\.id) == [2])
    }
}

func nowMicros() -> Int64 { Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()) }

/// Admitted and refused calls, counted across tasks.
final class Tally: Sendable {
    private let counts = Mutex((admitted: 0, refused: 0))
    func add(admitted: Int = 0, refused: Int = 0) {
        counts.withLock {
            $0.admitted += admitted
            $0.refused += refused
        }
    }
    var value: (admitted: Int, refused: Int) { counts.withLock { $0 } }
}

/// The seed (spend from call_rollup x the paid rows) equals the sum of the rows' own paid costs, per scope.
@Suite struct BudgetSeedTests {
    @Test func seedEqualsTheRecordedPaidCostForEveryScope() throws {
        let temp = TemporaryLedgerPath("budgetseed")
        defer { temp.remove() }
        let database = try LedgerDatabase(path: temp.path)
        let t0 = UTCDate.micros(parsing: "2026-12-02T10:00:00Z")!
        var events: [UsageEvent] = []
        var rng = SystemRandomNumberGenerator()
        for n in 0..<300 {
            let official = n % 3 == 0
            let model = ["gpt-4.1", "claude-sonnet-4.5", "gemini-2.5-flash", "deepseek-v3.2", "no-price"][n % 5]
            let prompt = Int64.random(in: 1...300_000, using: &rng)
            let usage: TokenUsage? =
                n % 11 == 0
                ? nil
                : TokenUsage(
                    promptTokens: prompt, cachedPromptTokens: prompt / 4, completionTokens: Int64.random(in: 0...5000, using: &rng),
                    cacheWrite5mTokens: model == "claude-sonnet-4.5" ? prompt / 8 : 0)
            // Calls on both sides of the day and week boundaries.
            let at = t0 + Int64(n - 150) * 3_000_000_000
            events.append(
                UsageEvent(
                    id: Int64(n + 1), startedAtMicros: at, finishedAtMicros: at, endpoint: "/v1/chat/completions",
                    model: model, provider: official ? "official" : "holysheep",
                    providerKind: official ? .official : .holysheep, status: usage == nil ? .interrupted : .ok,
                    fallbackUsed: official, usage: usage, latencyMicros: 1, keyID: Int64(n % 4 + 1),
                    team: n % 2 == 0 ? "ml" : "web", tags: n % 3 == 1 ? "project=x,env=prod" : "env=dev"))
        }
        try database.insert(events)
        let store = BudgetStore(database: database)
        let scopes: [(BudgetScope, String)] = [
            (.team("ml"), "team = 'ml'"), (.key(3), "key_id = 3"),
            (.tag(name: "project", value: "x"), "instr(',' || tags || ',', ',project=x,') > 0"),
            (.tag(name: "env", value: "dev"), "instr(',' || tags || ',', ',env=dev,') > 0"),
        ]
        for (scope, filter) in scopes {
            for period in BudgetPeriod.allCases {
                let window = period.window(containing: t0)
                let expected = try database.writer.read { db in
                    try Int64.fetchAll(
                        db,
                        sql: "SELECT cost_paid_pusd FROM call WHERE cost_paid_pusd IS NOT NULL AND started_at_us >= ? AND started_at_us < ? AND \(filter)",
                        arguments: [window.startMicros, window.endMicros]
                    ).reduce(Int128(0)) { $0 + Int128($1) }
                }
                let figures = try store.periodFigures(
                    Budget(id: 1, scope: scope, period: period, limitPico: 1), window: window)
                #expect(figures.spent == expected, "\(scope) \(period)")
                #expect(expected > 0)
            }
        }
    }
}
