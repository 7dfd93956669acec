import LedgerCore

/// How CostFigures become rounded cells, shared by the monthly and annual tables.
package enum CostColumns {
    /// The columns after the first (group / month) column, in CSV order.
    static func columns(_ currency: CurrencyConversion, latencyP95: Bool) -> [ReportTable.Column] {
        let u = currency.unit
        let code = currency.code
        var c: [ReportTable.Column] = [
            .init("calls", label: "Calls", essential: true), .init("failed_calls", label: "Failed calls"),
            .init("no_usage_calls", label: "Calls without usage"),
            .init("unpriced_calls", label: "Unpriced calls"),
            .init("input_tokens", label: "Input tokens", essential: true),
            .init("cached_input_tokens", label: "Cached input tokens"),
            .init("output_tokens", label: "Output tokens", essential: true),
            .init("unpriced_tokens", label: "Unpriced tokens"),
            .init("cost_official_\(u)", label: "Official (\(code))", essential: true),
            .init("cost_paid_\(u)", label: "Paid (\(code))", essential: true),
            .init("savings_\(u)", label: "Saved (\(code))", essential: true),
            .init("savings_pct", label: "Saved %", essential: true), .init("roi_pct", label: "ROI %"),
            .init("avg_latency_ms", label: "Avg latency (ms)"),
        ]
        if latencyP95 { c.append(.init("p95_latency_ms", label: "p95 latency (ms)", essential: true)) }
        c.append(.init("fallback_calls", label: "Fallback calls"))
        c += [
            .init("cache_write_5m_tokens", label: "Cache write 5m tokens"),
            .init("cache_write_1h_tokens", label: "Cache write 1h tokens"),
            .init("audio_input_tokens", label: "Audio input tokens"),
            .init("audio_output_tokens", label: "Audio output tokens"),
            .init("missing_official_cost_calls", label: "Calls missing official cost"),
            .init("missing_paid_cost_calls", label: "Calls missing paid cost"),
        ]
        return c
    }

    /// Index of cost_official, cost_paid, savings within a row's cells (after the first column).
    static let moneyIndices = [8, 9, 10]

    /// The body rows and the TOTAL row.
    ///
    /// Money: the TOTAL is the exact total rounded ONCE, half-even to the cent. Each row is its exact value rounded
    /// half-even too, except when those roundings do not add up to the TOTAL: then the fewest rows needed (those
    /// whose rounding moved them furthest the other way) move by one cent (largest-remainder apportionment). So
    /// the rows always sum exactly to the TOTAL, every row is within one cent of its exact value, and the TOTAL
    /// is the correctly rounded exact total. savings = official − paid of the cells, so rows add up across too.
    static func table(_ rows: [CostFigures], total: CostFigures, _ currency: CurrencyConversion, latencyP95: Bool)
        -> (rows: [[ReportTable.Cell]], total: [ReportTable.Cell])
    {
        let official = apportion(rows.map { currency.scaled($0.official) }, unit: currency.centUnit)
        let paid = apportion(rows.map { currency.scaled($0.paid) }, unit: currency.centUnit)
        func cells(_ f: CostFigures, _ o: Int128, _ p: Int128) -> [ReportTable.Cell] {
            counts(f) + [.decimal(o, scale: 2), .decimal(p, scale: 2), .decimal(o - p, scale: 2)]
                + ratios(f) + latency(f, p95: latencyP95) + [.integer(Int128(f.fallbackCalls))] + dimensions(f)
        }
        let body = rows.indices.map { cells(rows[$0], official.rows[$0], paid.rows[$0]) }
        return (body, cells(total, official.total, paid.total))
    }

    /// Rounds each value and their sum half-even to whole `unit`s, then moves the fewest rows by one unit so that
    /// the rows sum to the rounded sum.
    package static func apportion(_ values: [Int128], unit: Int128) -> (rows: [Int128], total: Int128) {
        var rows = values.map { Money.divideHalfEven($0, by: unit) }
        let total = Money.divideHalfEven(values.reduce(0, +), by: unit)
        var gap = total - rows.reduce(0, +)
        // How far each rounding moved the value down (positive) or up (negative), in raw units.
        let error = values.indices.map { values[$0] - rows[$0] * unit }
        let order = values.indices.sorted { error[$0] > error[$1] || (error[$0] == error[$1] && $0 < $1) }
        var i = 0
        while gap > 0, i < order.count {
            rows[order[i]] += 1
            gap -= 1
            i += 1
        }
        i = order.count - 1
        while gap < 0, i >= 0 {
            rows[order[i]] -= 1
            gap += 1
            i -= 1
        }
        return (rows, total)
    }

    static func counts(_ f: CostFigures) -> [ReportTable.Cell] {
        [
            f.calls, f.failedCalls, f.noUsageCalls, f.unpricedCalls, f.inputTokens, f.cachedInputTokens,
            f.outputTokens, f.unpricedTokens,
        ].map { .integer(Int128($0)) }
    }

    /// The token kinds of migrations/0004 and the calls missing each cost, after fallback_calls.
    static func dimensions(_ f: CostFigures) -> [ReportTable.Cell] {
        [
            f.cacheWrite5mTokens, f.cacheWrite1hTokens, f.audioInputTokens, f.audioOutputTokens,
            f.missingOfficialCalls, f.missingPaidCalls,
        ].map { .integer(Int128($0)) }
    }

    /// savings % of official and ROI % (savings ÷ paid × 100), from exact values, two decimals, half-even.
    static func ratios(_ f: CostFigures) -> [ReportTable.Cell] {
        let s = f.savings.picoUSD
        let pct: ReportTable.Cell =
            f.official.picoUSD == 0
            ? .empty : .decimal(Money.divideHalfEven(s * 10_000, by: f.official.picoUSD), scale: 2)
        let roi: ReportTable.Cell =
            f.paid.picoUSD == 0 ? .empty : .decimal(Money.divideHalfEven(s * 10_000, by: f.paid.picoUSD), scale: 2)
        return [pct, roi]
    }

    /// Average (rounded half-even to the microsecond) and p95 (exact) in milliseconds with three decimals.
    static func latency(_ f: CostFigures, p95: Bool) -> [ReportTable.Cell] {
        let avg: ReportTable.Cell =
            f.calls == 0 ? .empty : .decimal(Money.divideHalfEven(f.latencySumMicros, by: Int128(f.calls)), scale: 3)
        guard p95 else { return [avg] }
        return [avg, f.p95LatencyMicros.map { .decimal(Int128($0), scale: 3) } ?? .empty]
    }

    static func exact(_ f: CostFigures, prefix: String) -> [(key: String, value: String)] {
        [
            ("\(prefix)cost_official_usd", f.official.exactUSDString),
            ("\(prefix)cost_paid_usd", f.paid.exactUSDString),
            ("\(prefix)savings_usd", f.savings.exactUSDString),
        ]
    }

    static let roundingNote =
        "money: summed tokens x price, exact; TOTAL rounded once, half-even to the cent; rows rounded half-even, "
        + "apportioned (largest remainder) so they sum exactly to TOTAL; savings = official - paid"
}

extension MonthlyCostReport {
    /// The report as a table in `currency`.
    package func table(currency: CurrencyConversion) -> ReportTable {
        let cells = CostColumns.table(rows.map(\.figures), total: total, currency, latencyP95: true)
        let rows = zip(rows, cells.rows).map { row, c -> [ReportTable.Cell] in
            [.text(row.group.isEmpty ? "(none)" : row.group)] + c
        }
        let total: [ReportTable.Cell] = [.text("TOTAL")] + cells.total
        var notes = [
            "period: \(period.fromDate) to \(period.lastDate) inclusive (UTC; --to is excluded)",
            "rows: by \(grouping); (none) = calls without one",
            CostColumns.roundingNote,
            "latency: average of all calls; p95 = exact nearest rank (ceil(0.95 n)-th fastest)",
        ]
        if let rate = currency.note { notes.append(rate) }
        return ReportTable(
            title: "HolySheep ledger cost report \(period.label), by \(grouping), \(currency.code)",
            notes: notes,
            columns: [.init(grouping.columnName, label: grouping.label, numeric: false)]
                + CostColumns.columns(currency, latencyP95: true),
            rows: rows, footer: [total], exact: CostColumns.exact(self.total, prefix: "total_"))
    }
}

extension AnnualReport {
    /// The report as a table in `currency`; the current year gets an `annualised` row after TOTAL.
    package func table(currency: CurrencyConversion) -> ReportTable {
        let cells = CostColumns.table(rows.map(\.figures), total: total, currency, latencyP95: false)
        let rows = zip(rows, cells.rows).map { row, c -> [ReportTable.Cell] in [.text(row.month.description)] + c }
        var footer: [[ReportTable.Cell]] = [[.text("TOTAL")] + cells.total]
        var notes = [
            "period: \(year)-01-01 to \(year)-12-31 (UTC), one row per month",
            CostColumns.roundingNote,
        ]
        if let p = projection {
            let n = Int128(p.yearSeconds)
            let d = Int128(p.elapsedSeconds)
            let official = currency.cents(picoUSD: total.official.picoUSD, times: n, dividedBy: d)
            let paid = currency.cents(picoUSD: total.paid.picoUSD, times: n, dividedBy: d)
            var cells = [ReportTable.Cell](
                repeating: .empty, count: 1 + CostColumns.columns(currency, latencyP95: false).count)
            cells[0] = .text("annualised")
            cells[1] = .integer(Money.divideHalfEven(Int128(total.calls) * n, by: d))
            cells[1 + 8] = .decimal(official, scale: 2)
            cells[1 + 9] = .decimal(paid, scale: 2)
            cells[1 + 10] = .decimal(official - paid, scale: 2)
            let ratios = CostColumns.ratios(total)
            cells[1 + 11] = ratios[0]
            cells[1 + 12] = ratios[1]
            footer.append(cells)
            notes.append(
                "annualised: the year so far x (days in the year / days elapsed, to the second); "
                    + "not part of TOTAL")
        }
        if let rate = currency.note { notes.append(rate) }
        return ReportTable(
            title: "HolySheep ledger annual report \(year), \(currency.code)", notes: notes,
            columns: [.init("month", label: "Month", numeric: false)]
                + CostColumns.columns(currency, latencyP95: false),
            rows: rows, footer: footer, exact: CostColumns.exact(total, prefix: "total_"))
    }
}

extension RoiCalculator {
    /// The calculator's result: one metric per row (the guide's five figures), the mix in the notes.
    package var table: ReportTable {
        let rows: [[ReportTable.Cell]] = [
            [.text("official_cost_usd_per_month"), .decimal(officialCents, scale: 2)],
            [.text("holysheep_cost_usd_per_month"), .decimal(holysheepCents, scale: 2)],
            [.text("monthly_savings_usd"), .decimal(monthlySavingsCents, scale: 2)],
            [.text("annual_savings_usd"), .decimal(annualSavingsCents, scale: 2)],
            [.text("roi_pct"), roiTenthsPercent.map { .decimal($0, scale: 1) } ?? .empty],
        ]
        var notes = [
            "tokens: \(Money.trimmed(Int128(tokensMicroMillions), scale: 6)) million a month; "
                + (inputShareMicros == 0
                    ? "all priced at output prices (as the migration guide)"
                    : "\(Money.trimmed(Int128(inputShareMicros), scale: 6)) of them at input prices")
        ]
        for line in lines {
            notes.append(
                "\(line.model) x \(Money.trimmed(Int128(line.shareMicros), scale: 6)): official "
                    + "\(Money.trimmed(line.official, scale: 24)) USD, HolySheep "
                    + "\(Money.trimmed(line.holysheep, scale: 24)) USD (exact)")
        }
        notes.append("savings = official - HolySheep; ROI % = savings / HolySheep x 100; annual = monthly x 12")
        notes.append("each figure rounded once, half-even")
        return ReportTable(
            title: "HolySheep migration ROI", notes: notes,
            columns: [.init("metric", label: "Metric", numeric: false), .init("value", label: "Value")], rows: rows,
            footer: [])
    }
}
