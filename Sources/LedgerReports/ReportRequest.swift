package import LedgerCore
package import LedgerStore

/// One report as asked for (by `report` in the CLI and `GET /reports` in `serve`): what to compute and how to
/// render it. The same request gives the same bytes wherever it is made.
package struct ReportRequest: Sendable, Hashable {
    /// The period: a month, a year, or a day range.
    package enum Span: Sendable, Hashable {
        case month(BillingMonth)
        case year(Int)
        case range(ReportPeriod)
    }

    package var span: Span
    /// Rows per group (months and ranges; a year's rows are months). nil = by model.
    package var grouping: ReportGrouping?
    package var format: ReportFormat
    /// "USD" or a code with a rate in the rate book.
    package var currency: String
    /// Columns of the human formats; nil = the terminal table's essential columns, every column elsewhere.
    package var columns: ColumnSelection?
    /// CSV starts with a UTF-8 byte-order mark.
    package var bom: Bool
    /// A closed month as its rows say now, with the difference from the closed figures.
    package var asRecorded: Bool = false
    /// More groupings after `grouping` (HTML: a table each; xlsx: a sheet each). Month and range reports only.
    package var moreGroupings: [ReportGrouping] = []

    package init(
        span: Span, grouping: ReportGrouping? = nil, format: ReportFormat, currency: String = "USD",
        columns: ColumnSelection? = nil, bom: Bool = false, asRecorded: Bool = false
    ) {
        self.asRecorded = asRecorded
        self.span = span
        self.grouping = grouping
        self.format = format
        self.currency = currency
        self.columns = columns
        self.bom = bom
    }

    package var period: ReportPeriod {
        switch span {
        case .month(let m): ReportPeriod(month: m)
        case .year(let y): ReportPeriod(year: y)
        case .range(let p): p
        }
    }

    /// The report's table (headline included, columns selected) and, for HTML, its charts.
    package func build(database: any ReportStore, nowMicros: Int64) throws -> (
        table: ReportTable, charts: [HTMLRenderer.Chart], more: [ReportTable]
    ) {
        let rates = RateBook(database: database)
        let period = self.period
        let conversion = try rates.conversion(currency: currency, period: period)
        var table: ReportTable
        var charts: [HTMLRenderer.Chart] = []
        let current: CostFigures
        let previous: CostFigures
        switch span {
        case .year(let year):
            let report = try AnnualReport.make(year: year, nowMicros: nowMicros, database: database)
            table = report.table(currency: conversion)
            current = report.total
            previous = try AnnualReport.make(year: year - 1, nowMicros: nowMicros, database: database).total
            if format == .html { charts = CostCharts.annual(report, currency: conversion) }
        case .month(let month):
            let figures = try ClosedMonths.report(
                month: month, grouping: grouping ?? .model, asRecorded: asRecorded, database: database)
            table = figures.report.table(currency: conversion)
            table.notes.insert(contentsOf: figures.notes, at: 1)
            table.footer += figures.footer(currency: conversion, columns: table.columns.count)
            current = figures.report.total
            let before = BillingMonth(containing: month.startMicros - 1)
            previous = try ClosedMonths.report(
                month: before, grouping: .model, asRecorded: false, database: database, percentiles: false
            ).report.total
            if format == .html {
                charts = try CostCharts.make(period: period, currency: conversion, database: database)
            }
        case .range:
            let report = try MonthlyCostReport.make(period: period, grouping: grouping ?? .model, database: database)
            table = report.table(currency: conversion)
            current = report.total
            previous =
                try MonthlyCostReport.make(
                    period: period.previous, grouping: .model, database: database, percentiles: false
                ).total
            if format == .html {
                charts = try CostCharts.make(period: period, currency: conversion, database: database)
            }
        }
        table.headline = Headline(
            current: current, previous: previous, currency: conversion, period: period.shortLabel,
            previousPeriod: period.previous.shortLabel)
        var more: [ReportTable] = []
        if case .year = span {} else {
            for g in moreGroupings {
                var t: ReportTable
                if case .month(let month) = span {
                    let figures = try ClosedMonths.report(
                        month: month, grouping: g, asRecorded: asRecorded, database: database)
                    t = figures.report.table(currency: conversion)
                    t.notes.insert(contentsOf: figures.notes, at: 1)
                    t.footer += figures.footer(currency: conversion, columns: t.columns.count)
                } else {
                    t = try MonthlyCostReport.make(period: period, grouping: g, database: database)
                        .table(currency: conversion)
                }
                more.append(t)
            }
        }
        switch format {
        case .csv, .json: break
        case .table:
            table = try table.selecting(columns ?? .essential)
            more = try more.map { try $0.selecting(columns ?? .essential) }
        default:
            table = try table.selecting(columns ?? .all)
            more = try more.map { try $0.selecting(columns ?? .all) }
        }
        return (table, charts, more)
    }

    /// The rendered report.
    package func render(database: any ReportStore, nowMicros: Int64) throws -> [UInt8] {
        let (table, charts, more) = try build(database: database, nowMicros: nowMicros)
        if format == .html { return Array(HTMLRenderer.render(table, charts: charts, more: more).utf8) }
        let first: String =
            if case .year = span { period.shortLabel } else { "\(period.shortLabel) by \(grouping ?? .model)" }
        return try format.bytes(
            table, charts: charts, bom: bom, sheetName: first,
            moreSheets: zip(moreGroupings, more).map { .init(name: "\(period.shortLabel) by \($0)", table: $1) },
            currency: currency)
    }
}
