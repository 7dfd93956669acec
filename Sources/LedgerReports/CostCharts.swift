import LedgerCore
package import LedgerStore

/// The HTML report's charts: official vs paid per model, and paid per day across the period.
package enum CostCharts {
    package static func make(period: ReportPeriod, currency: CurrencyConversion, database: LedgerDatabase) throws
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
        ]
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
