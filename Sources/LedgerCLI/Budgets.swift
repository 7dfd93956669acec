import ArgumentParser
import Foundation
import LedgerBudgets
import LedgerCore
import LedgerStore
import Metrics
import LedgerPostgres

/// `holysheep-ledger budgets`: spend limits per team, key or tag, with alerts (docs/budgets.md).
struct Budgets: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set, list and remove spend budgets per team, client key or tag, with alerts.",
        discussion: """
            A budget limits the exact paid cost of its calls per calendar UTC period (day, week from Monday, \
            month). `serve` reserves each call's worst-case cost before it goes upstream and refuses (429) a call \
            that would take a `block` budget over its limit; alerts fire once per threshold and period (webhook \
            POST with retries, a log line and a metric). Overlapping budgets all apply; the tightest refuses.

            Examples:
              holysheep-ledger budgets set --team research --limit-usd 500 --period month --alert-at 50%,80%,100% \\
                  --webhook https://hooks.example.com/ledger
              holysheep-ledger budgets set --key 7 --limit-usd 20 --period day
              holysheep-ledger budgets set --tag project=search --limit-usd 100 --period week --action alert
              holysheep-ledger budgets list
              holysheep-ledger budgets remove 3
            """,
        subcommands: [BudgetsSet.self, BudgetsList.self, BudgetsRemove.self]
    )
}

struct BudgetsSet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Create a budget, or change the one of the same scope and period.",
        discussion: """
            Exactly one scope: --team (a team some active key has), --key (an active key's id, see `keys list`) or \
            --tag NAME=VALUE (a tag recorded calls carry, from x-ledger-tags; --new-tag for one not seen yet). \
            Amounts are exact decimal USD. Nothing is written when anything is refused.

            Examples:
              holysheep-ledger budgets set --team research --limit-usd 500 --period month --alert-at 50%,80%,100%
              holysheep-ledger budgets set --key 7 --limit-usd 0.25 --period day --action alert
            """)

    @OptionGroup var ledger: LedgerOptions

    @Option(help: "Limit the calls of this team.")
    var team: String?

    @Option(help: "Limit the calls of this client key (its id).")
    var key: Int64?

    @Option(help: ArgumentHelp("Limit the calls carrying this tag.", valueName: "NAME=VALUE"))
    var tag: String?

    @Flag(help: "Accept a --tag no recorded call carries yet.")
    var newTag = false

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("The limit in USD per period (exact decimal, e.g. 500 or 0.25).", valueName: "usd"))
    var limitUsd: String

    @Option(help: ArgumentHelp("day, week (from Monday) or month, calendar UTC.", valueName: "period"))
    var period: String

    @Option(
        help: ArgumentHelp(
            "Alert thresholds in percent of the limit (e.g. 50%,80%,100%; \"\" for none). Kept when changing a budget.",
            valueName: "list"))
    var alertAt: String?

    @Option(
        help: ArgumentHelp(
            "POST each alert here (http:// or https://; \"\" for none). Kept when changing a budget.", valueName: "url"))
    var webhook: String?

    @Option(
        help: ArgumentHelp(
            "block (refuse calls over the limit; the default for a new budget) or alert (only alert). Kept when "
                + "changing a budget.", valueName: "action"))
    var action: String?

    struct Parsed {
        var scope: BudgetScope
        var period: BudgetPeriod
        var limitPico: Int64
        var thresholds: [Int64]?
        var webhook: String??
        var action: BudgetAction?
    }

    func parsed() throws -> Parsed {
        // Checked in run(), not validate(): a refusal is one line (no usage text), and nothing is written.
        let scopes = [team != nil, key != nil, tag != nil].filter { $0 }.count
        guard scopes == 1 else { throw BudgetError.invalid("give exactly one of --team, --key or --tag") }
        let scope: BudgetScope
        if let team {
            let t = team.trimmingSpaces
            guard !t.isEmpty else { throw BudgetError.invalid("--team must not be empty") }
            scope = .team(t)
        } else if let key {
            guard key > 0 else { throw BudgetError.invalid("--key wants a key id (see `keys list`), got \(key)") }
            scope = .key(key)
        } else {
            let pair = try BudgetScope.tagPair(tag ?? "")
            scope = .tag(name: pair.name, value: pair.value)
        }
        guard let period = BudgetPeriod(rawValue: period) else {
            throw BudgetError.invalid("--period wants day, week or month, got \"\(period)\"")
        }
        var parsedAction: BudgetAction?
        if let action {
            guard let a = BudgetAction(rawValue: action) else {
                throw BudgetError.invalid("--action wants block or alert, got \"\(action)\"")
            }
            parsedAction = a
        }
        let limit = try BudgetParsing.limitPico(limitUsd)
        let thresholds = try alertAt.map { $0.trimmingSpaces.isEmpty ? [] : try BudgetParsing.thresholds($0) }
        let hook: String?? = try webhook.map { $0.trimmingSpaces.isEmpty ? nil : try BudgetParsing.webhook($0) }
        return Parsed(
            scope: scope, period: period, limitPico: limit, thresholds: thresholds, webhook: hook,
            action: parsedAction)
    }

    func run() async throws {
        let p = try parsed()
        let result: (budget: Budget, created: Bool, overlapping: [Budget])
        if let settings = try ledger.postgres() {
            result = try await BudgetFigures.withPostgres(settings) { budgets in
                let before = try await budgets.uses(atMicros: nowMicros()).map(\.budget)
                let budget = try await budgets.set(
                    scope: p.scope, period: p.period, limitPico: p.limitPico, action: p.action,
                    alertAtBasisPoints: p.thresholds, webhook: p.webhook, allowNewTag: newTag, nowMicros: nowMicros())
                return (budget, !before.contains { $0.id == budget.id }, [])
            }
        } else {
            let set = try BudgetStore(database: ledger.openSQLite()).set(
                scope: p.scope, period: p.period, limitPico: p.limitPico, action: p.action,
                alertAtBasisPoints: p.thresholds, webhook: p.webhook, allowNewTag: newTag, nowMicros: nowMicros())
            result = (set.budget, set.created, set.overlapping)
        }
        let b = result.budget
        print(
            "\(result.created ? "created" : "changed") budget \(b.id): \(b.scope), \(BudgetParsing.usd(Int128(b.limitPico))) "
                + "USD per \(b.period.rawValue), \(b.action.rawValue)"
                + (b.alertAtBasisPoints.isEmpty ? "" : ", alerts at " + b.alertAtBasisPoints.map(BudgetParsing.percent).joined(separator: ","))
                + (b.webhook.map { " to \($0)" } ?? ""))
        for other in result.overlapping {
            print(
                "also applies to some of these calls: budget \(other.id) (\(other.scope), "
                    + "\(BudgetParsing.usd(Int128(other.limitPico))) USD per \(other.period.rawValue)); the tightest refuses")
        }
    }
}

struct BudgetsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List budgets with this period's spend.",
        discussion: """
            Tab-separated: id, scope, period, action, limit_usd, spent_usd (the exact recorded paid cost of the \
            period's calls), reserved_usd (kept for calls whose usage never arrived; reservations of calls in \
            flight are in serve's /metrics), remaining_usd, resets_at, alert_at, alerts_sent (this period), \
            last_alert. Exact amounts, not rounded.

            Examples:
              holysheep-ledger budgets list
            """)

    @OptionGroup var ledger: LedgerOptions

    func run() async throws {
        let listings: [BudgetStore.Listing]
        if let settings = try ledger.postgres() {
            // The shared figures, and each budget's alerts from the ledger.
            listings = try await BudgetFigures.withPostgres(settings) { budgets in
                var listings: [BudgetStore.Listing] = []
                for use in try await budgets.uses(atMicros: nowMicros()) {
                    let alerts = try await budgets.alertSummary(
                        budgetID: use.budget.id, periodStartMicros: use.window.startMicros)
                    listings.append(BudgetStore.Listing(use: use, alertsThisPeriod: alerts.count, lastAlert: alerts.last))
                }
                return listings
            }
        } else {
            listings = try BudgetStore(database: ledger.openSQLite()).list(atMicros: nowMicros())
        }
        print(
            [
                "id", "scope", "period", "action", "limit_usd", "spent_usd", "reserved_usd", "remaining_usd",
                "resets_at", "alert_at", "alerts_sent", "last_alert",
            ].joined(separator: "\t"))
        for l in listings {
            let u = l.use
            let last = l.lastAlert.map { a in
                "\(BudgetParsing.percent(a.thresholdBasisPoints)) at \(UTCDate.isoTimestamp(micros: a.createdAtMicros)) "
                    + (a.deliveredAtMicros != nil
                        ? "(delivered, \(a.attempts) attempts)"
                        : u.budget.webhook == nil ? "(no webhook)" : "(not delivered, \(a.attempts) attempts)")
            }
            print(
                [
                    String(u.budget.id), u.budget.scope.description, u.budget.period.rawValue, u.budget.action.rawValue,
                    BudgetParsing.usd(Int128(u.budget.limitPico)), BudgetParsing.usd(u.spentPico),
                    BudgetParsing.usd(u.heldPico), BudgetParsing.usd(u.remainingPico),
                    UTCDate.isoTimestamp(micros: u.window.endMicros),
                    u.budget.alertAtBasisPoints.map(BudgetParsing.percent).joined(separator: ","),
                    String(l.alertsThisPeriod), last ?? "",
                ].joined(separator: "\t"))
        }
    }
}

struct BudgetsRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a budget (its alerts stay recorded).",
        discussion: """
            A running serve stops applying it within a second.

            Examples:
              holysheep-ledger budgets remove 3
            """)

    @OptionGroup var ledger: LedgerOptions

    @Argument(help: "The budget's id (see budgets list).")
    var id: Int64

    func run() async throws {
        if let settings = try ledger.postgres() {
            try await BudgetFigures.withPostgres(settings) { try await $0.remove(id: id, nowMicros: nowMicros()) }
            print("removed budget \(id)")
            return
        }
        let budget = try BudgetStore(database: ledger.openSQLite()).remove(id: id, nowMicros: nowMicros())
        print("removed budget \(id) (\(budget.scope), \(budget.period.rawValue))")
    }
}

/// Budgets on either store, for the commands (serve builds its own admission).
enum BudgetFigures {
    /// Every budget's figures for the period containing `atMicros`.
    static func uses(_ ledger: LedgerOptions, atMicros: Int64) async throws -> [BudgetUse] {
        if let settings = try ledger.postgres() {
            return try await withPostgres(settings) { try await $0.uses(atMicros: atMicros) }
        }
        return try BudgetStore(database: ledger.openSQLite()).list(atMicros: atMicros).map(\.use)
    }

    /// Runs `body` with the shared budgets of a PostgreSQL ledger (its pool running meanwhile).
    static func withPostgres<T: Sendable>(
        _ settings: PostgresSettings, _ body: @Sendable (PostgresBudgets) async throws -> T
    ) async throws -> T {
        let budgets = PostgresBudgets(
            settings: settings, prices: NoBudgetPrices(), poster: nil, metrics: NOOPMetricsHandler.instance,
            logger: LedgerOptions.quietLogger, now: { nowMicros() })
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await budgets.run() }
            defer { group.cancelAll() }
            do {
                try await budgets.reload()
            } catch {
                throw ValidationError("cannot read budgets from \(settings.redacted): \(PostgresSettings.cause(of: error))")
            }
            return try await body(budgets)
        }
    }
}

/// The commands never reserve: no prices needed.
struct NoBudgetPrices: BudgetPrices {
    func candidatePrices(model: String, atMicros micros: Int64, promptTokensAtMost: Int64) -> [ModelPrice] { [] }
}
