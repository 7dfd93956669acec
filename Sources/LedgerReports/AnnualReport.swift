package import LedgerCore
package import LedgerStore

/// A year's costs, one row per month, the total, and for the current year an annualised projection.
package struct AnnualReport: Sendable {
    /// One month's row.
    package struct Row: Sendable, Hashable {
        package var month: BillingMonth
        package var figures: CostFigures
    }

    /// How far the current year has run: the projection scales the total so far by `yearSeconds / elapsedSeconds`.
    package struct Projection: Sendable, Hashable {
        package var elapsedSeconds: Int64
        package var yearSeconds: Int64
    }

    package var year: Int
    /// January to December for a past year; January to the current month for the current year.
    package var rows: [Row]
    package var total: CostFigures
    /// Set for the current year only.
    package var projection: Projection?

    /// Computes the report.
    /// - Parameters:
    ///   - year: the calendar year.
    ///   - nowMicros: the clock, to tell the current year and how far it has run.
    ///   - database: the ledger.
    package static func make(year: Int, nowMicros: Int64, database: any ReportStore) throws -> AnnualReport {
        let period = ReportPeriod(year: year)
        let current = BillingMonth(containing: nowMicros)
        var months: [BillingMonth] = []
        var m = try BillingMonth(year: year, month: 1)
        while m.year == year, current.year != year || m <= current {
            months.append(m)
            m = m.next
        }
        var byMonth: [Int: CostFigures] = [:]
        try database.read { db in
            try db.forEach(
                try db.sql("cost_by_month"), ["from_day": .int(period.fromDay), "to_day": .int(period.toDay)]
            ) { row in
                let code = Int(try row.int(0) ?? 0)
                byMonth[code, default: CostFigures()] =
                    byMonth[code, default: CostFigures()] + (try RollupRow(row).figures())
            }
        }
        let rows = months.map { Row(month: $0, figures: byMonth[$0.code] ?? CostFigures()) }
        // Calls after `now` (clock skew, imported data) still count: every month of the ledger is shown.
        var extra = byMonth.keys.filter { code in !months.contains { $0.code == code } }.sorted()
        var allRows = rows
        while let code = extra.first {
            extra.removeFirst()
            allRows.append(Row(month: try BillingMonth(year: code / 100, month: code % 100), figures: byMonth[code]!))
        }
        let total = allRows.reduce(CostFigures()) { $0 + $1.figures }
        var projection: Projection?
        if current.year == year {
            let yearSeconds = (period.toMicros - period.fromMicros) / 1_000_000
            let elapsed = max(1, (nowMicros - period.fromMicros) / 1_000_000)
            projection = Projection(elapsedSeconds: elapsed, yearSeconds: yearSeconds)
        }
        return AnnualReport(year: year, rows: allRows, total: total, projection: projection)
    }
}
