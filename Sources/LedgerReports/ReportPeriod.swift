package import LedgerCore

/// The half-open UTC range a report covers: [from, to), whole days.
package struct ReportPeriod: Sendable, Hashable, CustomStringConvertible {
    /// First day included, in days since 1970-01-01.
    package let fromDay: Int64
    /// First day excluded.
    package let toDay: Int64
    /// How the period was asked for, for titles ("2026-11", "2026", "2026-11-01 .. 2026-11-08").
    package let label: String

    /// A calendar month.
    package init(month: BillingMonth) {
        fromDay = month.startMicros / UTCDate.microsPerDay
        toDay = month.endMicros / UTCDate.microsPerDay
        label = month.description
    }

    /// A calendar year.
    package init(year: Int) {
        fromDay = UTCDate.days(year: year, month: 1, day: 1)
        toDay = UTCDate.days(year: year + 1, month: 1, day: 1)
        label = String(year)
    }

    /// `--from DATE --to DATE`: from the start of `from` up to, not including, the start of `to`.
    package init(from: String, to: String) throws(ReportError) {
        guard from.utf8.count == 10, let f = UTCDate.micros(parsing: from) else { throw .invalidDate(from) }
        guard to.utf8.count == 10, let t = UTCDate.micros(parsing: to) else { throw .invalidDate(to) }
        guard t > f else { throw .emptyRange(from: from, to: to) }
        fromDay = f / UTCDate.microsPerDay
        toDay = t / UTCDate.microsPerDay
        label = "\(from) .. \(to) (to excluded)"
    }

    private init(fromDay: Int64, toDay: Int64, label: String) {
        self.fromDay = fromDay
        self.toDay = toDay
        self.label = label
    }

    /// The period of the same length just before this one: the previous calendar month for a month, the previous
    /// year for a year, else the same number of days ending where this one starts.
    package var previous: ReportPeriod {
        if wholeMonth != nil { return ReportPeriod(month: BillingMonth(containing: fromMicros - 1)) }
        if let year = wholeYear { return ReportPeriod(year: year - 1) }
        let days = toDay - fromDay
        let from = fromDay - days
        return ReportPeriod(
            fromDay: from, toDay: fromDay,
            label: "\(UTCDate.isoDay(micros: from * UTCDate.microsPerDay)) .. \(fromDate) (to excluded)")
    }

    /// A short name for headings: "2026-11", "2026", "2026-11-01..2026-11-07" (last day included).
    package var shortLabel: String {
        if let month = wholeMonth { return month.description }
        if let year = wholeYear { return String(year) }
        return fromDate + ".." + lastDate
    }

    /// The calendar year this period is exactly, if it is one.
    package var wholeYear: Int? {
        let m = BillingMonth(containing: fromMicros)
        guard m.month == 1, fromDay == UTCDate.days(year: m.year, month: 1, day: 1),
            toDay == UTCDate.days(year: m.year + 1, month: 1, day: 1)
        else { return nil }
        return m.year
    }

    package var fromMicros: Int64 { fromDay * UTCDate.microsPerDay }
    package var toMicros: Int64 { toDay * UTCDate.microsPerDay }
    package var fromDate: String { UTCDate.isoDay(micros: fromMicros) }
    /// The last day included.
    package var lastDate: String { UTCDate.isoDay(micros: toMicros - 1) }
    /// The `yyyymm` of the first and the last day, for the month index.
    package var monthCodes: (from: Int, to: Int) {
        (BillingMonth(containing: fromMicros).code, BillingMonth(containing: toMicros - 1).code)
    }
    /// The single calendar month this period is exactly, if it is one.
    package var wholeMonth: BillingMonth? {
        let m = BillingMonth(containing: fromMicros)
        return m.startMicros == fromMicros && m.endMicros == toMicros ? m : nil
    }

    package var description: String { label }
}
