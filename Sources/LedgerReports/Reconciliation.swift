package import LedgerCore
package import LedgerStore

/// A provider's bill compared with the ledger, per UTC day and model (`holysheep-ledger reconcile`).
///
/// The ledger's side is reports/reconcile_by_day_model.sql: the calls of the month (of one provider, if named),
/// their summed tokens and what was paid for them, exactly. A line is discrepant when its tokens differ at all, or
/// its cost differs by more than the tolerance, or only one side has it (a bill line the ledger has no call for,
/// or ledger calls the bill does not list).
package struct Reconciliation: Sendable {
    /// Tokens and cost of one side of a line; nil members were not in the bill.
    package struct Side: Sendable, Hashable {
        package var inputTokens: Int64?
        package var cachedInputTokens: Int64?
        package var outputTokens: Int64?
        package var cost: Money?
    }

    package struct Line: Sendable, Hashable {
        package var day: String
        package var model: String
        package var bill: Side?
        package var ledger: Side?
        /// Why the line is discrepant; empty when it agrees.
        package var reasons: [String]
        /// What the reader should know that is no discrepancy (ledger calls without usage or price).
        package var notes: [String] = []
        package var isDiscrepant: Bool { !reasons.isEmpty }
    }

    package var month: BillingMonth
    package var provider: String?
    package var tolerance: Money
    package var lines: [Line]

    package var discrepancies: [Line] { lines.filter(\.isDiscrepant) }

    /// Compares `bill` with the ledger's calls of `month`.
    package static func make(
        bill: ProviderBill, month: BillingMonth, provider: String?, tolerance: Money, database: any ReportStore
    ) throws -> Reconciliation {
        let period = ReportPeriod(month: month)
        for line in bill.lines where !(period.fromDay..<period.toDay).contains(line.day) {
            throw ReportError.invalidBill(
                "\(line.source): \(UTCDate.isoDay(micros: line.day * UTCDate.microsPerDay)) is outside \(month)")
        }
        struct Key: Hashable, Comparable {
            var day: String
            var model: String
            static func < (a: Key, b: Key) -> Bool { (a.day, a.model) < (b.day, b.model) }
        }
        var ledger: [Key: CostFigures] = [:]
        try database.read { db in
            let arguments: [String: SQLArgument] = [
                "from_day": .int(period.fromDay), "to_day": .int(period.toDay), "provider": .text(provider ?? ""),
            ]
            try db.forEach(try db.sql("reconcile_by_day_model"), arguments) { row in
                let key = Key(day: try row.text(0) ?? "", model: try row.text(28) ?? "")
                ledger[key, default: CostFigures()] =
                    ledger[key, default: CostFigures()] + (try RollupRow(row).figures())
            }
        }
        var billed: [Key: ProviderBill.Line] = [:]
        for line in bill.lines {
            billed[Key(day: UTCDate.isoDay(micros: line.day * UTCDate.microsPerDay), model: line.model)] = line
        }
        let keys = Set(ledger.keys).union(billed.keys).sorted()
        let lines = keys.map { key -> Line in
            let b = billed[key].map {
                Side(
                    inputTokens: $0.inputTokens, cachedInputTokens: $0.cachedInputTokens,
                    outputTokens: $0.outputTokens, cost: $0.cost)
            }
            let l = ledger[key].map {
                Side(
                    inputTokens: $0.inputTokens, cachedInputTokens: $0.cachedInputTokens,
                    outputTokens: $0.outputTokens, cost: $0.paid)
            }
            var reasons: [String] = []
            switch (b, l) {
            case (nil, let l?):
                // Ledger calls that used nothing and cost nothing (failed before any usage) need no bill line.
                if l.inputTokens != 0 || l.outputTokens != 0 || (l.cost ?? .zero) != .zero {
                    reasons.append("not on the bill")
                }
            case (nil, nil): break
            case (_, nil): reasons.append("no call in the ledger")
            case (let b?, let l?):
                func compare(_ name: String, _ x: Int64?, _ y: Int64?) {
                    if let x, let y, x != y { reasons.append("\(name) differ by \(x - y)") }
                }
                compare("input tokens", b.inputTokens, l.inputTokens)
                compare("cached input tokens", b.cachedInputTokens, l.cachedInputTokens)
                compare("output tokens", b.outputTokens, l.outputTokens)
                if let bc = b.cost, let lc = l.cost {
                    let diff = bc.picoUSD - lc.picoUSD
                    if (diff < 0 ? -diff : diff) > tolerance.picoUSD {
                        reasons.append("cost differs by \(Money.trimmed(diff, scale: 12)) USD")
                    }
                }
            }
            var notes: [String] = []
            if let f = ledger[key], f.unpricedCalls + f.noUsageCalls > 0 {
                notes.append("\(f.unpricedCalls + f.noUsageCalls) ledger call(s) without a price or usage")
            }
            return Line(day: key.day, model: key.model, bill: b, ledger: l, reasons: reasons, notes: notes)
        }
        return Reconciliation(month: month, provider: provider, tolerance: tolerance, lines: lines)
    }

    /// The comparison as a table: bill, ledger and difference of each figure, a status, and the totals.
    /// Costs are shown to the micro-dollar (6 places, half-even), the differences too; comparisons are exact.
    package var table: ReportTable {
        func tokens(_ v: Int64?) -> ReportTable.Cell { v.map { .integer(Int128($0)) } ?? .empty }
        func cost(_ v: Money?) -> ReportTable.Cell {
            v.map { .decimal(Money.divideHalfEven($0.picoUSD, by: 1_000_000), scale: 6) } ?? .empty
        }
        func diff(_ a: Int64?, _ b: Int64?) -> ReportTable.Cell {
            .integer(Int128(a ?? 0) - Int128(b ?? 0))
        }
        func costDiff(_ a: Money?, _ b: Money?) -> ReportTable.Cell {
            cost((a ?? .zero) - (b ?? .zero))
        }
        func cells(_ b: Side?, _ l: Side?) -> [ReportTable.Cell] {
            [
                tokens(b?.inputTokens), tokens(l?.inputTokens), diff(b?.inputTokens, l?.inputTokens),
                tokens(b?.cachedInputTokens), tokens(l?.cachedInputTokens),
                diff(b?.cachedInputTokens, l?.cachedInputTokens),
                tokens(b?.outputTokens), tokens(l?.outputTokens), diff(b?.outputTokens, l?.outputTokens),
                cost(b?.cost), cost(l?.cost), costDiff(b?.cost, l?.cost),
            ]
        }
        let rows = lines.map { line -> [ReportTable.Cell] in
            [.text(line.day), .text(line.model)] + cells(line.bill, line.ledger)
                + [
                    .text(line.isDiscrepant ? "DISCREPANT" : "ok"),
                    .text((line.reasons + line.notes).joined(separator: "; ")),
                ]
        }
        func sum(_ side: (Line) -> Side?) -> Side {
            var s = Side(inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, cost: .zero)
            for line in lines {
                guard let x = side(line) else { continue }
                s.inputTokens! += x.inputTokens ?? 0
                s.cachedInputTokens! += x.cachedInputTokens ?? 0
                s.outputTokens! += x.outputTokens ?? 0
                s.cost! += x.cost ?? .zero
            }
            return s
        }
        let bad = discrepancies.count
        let total: [ReportTable.Cell] =
            [.text("TOTAL"), .empty] + cells(sum(\.bill), sum(\.ledger))
            + [.text(bad == 0 ? "ok" : "\(bad) DISCREPANT"), .empty]
        let columns: [ReportTable.Column] = [
            .init("date", label: "Day", numeric: false),
            .init("model", label: "Model", numeric: false, essential: true),
            .init("bill_input_tokens", label: "Bill input tokens"),
            .init("ledger_input_tokens", label: "Ledger input tokens"),
            .init("input_tokens_diff", label: "Input tokens diff", essential: true),
            .init("bill_cached_input_tokens", label: "Bill cached tokens"),
            .init("ledger_cached_input_tokens", label: "Ledger cached tokens"),
            .init("cached_input_tokens_diff", label: "Cached tokens diff"),
            .init("bill_output_tokens", label: "Bill output tokens"),
            .init("ledger_output_tokens", label: "Ledger output tokens"),
            .init("output_tokens_diff", label: "Output tokens diff", essential: true),
            .init("bill_cost_usd", label: "Bill (USD)", essential: true),
            .init("ledger_cost_usd", label: "Ledger paid (USD)", essential: true),
            .init("cost_diff_usd", label: "Diff (USD)", essential: true),
            .init("status", label: "Status", numeric: false, essential: true),
            .init("reasons", label: "Why", numeric: false),
        ]
        return ReportTable(
            title: "Reconciliation \(month)\(provider.map { ", provider \($0)" } ?? ""): bill vs ledger",
            notes: [
                "one line per UTC day and model; diff = bill - ledger; the ledger's cost is what was paid",
                "discrepant: tokens differ at all, cost differs by more than "
                    + "\(Money.trimmed(tolerance.picoUSD, scale: 12)) USD, or only one side has the line",
                "costs shown to the micro-dollar (half-even); compared exactly",
                bad == 0 ? "result: every line within tolerance" : "result: \(bad) discrepant line(s)",
            ],
            columns: columns, rows: rows, footer: [total])
    }
}
