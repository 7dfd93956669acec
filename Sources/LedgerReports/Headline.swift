import LedgerCore

/// The figures a reader wants first, for a period and the previous period of the same length: paid, official,
/// saved, saved %, calls and failure rate, each with its change.
///
/// Money is each period's exact total rounded once, half-even to the cent (the same figure as the TOTAL row);
/// saved = official − paid of those cents. Percentages are computed from exact values, two decimals, half-even.
package struct Headline: Sendable, Hashable {
    /// One headline figure.
    package struct Figure: Sendable, Hashable {
        /// Machine key (JSON): "paid_usd", "saved_pct", "failure_rate_pct", ...
        package var key: String
        /// Human label: "Paid (USD)".
        package var label: String
        package var value: ReportTable.Cell
        package var previous: ReportTable.Cell
        /// value − previous (percentage points for the ratios); empty when either side is empty.
        package var change: ReportTable.Cell
        /// change ÷ previous × 100, one decimal, half-even; empty for ratios and when previous is zero.
        package var changePct: ReportTable.Cell
        /// Whether the figure is a ratio (its change is in percentage points).
        package var isRatio: Bool
    }

    /// "2026-11", "2026", "2026-11-01..2026-11-07".
    package var period: String
    package var previousPeriod: String
    package var figures: [Figure]

    package init(
        current: CostFigures, previous: CostFigures, currency: CurrencyConversion, period: String,
        previousPeriod: String
    ) {
        self.period = period
        self.previousPeriod = previousPeriod
        let code = currency.code
        let u = currency.unit
        func money(_ f: CostFigures) -> (official: Int128, paid: Int128) {
            (currency.cents(f.official), currency.cents(f.paid))
        }
        let now = money(current)
        let before = money(previous)
        func amount(_ key: String, _ label: String, _ a: Int128, _ b: Int128) -> Figure {
            Figure(
                key: key, label: label, value: .decimal(a, scale: 2), previous: .decimal(b, scale: 2),
                change: .decimal(a - b, scale: 2), changePct: Self.relative(a - b, b), isRatio: false)
        }
        func ratio(_ key: String, _ label: String, _ a: Int128?, _ b: Int128?) -> Figure {
            let cell = { (v: Int128?) -> ReportTable.Cell in v.map { .decimal($0, scale: 2) } ?? .empty }
            let change: ReportTable.Cell = if let a, let b { .decimal(a - b, scale: 2) } else { .empty }
            return Figure(
                key: key, label: label, value: cell(a), previous: cell(b), change: change, changePct: .empty,
                isRatio: true)
        }
        let calls = (Int128(current.calls), Int128(previous.calls))
        figures = [
            amount("paid_\(u)", "Paid (\(code))", now.paid, before.paid),
            amount("official_\(u)", "Official (\(code))", now.official, before.official),
            amount("saved_\(u)", "Saved (\(code))", now.official - now.paid, before.official - before.paid),
            ratio("saved_pct", "Saved %", Self.percent(current.savings.picoUSD, current.official.picoUSD),
                Self.percent(previous.savings.picoUSD, previous.official.picoUSD)),
            Figure(
                key: "calls", label: "Calls", value: .integer(calls.0), previous: .integer(calls.1),
                change: .integer(calls.0 - calls.1), changePct: Self.relative(calls.0 - calls.1, calls.1),
                isRatio: false),
            ratio("failure_rate_pct", "Failure rate %",
                Self.percent(Int128(current.failedCalls), Int128(current.calls)),
                Self.percent(Int128(previous.failedCalls), Int128(previous.calls))),
        ]
    }

    /// part ÷ whole × 100 with two decimals, half-even, as hundredths; nil when whole is zero.
    static func percent(_ part: Int128, _ whole: Int128) -> Int128? {
        guard whole > 0 else { return nil }
        return Money.divideHalfEven(part * 10_000, by: whole)
    }

    /// change ÷ base × 100, one decimal; empty when base is zero.
    static func relative(_ change: Int128, _ base: Int128) -> ReportTable.Cell {
        guard base > 0 else { return .empty }
        return .decimal(Money.divideHalfEven(change * 1_000, by: base), scale: 1)
    }

    /// The headline as rows of text, header first: ["", period, previousPeriod, "Change"], then one per figure.
    package var textRows: [[String]] {
        var out = [["", period, previousPeriod, "Change"]]
        for f in figures {
            out.append([f.label, f.value.human, f.previous.human, f.changeText])
        }
        return out
    }
}

extension Headline.Figure {
    /// "+134.56 (+12.2 %)", "-2.37 pts", "-" when unknown.
    package var changeText: String {
        guard case .empty = change else {
            let main = Self.signed(change)
            if isRatio { return main + " pts" }
            if case .empty = changePct { return main }
            return main + " (" + Self.signed(changePct) + " %)"
        }
        return "-"
    }

    static func signed(_ cell: ReportTable.Cell) -> String {
        let text = cell.human
        return text.hasPrefix("-") || text.allSatisfy({ $0 == "0" || $0 == "." || $0 == "," }) ? text : "+" + text
    }
}
