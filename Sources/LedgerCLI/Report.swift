import ArgumentParser
import LedgerCore
import LedgerReports
import LedgerStore

/// `holysheep-ledger report`: the finance report of a month, a year or a date range.
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cost report: official list price vs what HolySheep cost, per model, team, key, day or tag.",
        discussion: """
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
        help: ArgumentHelp("Rows per model, provider, team, key, day or tag:NAME.", valueName: "grouping"),
        transform: { text in try ReportGrouping(parsing: text) })
    var by: ReportGrouping?

    @Option(help: "table, csv, json, markdown or html (default: from --output's extension, else table).")
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

    @Flag(help: "Start CSV with a UTF-8 byte-order mark (for Excel).")
    var bom = false

    func validate() throws {
        let chosen = [month != nil, year != nil, from != nil || to != nil].filter { $0 }.count
        guard chosen <= 1 else { throw ValidationError("give one of --month, --year or --from/--to") }
        guard (from == nil) == (to == nil) else { throw ValidationError("--from and --to go together") }
        if year != nil, by != nil { throw ValidationError("--by does not apply to --year (rows are months)") }
        if let year, !(1970...9999).contains(year) { throw ValidationError("--year \(year) is out of range") }
        do { _ = try RateBook.currency(parsing: currency) } catch { throw ValidationError(error.description) }
    }

    func run() async throws {
        let database = try ledger.open()
        let now = ReportOutput.nowMicros()
        let format = format ?? output.flatMap(ReportFormat.init(fileName:)) ?? .table
        let rates = RateBook(database: database)
        let table: ReportTable
        var charts: [HTMLRenderer.Chart] = []
        if let year {
            let conversion = try rates.conversion(currency: currency, period: ReportPeriod(year: year))
            let report = try AnnualReport.make(year: year, nowMicros: now, database: database)
            table = report.table(currency: conversion)
            if format == .html { charts = CostCharts.annual(report, currency: conversion) }
        } else {
            let period =
                if let from, let to { try ReportPeriod(from: from, to: to) } else {
                    ReportPeriod(month: month ?? BillingMonth(containing: now))
                }
            let conversion = try rates.conversion(currency: currency, period: period)
            table = try MonthlyCostReport.make(period: period, grouping: by ?? .model, database: database)
                .table(currency: conversion)
            if format == .html {
                charts = try CostCharts.make(period: period, currency: conversion, database: database)
            }
        }
        try ReportOutput.write(format.render(table, charts: charts, bom: bom), to: output)
    }
}
