package import LedgerBudgets
package import LedgerCore
package import LedgerStore
package import Logging
package import Metrics
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Budgets shared by every `serve` replica of a PostgreSQL ledger (migrations/postgres/0006_budgets.sql).
///
/// A call's reservation is ONE statement on `budget_period` (``reserveSQL``): it locks the period rows of every
/// budget over the call (in id order), checks that each `block` budget still fits `spent + held + reserved + cost
/// <= limit`, and adds the cost to all of them, or to none. The check and the increment happen under the row locks,
/// so N replicas together never reserve past a limit. Settling is one statement too: the reservation becomes the
/// exact paid cost (or stays, as held, when the usage never arrived). Alerts are claimed in `budget_alert`
/// (unique per budget, period and threshold), so one replica sends each webhook.
///
/// `Admission.holds` carries (budget id, period start, amount) triples: a settle needs no replica-local state.
package final class PostgresBudgets: CallAdmission, Service {
    private let client: PostgresClient
    private let prices: any BudgetPrices
    private let outputCap: Int64
    private let logger: Logger
    private let now: @Sendable () -> Int64
    private let refreshInterval: Duration
    private let definitions = Mutex<[Budget]>([])
    /// Period rows known to exist (created by this or another replica).
    private let ensured = Mutex<Set<PeriodKey>>([])
    /// Thresholds this replica has already handed to the dispatcher (the ledger dedups across replicas).
    private let alerted = Mutex<Set<AlertKey>>([])
    private let refusals: Counter
    private let gauges: BudgetGauges
    private let dispatcher: AlertDispatcher

    private struct PeriodKey: Hashable {
        var budgetID: Int64
        var start: Int64
    }

    private struct AlertKey: Hashable {
        var budgetID: Int64
        var start: Int64
        var bp: Int64
    }

    /// A pool on `settings`' server; run the instance as a service (its pool, alert delivery and definition
    /// refresh) for as long as it admits calls.
    package init(
        settings: PostgresSettings, prices: any BudgetPrices, outputCap: Int64 = WorstCase.defaultOutputCap,
        poster: (any WebhookPoster)?, retry: AlertRetry = AlertRetry(), metrics factory: any MetricsFactory,
        logger: Logger, refreshInterval: Duration = .seconds(1), now: @escaping @Sendable () -> Int64
    ) {
        client = PostgresClient(configuration: settings.clientConfiguration, backgroundLogger: logger)
        self.prices = prices
        self.outputCap = outputCap
        self.logger = logger
        self.now = now
        self.refreshInterval = refreshInterval
        refusals = Counter(label: "ledger_budget_refusals_total", dimensions: [], factory: factory)
        gauges = BudgetGauges(factory: factory)
        dispatcher = AlertDispatcher(
            store: PostgresBudgetAlerts(client: client, logger: logger), poster: poster, retry: retry, metrics: factory, logger: logger, now: now)
    }

    package func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [client] in await client.run() }
            group.addTask { [dispatcher] in try await dispatcher.run() }
            group.addTask { [self] in
                await withGracefulShutdownHandler {
                    while !Task.isCancelled && !Task.isShuttingDownGracefully {
                        do { try await reload() } catch { logger.warning("budgets not re-read: \(error)") }
                        do { try await Task.sleep(for: refreshInterval) } catch { break }
                    }
                } onGracefulShutdown: { [dispatcher] in
                    dispatcher.finish()
                }
                dispatcher.finish()
            }
            // The pool runs until cancelled: stop it once the refresh loop and the dispatcher are done.
            try await group.next()
            try await group.next()
            group.cancelAll()
        }
    }

    /// Re-reads the definitions (the first call waits for `run` to have started the pool).
    package func reload() async throws {
        let rows = try await client.query(
            """
            SELECT id, scope_kind, scope_value, period, limit_pusd, action, alert_at_bp, webhook_url
            FROM budget WHERE removed_at_us IS NULL ORDER BY id
            """, logger: logger)
        var budgets: [Budget] = []
        for try await (id, kind, value, period, limit, action, thresholds, webhook) in rows.decode(
            (Int64, String, String, String, Int64, String, String, String?).self)
        {
            guard let scope = BudgetScope(kind: kind, value: value), let period = BudgetPeriod(rawValue: period),
                let action = BudgetAction(rawValue: action)
            else { continue }
            budgets.append(
                Budget(
                    id: id, scope: scope, period: period, limitPico: limit, action: action,
                    alertAtBasisPoints: thresholds.split(separator: ",").compactMap { Int64($0) }, webhook: webhook))
        }
        definitions.withLock { $0 = budgets }
    }

    /// Alerts queued or being delivered.
    package var pendingAlerts: Int { dispatcher.pending }

    // MARK: CallAdmission

    package func admit(_ request: AdmissionRequest) async throws(AdmissionRefusal) -> Admission {
        let budgets = definitions.withLock { $0.filter { $0.scope.matches(request) } }
        guard !budgets.isEmpty else { return .open }
        let cost = WorstCase.picoUSD(request, outputCap: outputCap, prices: prices)
        if cost == nil, let blocking = budgets.first(where: { $0.action == .block }) {
            throw AdmissionRefusal(
                message:
                    "budget \(blocking.id) (\(blocking.scope), \(blocking.period.rawValue)) refuses model \(request.model): "
                    + "it has no price, so the call's cost cannot be bounded")
        }
        let amount = cost ?? 0
        let windows = budgets.map { $0.period.window(containing: request.atMicros) }
        let rows: [ReservedRow]
        do {
            for (budget, window) in zip(budgets, windows) { try await ensurePeriod(budget, window) }
            rows = try await reserve(ids: budgets.map(\.id), starts: windows.map(\.startMicros), amount: amount)
        } catch {
            // Fail closed: without the shared ledger no budget can be checked.
            logger.error("budget reservation failed: \(PostgresSettings.cause(of: error))")
            throw AdmissionRefusal(
                message: "budgets cannot be checked: the ledger did not answer (\(PostgresSettings.cause(of: error)))")
        }
        let byID = Dictionary(rows.map { ($0.budgetID, $0) }, uniquingKeysWith: { a, _ in a })
        guard let fits = rows.first?.fits, rows.count == budgets.count else {
            throw AdmissionRefusal(message: "budgets cannot be checked: a budget period row is missing")
        }
        if !fits {
            for (budget, window) in zip(budgets, windows) where budget.action == .block {
                guard let row = byID[budget.id] else { continue }
                let use = BudgetUse(
                    budget: budget, window: window, spentPico: row.spent, heldPico: row.held,
                    reservedPico: row.reserved)
                guard row.spent + row.held + row.reserved + Int128(amount) > Int128(row.limit) else { continue }
                if budget.alertAtBasisPoints.contains(10_000) {
                    enqueue(budget, window, bp: 10_000, spent: row.spent + row.held, reason: .refused)
                }
                refusals.increment()
                throw BudgetCounter.refusal(use, costPico: amount)
            }
            throw AdmissionRefusal(message: "budgets refused the call")
        }
        var holds: [Int64] = []
        var tightest: Int128?
        for (budget, window) in zip(budgets, windows) {
            holds += [budget.id, window.startMicros, amount]
            if let row = byID[budget.id] {
                let left = Int128(row.limit) - row.spent - row.held - row.reserved - Int128(amount)
                tightest = min(tightest ?? left, left)
            }
        }
        var headers: [String: String] = [:]
        if let tightest { headers[BudgetCounter.remainingHeader] = BudgetParsing.usd(tightest) }
        return Admission(holds: holds, headers: headers)
    }

    package func settle(_ admission: Admission, paidPico: Int64?) async {
        let holds = admission.holds
        guard !holds.isEmpty, holds.count % 3 == 0 else { return }
        var ids: [Int64] = []
        var starts: [Int64] = []
        var amounts: [Int64] = []
        for i in stride(from: 0, to: holds.count, by: 3) {
            ids.append(holds[i])
            starts.append(holds[i + 1])
            amounts.append(holds[i + 2])
        }
        do {
            let rows = try await client.query(
                """
                UPDATE budget_period p
                SET reserved_pusd = p.reserved_pusd - h.amount,
                    spent_pusd = p.spent_pusd + coalesce(\(paidPico)::bigint, 0),
                    held_pusd = p.held_pusd + CASE WHEN \(paidPico)::bigint IS NULL THEN h.amount ELSE 0 END
                FROM unnest(\(ids)::bigint[], \(starts)::bigint[], \(amounts)::bigint[]) AS h (budget_id, period_start_us, amount)
                WHERE p.budget_id = h.budget_id AND p.period_start_us = h.period_start_us
                RETURNING p.budget_id, p.period_start_us, p.period_end_us, (p.spent_pusd + p.held_pusd)::text
                """, logger: logger)
            let budgets = definitions.withLock { Dictionary($0.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }) }
            for try await (id, start, end, spentText) in rows.decode((Int64, Int64, Int64, String).self) {
                guard let budget = budgets[id], let spent = Int128(spentText) else { continue }
                for bp in BudgetCounter.thresholdsReached(
                    limitPico: budget.limitPico, spentPico: spent, thresholds: budget.alertAtBasisPoints)
                {
                    enqueue(
                        budget, PeriodWindow(startMicros: start, endMicros: end), bp: bp, spent: spent, reason: .spent)
                }
            }
        } catch {
            // The reservation stays in the ledger (counted, never lost): the budget errs on the safe side.
            logger.error("budget settle failed, the reservation stays counted: \(PostgresSettings.cause(of: error))")
        }
    }

    private func enqueue(_ budget: Budget, _ window: PeriodWindow, bp: Int64, spent: Int128, reason: AlertCrossing.Reason) {
        let fresh = alerted.withLock { $0.insert(AlertKey(budgetID: budget.id, start: window.startMicros, bp: bp)).inserted }
        guard fresh else { return }
        dispatcher.enqueue([
            AlertCrossing(
                budget: budget, window: window, thresholdBasisPoints: bp, spentPico: spent, reason: reason,
                atMicros: now())
        ])
    }

    // MARK: SQL

    private struct ReservedRow {
        var budgetID: Int64
        var spent: Int128
        var held: Int128
        var reserved: Int128
        var limit: Int64
        var fits: Bool
    }

    /// The reservation: one statement, atomic across every budget over the call (see the type's comment).
    /// Returns each budget's figures before the reservation and whether it was made.
    private func reserve(ids: [Int64], starts: [Int64], amount: Int64) async throws -> [ReservedRow] {
        let rows = try await client.query(
            """
            WITH want AS (
                SELECT * FROM unnest(\(ids)::bigint[], \(starts)::bigint[]) AS w (budget_id, period_start_us)
            ), locked AS (
                SELECT p.budget_id, p.period_start_us, p.spent_pusd, p.held_pusd, p.reserved_pusd, b.limit_pusd,
                       b.action
                FROM budget_period p
                JOIN want w ON w.budget_id = p.budget_id AND w.period_start_us = p.period_start_us
                JOIN budget b ON b.id = p.budget_id
                ORDER BY p.budget_id
                FOR UPDATE OF p
            ), verdict AS (
                SELECT coalesce(bool_and(action <> 'block'
                                         OR spent_pusd + held_pusd + reserved_pusd + \(amount)::bigint <= limit_pusd),
                                true) AS fits
                FROM locked
            ), reserved AS (
                UPDATE budget_period p SET reserved_pusd = p.reserved_pusd + \(amount)::bigint
                FROM locked l, verdict v
                WHERE v.fits AND p.budget_id = l.budget_id AND p.period_start_us = l.period_start_us
                RETURNING p.budget_id
            )
            SELECT l.budget_id, l.spent_pusd::text, l.held_pusd::text, l.reserved_pusd::text, l.limit_pusd, v.fits,
                   (SELECT count(*) FROM reserved)
            FROM locked l, verdict v
            """, logger: logger)
        var result: [ReservedRow] = []
        for try await (id, spent, held, reserved, limit, fits, _) in rows.decode(
            (Int64, String, String, String, Int64, Bool, Int64).self)
        {
            result.append(
                ReservedRow(
                    budgetID: id, spent: Int128(spent) ?? 0, held: Int128(held) ?? 0, reserved: Int128(reserved) ?? 0,
                    limit: limit, fits: fits))
        }
        return result
    }

    /// Creates the budget's row for the period (once across replicas), seeded with the recorded paid cost of the
    /// period's calls under its scope so far.
    private func ensurePeriod(_ budget: Budget, _ window: PeriodWindow) async throws {
        let key = PeriodKey(budgetID: budget.id, start: window.startMicros)
        if ensured.withLock({ $0.contains(key) }) { return }
        var months: [Int64] = []
        var day = window.startMicros / UTCDate.microsPerDay
        while day * UTCDate.microsPerDay < window.endMicros {
            let c = UTCDate.civil(days: day)
            let m = Int64(c.year * 100 + c.month)
            if months.last != m { months.append(m) }
            day += 1
        }
        let value = budget.scope.value
        let query: PostgresQuery
        switch budget.scope {
        case .team:
            query = """
                INSERT INTO budget_period (budget_id, period_start_us, period_end_us, spent_pusd)
                SELECT \(budget.id), \(window.startMicros), \(window.endMicros), coalesce(sum(cost_paid_pusd), 0)
                FROM call WHERE month = ANY(\(months)::integer[]) AND started_at_us >= \(window.startMicros)
                  AND started_at_us < \(window.endMicros) AND team = \(value)
                ON CONFLICT DO NOTHING
                """
        case .key(let id):
            query = """
                INSERT INTO budget_period (budget_id, period_start_us, period_end_us, spent_pusd)
                SELECT \(budget.id), \(window.startMicros), \(window.endMicros), coalesce(sum(cost_paid_pusd), 0)
                FROM call WHERE month = ANY(\(months)::integer[]) AND started_at_us >= \(window.startMicros)
                  AND started_at_us < \(window.endMicros) AND key_id = \(id)
                ON CONFLICT DO NOTHING
                """
        case .tag:
            query = """
                INSERT INTO budget_period (budget_id, period_start_us, period_end_us, spent_pusd)
                SELECT \(budget.id), \(window.startMicros), \(window.endMicros), coalesce(sum(cost_paid_pusd), 0)
                FROM call WHERE month = ANY(\(months)::integer[]) AND started_at_us >= \(window.startMicros)
                  AND started_at_us < \(window.endMicros)
                  AND position(',' || \(value) || ',' IN ',' || coalesce(tags, '') || ',') > 0
                ON CONFLICT DO NOTHING
                """
        }
        try await client.query(query, logger: logger)
        ensured.withLock { _ = $0.insert(key) }
    }

    // MARK: Definitions and figures

    /// Creates the budget of this scope and period, or changes the one in force (nil fields: kept, or the
    /// defaults for a new one). Checks the scope as the SQLite store does. One transaction.
    @discardableResult
    package func set(
        scope: BudgetScope, period: BudgetPeriod, limitPico: Int64, action: BudgetAction?,
        alertAtBasisPoints: [Int64]?, webhook: String??, allowNewTag: Bool = false, nowMicros: Int64
    ) async throws -> Budget {
        try await checkScope(scope, allowNewTag: allowNewTag)
        let thresholds = alertAtBasisPoints.map { $0.map(String.init).joined(separator: ",") }
        let hook: String? = webhook ?? nil
        let keepHook = webhook == nil
        let rows = try await client.query(
            """
            INSERT INTO budget (scope_kind, scope_value, period, limit_pusd, action, alert_at_bp, webhook_url,
                                created_at_us, updated_at_us)
            VALUES (\(scope.kind), \(scope.value), \(period.rawValue), \(limitPico),
                    coalesce(\(action?.rawValue), 'block'), coalesce(\(thresholds), ''), \(hook), \(nowMicros),
                    \(nowMicros))
            ON CONFLICT (scope_kind, scope_value, period) WHERE removed_at_us IS NULL DO UPDATE SET
                limit_pusd = excluded.limit_pusd,
                action = coalesce(\(action?.rawValue), budget.action),
                alert_at_bp = coalesce(\(thresholds), budget.alert_at_bp),
                webhook_url = CASE WHEN \(keepHook) THEN budget.webhook_url ELSE excluded.webhook_url END,
                updated_at_us = excluded.updated_at_us
            RETURNING id, action, alert_at_bp, webhook_url
            """, logger: logger)
        for try await (id, a, t, w) in rows.decode((Int64, String, String, String?).self) {
            try await reload()
            return Budget(
                id: id, scope: scope, period: period, limitPico: limitPico, action: BudgetAction(rawValue: a) ?? .block,
                alertAtBasisPoints: t.split(separator: ",").compactMap { Int64($0) }, webhook: w)
        }
        throw BudgetError.store("the budget was not written")
    }

    /// Takes a budget out of force. Throws `BudgetError.notFound`.
    package func remove(id: Int64, nowMicros: Int64) async throws {
        let rows = try await client.query(
            "UPDATE budget SET removed_at_us = \(nowMicros) WHERE id = \(id) AND removed_at_us IS NULL RETURNING id",
            logger: logger)
        var found = false
        for try await _ in rows.decode(Int64.self) { found = true }
        guard found else { throw BudgetError.notFound(id) }
        try await reload()
    }

    /// Every budget's figures for the period containing `atMicros` (reserved: calls in flight on every replica).
    package func uses(atMicros: Int64) async throws -> [BudgetUse] {
        let budgets = definitions.withLock { $0 }
        var result: [BudgetUse] = []
        for budget in budgets {
            let window = budget.period.window(containing: atMicros)
            try await ensurePeriod(budget, window)
            let rows = try await client.query(
                """
                SELECT spent_pusd::text, held_pusd::text, reserved_pusd::text FROM budget_period
                WHERE budget_id = \(budget.id) AND period_start_us = \(window.startMicros)
                """, logger: logger)
            for try await (s, h, r) in rows.decode((String, String, String).self) {
                result.append(
                    BudgetUse(
                        budget: budget, window: window, spentPico: Int128(s) ?? 0, heldPico: Int128(h) ?? 0,
                        reservedPico: Int128(r) ?? 0))
            }
        }
        return result
    }

    /// How many alerts a budget sent in the period starting at `periodStartMicros`, and its last alert (any period):
    /// what `budgets list` shows.
    package func alertSummary(budgetID: Int64, periodStartMicros: Int64) async throws
        -> (count: Int, last: BudgetStore.AlertRecord?)
    {
        var count = 0
        let counted = try await client.query(
            """
            SELECT count(*)::bigint FROM budget_alert
            WHERE budget_id = \(budgetID) AND period_start_us = \(periodStartMicros)
            """, logger: logger)
        for try await n in counted.decode(Int64.self) { count = Int(n) }
        var last: BudgetStore.AlertRecord?
        let rows = try await client.query(
            """
            SELECT a.id, a.period_start_us, a.threshold_bp, a.reason, a.created_at_us, a.delivered_at_us,
                   (SELECT count(*) FROM budget_alert_attempt t WHERE t.alert_id = a.id)::bigint
            FROM budget_alert a WHERE a.budget_id = \(budgetID) ORDER BY a.created_at_us DESC, a.id DESC LIMIT 1
            """, logger: logger)
        for try await (id, start, bp, reason, created, delivered, attempts) in rows.decode(
            (Int64, Int64, Int64, String, Int64, Int64?, Int64).self)
        {
            last = BudgetStore.AlertRecord(
                id: id, periodStartMicros: start, thresholdBasisPoints: bp, reason: reason, createdAtMicros: created,
                deliveredAtMicros: delivered, attempts: Int(attempts))
        }
        return (count, last)
    }

    /// Records the `/metrics` gauges from the shared figures.
    package func publishGauges() async {
        if let uses = try? await uses(atMicros: now()) { gauges.publish(uses) }
    }

    private func checkScope(_ scope: BudgetScope, allowNewTag: Bool) async throws {
        let query: PostgresQuery
        switch scope {
        case .team(let team):
            query = "SELECT count(*)::bigint FROM api_key WHERE team = \(team) AND revoked_at_us IS NULL"
        case .key(let id):
            query = "SELECT count(*)::bigint FROM api_key WHERE id = \(id) AND revoked_at_us IS NULL"
        case .tag:
            if allowNewTag { return }
            let value = scope.value
            query = """
                SELECT count(*)::bigint FROM (SELECT 1 FROM call_rollup
                WHERE position(',' || \(value) || ',' IN ',' || tags || ',') > 0 LIMIT 1) t
                """
        }
        let rows = try await client.query(query, logger: logger)
        var count: Int64 = 0
        for try await c in rows.decode(Int64.self) { count = c }
        guard count > 0 else {
            switch scope {
            case .team(let t):
                throw BudgetError.unknownScope("unknown team \"\(t)\": no active key has it (see `keys list`)")
            case .key(let k):
                throw BudgetError.unknownScope("unknown or revoked key \(k) (see `keys list`)")
            case .tag:
                throw BudgetError.unknownScope(
                    "unknown tag \(scope.value): no recorded call carries it (check the spelling, or pass --new-tag)")
            }
        }
    }
}

/// Alerts in the shared ledger: `budget_alert`'s unique key makes one replica the sender of each.
struct PostgresBudgetAlerts: BudgetAlertStore {
    let client: PostgresClient
    let logger: Logger


    package func claimAlert(_ crossing: AlertCrossing, atMicros: Int64) async throws -> Int64? {
        let rows = try await client.query(
            """
            INSERT INTO budget_alert (budget_id, period_start_us, threshold_bp, reason, spent_pusd, limit_pusd,
                                      created_at_us)
            VALUES (\(crossing.budget.id), \(crossing.window.startMicros), \(crossing.thresholdBasisPoints),
                    \(crossing.reason.rawValue), \(String(crossing.spentPico))::numeric, \(crossing.budget.limitPico),
                    \(atMicros))
            ON CONFLICT DO NOTHING RETURNING id
            """, logger: logger)
        var id: Int64?
        for try await value in rows.decode(Int64.self) { id = value }
        return id
    }

    package func recordAttempt(
        alertID: Int64, attempt: Int, atMicros: Int64, httpStatus: Int?, error: String?, delivered: Bool
    ) async throws {
        let status = httpStatus.map(Int32.init(clamping:))
        try await client.query(
            """
            INSERT INTO budget_alert_attempt (alert_id, attempt, at_us, http_status, error, delivered)
            VALUES (\(alertID), \(Int32(clamping: attempt)), \(atMicros), \(status), \(error), \(delivered))
            """, logger: logger)
        if delivered {
            try await client.query(
                "UPDATE budget_alert SET delivered_at_us = \(atMicros) WHERE id = \(alertID) AND delivered_at_us IS NULL",
                logger: logger)
        }
    }
}
