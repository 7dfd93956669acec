import ArgumentParser
import Foundation
import LedgerBudgets
import LedgerCore
import LedgerReports
import LedgerStore

/// `holysheep-ledger report`: the finance report of a month, a year or a date range.
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cost report: official list price vs what HolySheep cost, per model, team, key, day or tag.",
        discussion: """
            Every report starts with a headline: paid, official, saved, saved %, calls and failure rate, with \
            the change against the previous period of the same length (the previous month, year or as many days).

            The table, Markdown and HTML use headers for people ("Paid (USD)") and thousands separators; CSV and \
            JSON keep the stable machine column names below (an interface).

            One row per group: calls, failed calls, calls without usage or without a price, input / cached / \
            output tokens, cost at official prices, cost paid, savings, savings %, ROI %, average and exact p95 \
            latency, fallbacks; then a TOTAL row.

            Money is summed tokens x price, exact. TOTAL is rounded once, half-even to the cent; rows are rounded \
            half-even and, where that would not add up, apportioned by largest remainder, so the rows always sum \
            to TOTAL. The exact figures are listed too (JSON "exact").

            Ranges are UTC and half-open: --from 2026-11-01 --to 2026-12-01 is all of November.

            Examples:
              holysheep-ledger report
              holysheep-ledger report --month 2026-11 --by team --format csv --output nov.csv
              holysheep-ledger report --month 2026-11 --output nov.html
              holysheep-ledger report --year 2026
              holysheep-ledger report --from 2026-11-01 --to 2026-11-08 --by day
              holysheep-ledger report --month 2026-11 --by tag:project --currency THB
            """)

    @OptionGroup var ledger: LedgerOptions

    @Option(
        help: ArgumentHelp("A UTC month, YYYY-MM (default: the current month).", valueName: "YYYY-MM"),
        transform: { text in try BillingMonth(parsing: text) })
    var month: BillingMonth?

    @Option(help: ArgumentHelp("A calendar year: one row per month and the total.", valueName: "YYYY"))
    var year: Int?

    @Option(help: ArgumentHelp("First day included (UTC), with --to.", valueName: "YYYY-MM-DD"))
    var from: String?

    @Option(help: ArgumentHelp("First day NOT included (UTC), with --from.", valueName: "YYYY-MM-DD"))
    var to: String?

    @Option(
        help: ArgumentHelp(
            "Rows per model, provider, team, key, day or tag:NAME; for html and xlsx a comma-separated list "
                + "gives a table (sheet) per grouping.",
            valueName: "grouping"))
    var by: String?

    /// `--by` parsed: one or more groupings.
    var groupings: [ReportGrouping]? {
        get throws {
            guard let by else { return nil }
            return try by.split(separator: ",", omittingEmptySubsequences: false).map {
                try ReportGrouping(parsing: String($0))
            }
        }
    }

    @Option(help: "table, csv, json, markdown, html or xlsx (default: from --output's extension, else table).")
    var format: ReportFormat?

    @Option(
        help: ArgumentHelp(
            "Write to this file atomically (temp file + rename) instead of stdout.",
            valueName: "file"))
    var output: String?

    @Option(
        help: ArgumentHelp(
            "Show amounts in this currency at a rate from `rates set` (default USD).",
            valueName: "code"))
    var currency: String = "USD"

    @Option(
        help: ArgumentHelp(
            "Columns of the table, Markdown and HTML: all, or a comma-separated list of CSV column names "
                + "(default: the terminal table shows calls, input and output tokens, official, paid, saved, "
                + "saved % and p95 latency; the other formats all). CSV and JSON always carry every column.",
            valueName: "all|name,name"))
    var columns: String?

    @Flag(
        name: .customLong("as-recorded"),
        help: "For a closed month: what the rows say now, with the closed TOTAL and the difference.")
    var asRecorded = false

    @Flag(help: "Start CSV with a UTF-8 byte-order mark (for Excel).")
    var bom = false

    func validate() throws {
        let chosen = [month != nil, year != nil, from != nil || to != nil].filter { $0 }.count
        guard chosen <= 1 else { throw ValidationError("give one of --month, --year or --from/--to") }
        guard (from == nil) == (to == nil) else { throw ValidationError("--from and --to go together") }
        if asRecorded, year != nil || from != nil {
            throw ValidationError("--as-recorded applies to --month (closes are per month)")
        }
        let chosenFormat = format ?? output.flatMap(ReportFormat.init(fileName:)) ?? .table
        do {
            if let groupings = try groupings, groupings.count > 1, ![.html, .xlsx].contains(chosenFormat) {
                throw ValidationError("several --by groupings need --format html or xlsx (a table or sheet each)")
            }
        } catch let error as ReportError { throw ValidationError(error.description) }
        if year != nil, by != nil { throw ValidationError("--by does not apply to --year (rows are months)") }
        if let year, !(1970...9999).contains(year) { throw ValidationError("--year \(year) is out of range") }
        do { _ = try RateBook.currency(parsing: currency) } catch { throw ValidationError(error.description) }
    }

    func run() async throws {
        let database = try await ledger.open()
        let format = format ?? output.flatMap(ReportFormat.init(fileName:)) ?? .table
        let span: ReportRequest.Span =
            if let year { .year(year) } else if let from, let to { .range(try ReportPeriod(from: from, to: to)) } else {
                .month(month ?? BillingMonth(containing: ReportOutput.nowMicros()))
            }
        var request = ReportRequest(
            span: span, grouping: try groupings?.first, format: format, currency: currency,
            columns: columns.map(ColumnSelection.init(parsing:)), bom: bom, asRecorded: asRecorded)
        request.moreGroupings = Array((try groupings ?? []).dropFirst())
        try ReportOutput.write(request.render(database: database, nowMicros: ReportOutput.nowMicros()), to: output)
        // Budget use for the current period, after the terminal table only (files and machine formats unchanged).
        if format == .table, output == nil {
            let lines = BudgetUseSection.lines(try await BudgetFigures.uses(ledger, atMicros: ReportOutput.nowMicros()))
            if !lines.isEmpty { print("\n" + lines.joined(separator: "\n")) }
        }
    }
}

/// `report`'s budget section: each budget in force with this period's spend (docs/budgets.md).
enum BudgetUseSection {
    static func lines(_ uses: [BudgetUse]) -> [String] {
        guard !uses.isEmpty else { return [] }
        var rows = [["budget", "scope", "period", "from", "limit_usd", "spent_usd", "reserved_usd", "remaining_usd", "used", "resets_at"]]
        for u in uses {
            let used = (u.spentPico + u.heldPico) * 10_000 / Int128(u.budget.limitPico)
            rows.append([
                String(u.budget.id), u.budget.scope.description, u.budget.period.rawValue, u.window.label,
                BudgetParsing.usd(Int128(u.budget.limitPico)), BudgetParsing.usd(u.spentPico),
                BudgetParsing.usd(u.heldPico), BudgetParsing.usd(u.remainingPico),
                BudgetParsing.percent(Int64(clamping: used)),
                UTCDate.isoTimestamp(micros: u.window.endMicros),
            ])
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return ["Budgets this period (exact USD; spent = recorded paid cost, reserved = kept for calls without usage)"]
            + rows.map { r in
                r.enumerated().map { i, v in v.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
            }
    }
}
