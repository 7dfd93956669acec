import LedgerCore
package import LedgerStore

/// The cost report of a period, one row per group (compute only; renderers turn it into text).
///
/// Runs reports/cost_by_group.sql over the `call_rollup` table and reports/latency_*.sql over `call` for the exact
/// p95. Money is summed tokens × each price in Int128 pico-USD, unrounded here.
package struct MonthlyCostReport: Sendable {
    /// One group's row.
    package struct Row: Sendable, Hashable {
        /// The group's name; "" when calls have none (no team, no key, no such tag).
        package var group: String
        package var figures: CostFigures
    }

    package var period: ReportPeriod
    package var grouping: ReportGrouping
    /// Rows in group order.
    package var rows: [Row]
    /// The exact sum of the rows, with the p95 of all calls of the period.
    package var total: CostFigures

    /// Computes the report.
    /// - Parameters:
    ///   - period: the half-open day range.
    ///   - grouping: what each row is.
    ///   - database: the ledger.
    ///   - percentiles: false skips the p95 (charts need only money).
    ///   - closed: read this close's frozen rows (reports/closed_cost_by_group.sql) and the p95 of the calls
    ///     recorded up to the close, instead of the live rows.
    package static func make(
        period: ReportPeriod, grouping: ReportGrouping, database: any ReportStore, percentiles: Bool = true,
        closed: MonthClose? = nil
    ) throws -> MonthlyCostReport {
        try database.read { db in
            try make(period: period, grouping: grouping, db: db, percentiles: percentiles, closed: closed)
        }
    }

    /// The report, inside the caller's read or write.
    static func make(
        period: ReportPeriod, grouping: ReportGrouping, db: any ReportReader, percentiles: Bool, closed: MonthClose? = nil
    ) throws -> MonthlyCostReport {
        do {
            var byGroup: [String: CostFigures] = [:]
            var order: [String] = []
            var arguments: [String: SQLArgument] = [
                "from_day": .int(period.fromDay), "to_day": .int(period.toDay), "by": .text(grouping.sqlName),
                "tag": .text(grouping.tagName),
            ]
            if let closed { arguments["close_id"] = .integer(closed.id) }
            try db.forEach(try db.sql(closed == nil ? "cost_by_group" : "closed_cost_by_group"), arguments) { row in
                let group = try row.text(0) ?? ""
                let figures = try RollupRow(row).figures()
                if byGroup[group] == nil { order.append(group) }
                byGroup[group, default: CostFigures()] = byGroup[group, default: CostFigures()] + figures
            }
            var total = order.reduce(CostFigures()) { $0 + byGroup[$1]! }
            let counts = order.map { ($0, byGroup[$0]!.calls) }
            let p95: (groups: [String: Int64], total: Int64?) =
                percentiles
                ? try LatencyPercentile.p95(
                    period: period, grouping: grouping, groupCounts: counts, db: db, maxCallID: closed?.lastCallID)
                : ([:], nil)
            total.p95LatencyMicros = p95.total
            let result = order.map { group -> Row in
                var figures = byGroup[group]!
                figures.p95LatencyMicros = p95.groups[group]
                return Row(group: group, figures: figures)
            }
            return MonthlyCostReport(period: period, grouping: grouping, rows: result, total: total)
        }
    }
}
