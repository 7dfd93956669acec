import GRDB
package import LedgerBudgets
package import LedgerCore

/// Budgets in a SQLite ledger (migrations/0006_budgets.sql): definitions, kept reservations, alerts and their
/// attempts, and each budget's spend for a period computed from the ledger's rows (docs/budgets.md).
package struct BudgetStore: LocalBudgetStore {
    package let database: LedgerDatabase

    package init(database: LedgerDatabase) { self.database = database }

    /// What `budgets set` did.
    package struct SetResult: Sendable {
        package var budget: Budget
        /// False: a budget of the same scope and period was changed.
        package var created: Bool
        /// Other budgets in force that also apply to some of the same calls (all apply; the tightest refuses).
        package var overlapping: [Budget]
    }

    /// Creates the budget of this scope and period, or changes the one in force. Checks the scope exists (a team
    /// some key has, a key that is not revoked, a tag some recorded call carries unless `allowNewTag`). One
    /// transaction: nothing is written when anything is refused. Nil action, thresholds or webhook: a new budget
    /// gets block, none, none; a changed one keeps its own.
    package func set(
        scope: BudgetScope, period: BudgetPeriod, limitPico: Int64, action: BudgetAction?,
        alertAtBasisPoints: [Int64]?, webhook: String??, allowNewTag: Bool = false, nowMicros: Int64
    ) throws -> SetResult {
        do {
            return try database.writer.write { db in
                try Self.checkScope(scope, allowNewTag: allowNewTag, db)
                let current = try Self.budgets(db).first { $0.scope == scope && $0.period == period }
                let existing = current?.id
                let action = action ?? current?.action ?? .block
                let alertAtBasisPoints = alertAtBasisPoints ?? current?.alertAtBasisPoints ?? []
                let webhook: String? = webhook ?? current?.webhook
                let thresholds = alertAtBasisPoints.map(String.init).joined(separator: ",")
                let id: Int64
                if let existing {
                    try db.execute(
                        sql: """
                            UPDATE budget SET limit_pusd = ?, action = ?, alert_at_bp = ?, webhook_url = ?, updated_at_us = ?
                            WHERE id = ?
                            """,
                        arguments: [limitPico, action.rawValue, thresholds, webhook, nowMicros, existing])
                    id = existing
                } else {
                    try db.execute(
                        sql: """
                            INSERT INTO budget (scope_kind, scope_value, period, limit_pusd, action, alert_at_bp,
                                                webhook_url, created_at_us, updated_at_us)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """,
                        arguments: [
                            scope.kind, scope.value, period.rawValue, limitPico, action.rawValue, thresholds, webhook,
                            nowMicros, nowMicros,
                        ])
                    id = db.lastInsertedRowID
                }
                let budget = Budget(
                    id: id, scope: scope, period: period, limitPico: limitPico, action: action,
                    alertAtBasisPoints: alertAtBasisPoints, webhook: webhook)
                let others = try Self.budgets(db).filter { $0.id != id }
                return SetResult(
                    budget: budget, created: existing == nil,
                    overlapping: try others.filter { try Self.overlap(budget.scope, $0.scope, db) })
            }
        } catch let error as DatabaseError {
            throw LedgerStoreError.database(error.message ?? "\(error.resultCode)")
        }
    }

    /// Takes a budget out of force (its row and alerts stay). Throws `BudgetError.notFound`.
    package func remove(id: Int64, nowMicros: Int64) throws -> Budget {
        try database.writer.write { db in
            guard let budget = try Self.budgets(db).first(where: { $0.id == id }) else { throw BudgetError.notFound(id) }
            try db.execute(sql: "UPDATE budget SET removed_at_us = ? WHERE id = ?", arguments: [nowMicros, id])
            return budget
        }
    }

    // MARK: LocalBudgetStore

    package func budgets() throws -> [Budget] {
        try database.writer.read { try Self.budgets($0) }
    }

    package func periodFigures(_ budget: Budget, window: PeriodWindow) throws -> (
        spent: Int128, held: Int128, alerted: Set<Int64>
    ) {
        try database.writer.read { db in
            let spent = try Self.spent(budget.scope, window: window, db)
            let held =
                try Int64.fetchOne(
                    db, sql: "SELECT held_pusd FROM budget_held WHERE budget_id = ? AND period_start_us = ?",
                    arguments: [budget.id, window.startMicros]) ?? 0
            let alerted = try Int64.fetchAll(
                db, sql: "SELECT threshold_bp FROM budget_alert WHERE budget_id = ? AND period_start_us = ?",
                arguments: [budget.id, window.startMicros])
            return (spent, Int128(held), Set(alerted))
        }
    }

    package func recordHeld(budgetID: Int64, window: PeriodWindow, amountPico: Int64) async throws {
        try await database.writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO budget_held (budget_id, period_start_us, held_pusd, calls) VALUES (?, ?, ?, 1)
                    ON CONFLICT DO UPDATE SET held_pusd = held_pusd + excluded.held_pusd, calls = calls + 1
                    """, arguments: [budgetID, window.startMicros, amountPico])
        }
    }

    package func claimAlert(_ crossing: AlertCrossing, atMicros: Int64) async throws -> Int64? {
        try await database.writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO budget_alert (budget_id, period_start_us, threshold_bp, reason, spent_pusd, limit_pusd,
                                              created_at_us)
                    VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                    """,
                arguments: [
                    crossing.budget.id, crossing.window.startMicros, crossing.thresholdBasisPoints,
                    crossing.reason.rawValue, Int64(clamping: crossing.spentPico), crossing.budget.limitPico, atMicros,
                ])
            return db.changesCount == 1 ? db.lastInsertedRowID : nil
        }
    }

    package func recordAttempt(
        alertID: Int64, attempt: Int, atMicros: Int64, httpStatus: Int?, error: String?, delivered: Bool
    ) async throws {
        try await database.writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO budget_alert_attempt (alert_id, attempt, at_us, http_status, error, delivered)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [alertID, attempt, atMicros, httpStatus, error, delivered])
            if delivered {
                try db.execute(
                    sql: "UPDATE budget_alert SET delivered_at_us = ? WHERE id = ? AND delivered_at_us IS NULL",
                    arguments: [atMicros, alertID])
            }
        }
    }

    // MARK: Listing

    /// One alert as `budgets list` shows it.
    package struct AlertRecord: Sendable, Hashable {
        package var id: Int64
        package var periodStartMicros: Int64
        package var thresholdBasisPoints: Int64
        package var reason: String
        package var createdAtMicros: Int64
        package var deliveredAtMicros: Int64?
        package var attempts: Int

        package init(
            id: Int64, periodStartMicros: Int64, thresholdBasisPoints: Int64, reason: String, createdAtMicros: Int64,
            deliveredAtMicros: Int64?, attempts: Int
        ) {
            self.id = id
            self.periodStartMicros = periodStartMicros
            self.thresholdBasisPoints = thresholdBasisPoints
            self.reason = reason
            self.createdAtMicros = createdAtMicros
            self.deliveredAtMicros = deliveredAtMicros
            self.attempts = attempts
        }
    }

    /// A budget with its figures for the period containing `atMicros` and its alerts in that period.
    package struct Listing: Sendable {
        package var use: BudgetUse
        package var alertsThisPeriod: Int
        package var lastAlert: AlertRecord?

        package init(use: BudgetUse, alertsThisPeriod: Int, lastAlert: AlertRecord?) {
            self.use = use
            self.alertsThisPeriod = alertsThisPeriod
            self.lastAlert = lastAlert
        }
    }

    /// Every budget in force, with the ledger's figures now. Reserved is what is kept for calls without usage:
    /// reservations of calls in flight live in the running `serve` (its `/metrics`).
    package func list(atMicros: Int64) throws -> [Listing] {
        try database.writer.read { db in
            try Self.budgets(db).map { budget in
                let window = budget.period.window(containing: atMicros)
                let spent = try Self.spent(budget.scope, window: window, db)
                let held =
                    try Int64.fetchOne(
                        db, sql: "SELECT held_pusd FROM budget_held WHERE budget_id = ? AND period_start_us = ?",
                        arguments: [budget.id, window.startMicros]) ?? 0
                let count =
                    try Int.fetchOne(
                        db, sql: "SELECT count(*) FROM budget_alert WHERE budget_id = ? AND period_start_us = ?",
                        arguments: [budget.id, window.startMicros]) ?? 0
                let last = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT a.id, a.period_start_us, a.threshold_bp, a.reason, a.created_at_us, a.delivered_at_us,
                               (SELECT count(*) FROM budget_alert_attempt t WHERE t.alert_id = a.id)
                        FROM budget_alert a WHERE a.budget_id = ? ORDER BY a.created_at_us DESC, a.id DESC LIMIT 1
                        """, arguments: [budget.id]
                ).map {
                    AlertRecord(
                        id: $0[0], periodStartMicros: $0[1], thresholdBasisPoints: $0[2], reason: $0[3],
                        createdAtMicros: $0[4], deliveredAtMicros: $0[5], attempts: $0[6])
                }
                return Listing(
                    use: BudgetUse(
                        budget: budget, window: window, spentPico: spent, heldPico: Int128(held), reservedPico: 0),
                    alertsThisPeriod: count, lastAlert: last)
            }
        }
    }

    /// Every attempt of an alert, in order (tests, audits).
    package func attempts(alertID: Int64) throws -> [(attempt: Int, httpStatus: Int?, delivered: Bool)] {
        try database.writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT attempt, http_status, delivered FROM budget_alert_attempt WHERE alert_id = ? ORDER BY attempt",
                arguments: [alertID]
            ).map { ($0[0], $0[1], $0[2]) }
        }
    }

    /// Every alert recorded (tests, audits), oldest first.
    package func alerts() throws -> [AlertRecord] {
        try database.writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT a.id, a.period_start_us, a.threshold_bp, a.reason, a.created_at_us, a.delivered_at_us,
                           (SELECT count(*) FROM budget_alert_attempt t WHERE t.alert_id = a.id)
                    FROM budget_alert a ORDER BY a.id
                    """
            ).map {
                AlertRecord(
                    id: $0[0], periodStartMicros: $0[1], thresholdBasisPoints: $0[2], reason: $0[3],
                    createdAtMicros: $0[4], deliveredAtMicros: $0[5], attempts: $0[6])
            }
        }
    }

    // MARK: SQL

    static func budgets(_ db: Database) throws -> [Budget] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT id, scope_kind, scope_value, period, limit_pusd, action, alert_at_bp, webhook_url
                FROM budget WHERE removed_at_us IS NULL ORDER BY id
                """
        ).compactMap { r in
            guard let scope = BudgetScope(kind: r[1], value: r[2]), let period = BudgetPeriod(rawValue: r[3]),
                let action = BudgetAction(rawValue: r[5])
            else { return nil }
            let thresholds: String = r[6]
            return Budget(
                id: r[0], scope: scope, period: period, limitPico: r[4], action: action,
                alertAtBasisPoints: thresholds.split(separator: ",").compactMap { Int64($0) }, webhook: r[7])
        }
    }

    /// The exact paid cost of the scope's calls in `window`, from `call_rollup` (summed tokens x the paid row's
    /// rates, in Int128: exactly the sum of the rows' cost_paid_pusd, as the reports compute it). Calls without a
    /// paid cost (no usage, or unpriced on the paid list) add nothing here.
    static func spent(_ scope: BudgetScope, window: PeriodWindow, _ db: Database) throws -> Int128 {
        let filter: String
        let value: any DatabaseValueConvertible
        switch scope {
        case .team(let team):
            filter = "r.team = ?"
            value = team
        case .key(let id):
            filter = "r.key_id = ?"
            value = id
        case .tag:
            filter = "instr(',' || r.tags || ',', ',' || ? || ',') > 0"
            value = scope.value
        }
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT sum(r.prompt_tokens), sum(r.cached_prompt_tokens), sum(r.completion_tokens),
                       sum(r.cache_write_5m_tokens), sum(r.cache_write_1h_tokens), sum(r.audio_prompt_tokens),
                       sum(r.audio_completion_tokens),
                       p.input_musd_per_mtok, p.cached_input_musd_per_mtok, p.output_musd_per_mtok,
                       p.cache_write_input_musd_per_mtok, p.cache_write_1h_input_musd_per_mtok,
                       p.input_audio_musd_per_mtok, p.output_audio_musd_per_mtok
                FROM call_rollup AS r
                JOIN price AS p
                  ON p.id = CASE r.provider_kind WHEN 'official' THEN r.official_price_id ELSE r.holysheep_price_id END
                WHERE r.day >= ? AND r.day < ? AND r.price_status <> 'no_usage' AND \(filter)
                GROUP BY p.id
                """,
            arguments: [
                window.startMicros / UTCDate.microsPerDay, window.endMicros / UTCDate.microsPerDay, value,
            ])
        var total: Int128 = 0
        while let r = try rows.next() {
            let usage = TokenUsage(
                promptTokens: r[0], cachedPromptTokens: r[1], completionTokens: r[2], cacheWrite5mTokens: r[3],
                cacheWrite1hTokens: r[4], audioPromptTokens: r[5], audioCompletionTokens: r[6])
            let price = ModelPrice(
                input: r[7], cachedInput: r[8], output: r[9], cacheWriteInput: r[10], cacheWrite1hInput: r[11],
                inputAudio: r[12], outputAudio: r[13])
            do { total += try CostCalculator.cost(for: usage, price: price).picoUSD } catch {
                throw BudgetError.store("budget spend not computable from the ledger's rollup: \(error)")
            }
        }
        return total
    }

    static func checkScope(_ scope: BudgetScope, allowNewTag: Bool, _ db: Database) throws {
        switch scope {
        case .team(let team):
            let known = try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM api_key WHERE team = ? AND revoked_at_us IS NULL)",
                arguments: [team])
            guard known == true else {
                throw BudgetError.unknownScope("unknown team \"\(team)\": no active key has it (see `keys list`)")
            }
        case .key(let id):
            let revoked = try Row.fetchOne(db, sql: "SELECT revoked_at_us FROM api_key WHERE id = ?", arguments: [id])
            guard let revoked else {
                throw BudgetError.unknownScope("unknown key \(id): no client key has this id (see `keys list`)")
            }
            guard revoked[0] as Int64? == nil else {
                throw BudgetError.unknownScope("key \(id) is revoked: a budget on it would never apply")
            }
        case .tag:
            guard !allowNewTag else { return }
            let seen = try Bool.fetchOne(
                db,
                sql: "SELECT EXISTS (SELECT 1 FROM call_rollup WHERE instr(',' || tags || ',', ',' || ? || ',') > 0)",
                arguments: [scope.value])
            guard seen == true else {
                throw BudgetError.unknownScope(
                    "unknown tag \(scope.value): no recorded call carries it (check the spelling, or pass --new-tag)")
            }
        }
    }

    /// Whether two scopes can cover the same call: the same scope, a key of the team, or a tag (any call may carry it).
    static func overlap(_ a: BudgetScope, _ b: BudgetScope, _ db: Database) throws -> Bool {
        switch (a, b) {
        case (.team(let t), .team(let u)): return t == u
        case (.key(let k), .key(let l)): return k == l
        case (.tag, _), (_, .tag): return true
        case (.team(let t), .key(let k)), (.key(let k), .team(let t)):
            return try String.fetchOne(db, sql: "SELECT team FROM api_key WHERE id = ?", arguments: [k]) == t
        }
    }
}

/// The paid prices a call could be costed at, from the live price book: the base row and every tier row (long
/// context below the call's input bound, any service tier) of each list the configured providers are paid at.
package struct BudgetPriceBook: BudgetPrices {
    package let book: LivePriceBook
    package let kinds: [ProviderKind]

    package init(book: LivePriceBook, kinds: [ProviderKind] = ProviderKind.allCases) {
        self.book = book
        self.kinds = kinds
    }

    package func candidatePrices(model: String, atMicros micros: Int64, promptTokensAtMost: Int64) -> [ModelPrice] {
        let current = book.current
        return kinds.flatMap { kind in
            current.rowsInEffect(model: model, kind: kind, atMicros: micros)
                .filter { $0.minPromptTokens < promptTokensAtMost || $0.minPromptTokens == 0 }.map(\.price)
        }
    }
}
