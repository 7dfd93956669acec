import LedgerCore
package import LedgerStore

/// The HTML report's charts: official vs paid per model, and paid per day across the period.
package enum CostCharts {
    /// The month and range report's charts: official vs paid per model, paid per day, and the 12 months up to
    /// the period's last month (paid vs official).
    package static func make(period: ReportPeriod, currency: CurrencyConversion, database: any ReportStore) throws
        -> [HTMLRenderer.Chart]
    {
        let models = try MonthlyCostReport.make(
            period: period, grouping: .model, database: database, percentiles: false)
        let days = try MonthlyCostReport.make(period: period, grouping: .day, database: database, percentiles: false)
        // Every day of the period, spend 0 where there were no calls.
        var spend: [String: Int128] = [:]
        for row in days.rows { spend[row.group] = currency.cents(row.figures.paid) }
        var labels: [String] = []
        var day = period.fromDay
        while day < period.toDay, labels.count < 400 {
            labels.append(UTCDateLabel.iso(day: day))
            day += 1
        }
        return [
            .pairedBars(
                title: "Official vs paid per model (\(currency.code))",
                labels: models.rows.map { $0.group.isEmpty ? "(none)" : $0.group },
                first: ("official", models.rows.map { currency.cents($0.figures.official) }),
                second: ("paid", models.rows.map { currency.cents($0.figures.paid) })),
            .bars(
                title: "Daily spend, paid (\(currency.code))", labels: labels, name: "paid per day",
                values: labels.map { spend[$0] ?? 0 }),
            try trend(
                endingWith: BillingMonth(containing: period.toMicros - 1), currency: currency, database: database),
        ]
    }

    /// Paid vs official for the 12 calendar months ending with `last` (months without calls show 0).
    static func trend(endingWith last: BillingMonth, currency: CurrencyConversion, database: any ReportStore) throws
        -> HTMLRenderer.Chart
    {
        var months = [last]
        while months.count < 12, months[0].year > 1970 || months[0].month > 1 {
            months.insert(BillingMonth(containing: months[0].startMicros - 1), at: 0)
        }
        let fromDay = months[0].startMicros / UTCDate.microsPerDay
        let toDay = last.endMicros / UTCDate.microsPerDay
        var byMonth: [Int: CostFigures] = [:]
        try database.read { db in
            try db.forEach(try db.sql("cost_by_month"), ["from_day": .int(fromDay), "to_day": .int(toDay)]) { row in
                let code = Int(try row.int(0) ?? 0)
                byMonth[code, default: CostFigures()] =
                    byMonth[code, default: CostFigures()] + (try RollupRow(row).figures())
            }
        }
        return .pairedBars(
            title: "12-month trend: official vs paid (\(currency.code))", labels: months.map(\.description),
            first: ("official", months.map { currency.cents(byMonth[$0.code]?.official ?? .zero) }),
            second: ("paid", months.map { currency.cents(byMonth[$0.code]?.paid ?? .zero) }))
    }
}

enum UTCDateLabel {
    static func iso(day: Int64) -> String { UTCDate.isoDay(micros: day * UTCDate.microsPerDay) }
}

extension CostCharts {
    /// The annual report's chart: official vs paid per month.
    package static func annual(_ report: AnnualReport, currency: CurrencyConversion) -> [HTMLRenderer.Chart] {
        [
            .pairedBars(
                title: "Official vs paid per month (\(currency.code))",
                labels: report.rows.map { $0.month.description },
                first: ("official", report.rows.map { currency.cents($0.figures.official) }),
                second: ("paid", report.rows.map { currency.cents($0.figures.paid) }))
        ]
    }
}
