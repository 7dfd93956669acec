package import LedgerCore
package import LedgerStore

/// A closed (frozen) month: `holysheep-ledger close` copies the month's call_rollup rows into month_close_rollup
/// with their SHA-256 and totals (migrations/0005_month_close.sql); reports of the month then read the copy.
package struct MonthClose: Sendable, Hashable {
    package var id: Int64
    package var month: BillingMonth
    package var closedAtMicros: Int64
    /// Lowercase hex SHA-256 of the frozen rows' canonical text (reports/month_close_rows.sql).
    package var rowsSHA256: String
    package var lastCallID: Int64
    package var calls: Int64
    package var official: Money
    package var paid: Money
    package var reopenedAtMicros: Int64?
    package var reopenReason: String?

    /// Why a month cannot be closed or reopened.
    package enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case notEnded(BillingMonth)
        case alreadyClosed(BillingMonth, at: String)
        case notClosed(BillingMonth)
        case emptyReason
        case tampered(BillingMonth)

        package var description: String {
            switch self {
            case .notEnded(let m): "\(m) has not ended yet (UTC); a month can be closed once it is over"
            case .alreadyClosed(let m, let at): "\(m) is already closed (since \(at)); reopen it first"
            case .notClosed(let m): "\(m) is not closed"
            case .emptyReason: "--reason must say why the month is reopened"
            case .tampered(let m): "the frozen rows of \(m) no longer match their SHA-256: the close was altered"
            }
        }
    }

    /// The close in force for `month`, if any.
    static func inForce(_ month: BillingMonth, db: any ReportReader) throws -> MonthClose? {
        try db.all(
            "SELECT \(columns) FROM month_close WHERE month = :month AND reopened_at_us IS NULL",
            ["month": .int(month.code)], Self.init(row:)
        ).first
    }

    /// month_close's columns in the order `init(row:)` reads them.
    static let columns =
        "id, month, closed_at_us, rows_sha256, last_call_id, calls, cost_official_pusd, cost_paid_pusd, "
        + "reopened_at_us, reopen_reason"

    /// Every close, reopened ones included, oldest first.
    package static func history(database: any ReportStore) throws -> [MonthClose] {
        try database.read { db in
            try db.all("SELECT \(columns) FROM month_close ORDER BY id", [:], Self.init(row:))
        }
    }

    /// The months closed now, for the first-open-month rule.
    static func closedMonths(db: any ReportReader) throws -> Set<Int> {
        Set(try db.all("SELECT month FROM month_close WHERE reopened_at_us IS NULL") { Int(try $0.int(0) ?? 0) })
    }

    init(row: any ReportRow) throws {
        id = try row.int(0) ?? 0
        let code = Int(try row.int(1) ?? 0)
        month = try BillingMonth(year: code / 100, month: code % 100)
        closedAtMicros = try row.int(2) ?? 0
        rowsSHA256 = try row.text(3) ?? ""
        lastCallID = try row.int(4) ?? 0
        calls = try row.int(5) ?? 0
        official = Money(picoUSD: Int128(try row.text(6) ?? "") ?? 0)
        paid = Money(picoUSD: Int128(try row.text(7) ?? "") ?? 0)
        reopenedAtMicros = try row.int(8)
        reopenReason = try row.text(9)
    }

    /// Closes `month` (it must have ended and not be closed): freezes its rows, their hash and totals, atomically.
    package static func close(_ month: BillingMonth, nowMicros: Int64, database: any ReportStore) throws -> MonthClose {
        guard month.endMicros <= nowMicros else { throw Failure.notEnded(month) }
        let period = ReportPeriod(month: month)
        return try database.write { db in
            if let open = try inForce(month, db: db) {
                throw Failure.alreadyClosed(month, at: UTCDate.isoTimestamp(micros: open.closedAtMicros))
            }
            let hash = try rowsHash(month: month, closeID: nil, db: db)
            let lastID = try db.int("SELECT coalesce(max(id), 0) FROM call") ?? 0
            let report = try MonthlyCostReport.make(period: period, grouping: .model, db: db, percentiles: false)
            // RETURNING: SQLite (3.35+) and PostgreSQL alike.
            let inserted = try db.int(
                """
                INSERT INTO month_close (month, closed_at_us, rows_sha256, last_call_id, calls,
                    cost_official_pusd, cost_paid_pusd)
                VALUES (:month, :now, :hash, :last_id, :calls, :official, :paid)
                RETURNING id
                """,
                [
                    "month": .int(month.code), "now": .integer(nowMicros), "hash": .text(hash),
                    "last_id": .integer(lastID), "calls": .integer(report.total.calls),
                    "official": .text(String(report.total.official.picoUSD)),
                    "paid": .text(String(report.total.paid.picoUSD)),
                ])
            guard let id = inserted else { throw Failure.tampered(month) }
            try db.execute(
                """
                    INSERT INTO month_close_rollup (close_id, day, month, model, provider, provider_kind, team, key_id,
                        tags, price_status, official_price_id, holysheep_price_id, calls, failed_calls, fallback_calls,
                        prompt_tokens, cached_prompt_tokens, completion_tokens, latency_us, cache_write_5m_tokens,
                        cache_write_1h_tokens, audio_prompt_tokens, audio_completion_tokens)
                    SELECT :close_id, day, month, model, provider, provider_kind, team, key_id, tags, price_status,
                        official_price_id, holysheep_price_id, calls, failed_calls, fallback_calls, prompt_tokens,
                        cached_prompt_tokens, completion_tokens, latency_us, cache_write_5m_tokens,
                        cache_write_1h_tokens, audio_prompt_tokens, audio_completion_tokens
                    FROM call_rollup WHERE month = :month
                    """, ["close_id": .integer(id), "month": .int(month.code)])
            guard try rowsHash(month: month, closeID: id, db: db) == hash else { throw Failure.tampered(month) }
            return try inForce(month, db: db)!
        }
    }

    /// Reopens a closed month, recording when and why; its close row and frozen rows stay for the audit trail.
    package static func reopen(_ month: BillingMonth, reason: String, nowMicros: Int64, database: any ReportStore)
        throws -> MonthClose
    {
        let reason = reason.trimmingCharacters(in: " \t\r\n")
        guard !reason.isEmpty else { throw Failure.emptyReason }
        return try database.write { db in
            guard var close = try inForce(month, db: db) else { throw Failure.notClosed(month) }
            try db.execute(
                "UPDATE month_close SET reopened_at_us = :now, reopen_reason = :reason WHERE id = :id",
                ["now": .integer(nowMicros), "reason": .text(reason), "id": .integer(close.id)])
            close.reopenedAtMicros = nowMicros
            close.reopenReason = reason
            return close
        }
    }

    /// SHA-256 (hex) of the canonical text of the month's live rollup rows (`closeID` nil) or of a close's frozen
    /// rows: reports/month_close_rows.sql.
    static func rowsHash(month: BillingMonth, closeID: Int64?, db: any ReportReader) throws -> String {
        var bytes: [UInt8] = []
        try db.forEach(
            try db.sql("month_close_rows"), ["month": .int(month.code), "close_id": .integer(closeID ?? 0)]
        ) { row in _ = try row.withUTF8(0) { bytes.append(contentsOf: $0) } }
        return SHA256.hex(SHA256.hash(bytes))
    }

    /// Checks the frozen rows still hash to the stored SHA-256.
    func verify(db: any ReportReader) throws {
        guard try Self.rowsHash(month: month, closeID: id, db: db) == rowsSHA256 else { throw Failure.tampered(month) }
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

extension CostFigures {
    /// lhs − rhs, field by field (what later calls added to a closed month); no p95.
    package static func - (lhs: CostFigures, rhs: CostFigures) -> CostFigures {
        var d = lhs
        d.calls -= rhs.calls
        d.failedCalls -= rhs.failedCalls
        d.fallbackCalls -= rhs.fallbackCalls
        d.noUsageCalls -= rhs.noUsageCalls
        d.unpricedCalls -= rhs.unpricedCalls
        d.inputTokens -= rhs.inputTokens
        d.cachedInputTokens -= rhs.cachedInputTokens
        d.outputTokens -= rhs.outputTokens
        d.unpricedTokens -= rhs.unpricedTokens
        d.official = d.official - rhs.official
        d.paid = d.paid - rhs.paid
        d.latencySumMicros -= rhs.latencySumMicros
        d.p95LatencyMicros = nil
        return d
    }

    /// self + other, keeping self's p95 (the adjustments' calls are not in the month's p95).
    func adding(_ other: CostFigures) -> CostFigures {
        var s = self + other
        s.p95LatencyMicros = p95LatencyMicros
        return s
    }

    /// Whether every count and amount is zero.
    var isZero: Bool {
        var z = self
        z.p95LatencyMicros = nil
        return z == CostFigures()
    }
}

/// How a month's report reads closes: a closed month shows its frozen figures; the first open month after closed
/// months adds what later calls changed in them, as labelled adjustment rows.
package enum ClosedMonths {
    /// A month's report with the notes and extra footer rows the close rules add.
    package struct Figures: Sendable {
        package var report: MonthlyCostReport
        package var notes: [String]
        /// With --as-recorded on a closed month: the closed TOTAL and the difference (as recorded − closed).
        package var closedTotal: CostFigures?

        /// The footer rows: "TOTAL as closed" and "difference", when shown as recorded.
        package func footer(currency: CurrencyConversion, columns: Int) -> [[ReportTable.Cell]] {
            guard let closedTotal else { return [] }
            let diff = report.total - closedTotal
            let closed = CostColumns.table([], total: closedTotal, currency, latencyP95: true).total
            let change = CostColumns.table([], total: diff, currency, latencyP95: true).total
            func row(_ label: String, _ cells: [ReportTable.Cell]) -> [ReportTable.Cell] {
                Array(([.text(label)] + cells).prefix(columns))
            }
            return [row("TOTAL as closed", closed), row("difference", change)]
        }
    }

    package static func report(
        month: BillingMonth, grouping: ReportGrouping, asRecorded: Bool, database: any ReportStore,
        percentiles: Bool = true
    ) throws -> Figures {
        let period = ReportPeriod(month: month)
        return try database.read { db in
            if let close = try MonthClose.inForce(month, db: db) {
                try close.verify(db: db)
                let closedAt = UTCDate.isoTimestamp(micros: close.closedAtMicros)
                let frozen = try MonthlyCostReport.make(
                    period: period, grouping: grouping, db: db, percentiles: percentiles, closed: close)
                if asRecorded {
                    let live = try MonthlyCostReport.make(
                        period: period, grouping: grouping, db: db, percentiles: percentiles)
                    return Figures(
                        report: live,
                        notes: [
                            "AS RECORDED: what the rows say now; the month was closed \(closedAt) "
                                + "(rows SHA-256 \(close.rowsSHA256)); TOTAL as closed and the difference below"
                        ], closedTotal: frozen.total)
                }
                let closed = try MonthClose.closedMonths(db: db)
                var firstOpen = month.next
                while closed.contains(firstOpen.code) { firstOpen = firstOpen.next }
                return Figures(
                    report: frozen,
                    notes: [
                        "CLOSED \(closedAt): frozen figures (rows SHA-256 \(close.rowsSHA256)); calls recorded "
                            + "later for \(month) appear as adjustments in \(firstOpen); --as-recorded shows the "
                            + "rows now"
                    ], closedTotal: nil)
            }
            var report = try MonthlyCostReport.make(
                period: period, grouping: grouping, db: db, percentiles: percentiles)
            // Closed months right before this one: their late calls are booked here.
            let closed = try MonthClose.closedMonths(db: db)
            var earlier = BillingMonth(containing: month.startMicros - 1)
            var sources: [MonthClose] = []
            while closed.contains(earlier.code), let close = try MonthClose.inForce(earlier, db: db) {
                sources.insert(close, at: 0)
                earlier = BillingMonth(containing: earlier.startMicros - 1)
                if earlier.year < 1970 { break }
            }
            var notes: [String] = []
            for close in sources {
                let p = ReportPeriod(month: close.month)
                let frozen = try MonthlyCostReport.make(
                    period: p, grouping: grouping, db: db, percentiles: false, closed: close)
                let live = try MonthlyCostReport.make(period: p, grouping: grouping, db: db, percentiles: false)
                var frozenByGroup: [String: CostFigures] = [:]
                for row in frozen.rows { frozenByGroup[row.group] = row.figures }
                var added = false
                for row in live.rows {
                    let diff = row.figures - (frozenByGroup.removeValue(forKey: row.group) ?? CostFigures())
                    guard !diff.isZero else { continue }
                    report.rows.append(.init(group: "adjustment \(close.month): " + row.group, figures: diff))
                    report.total = report.total.adding(diff)
                    added = true
                }
                for (group, figures) in frozenByGroup.sorted(by: { $0.key < $1.key }) {
                    let diff = CostFigures() - figures
                    guard !diff.isZero else { continue }
                    report.rows.append(.init(group: "adjustment \(close.month): " + group, figures: diff))
                    report.total = report.total.adding(diff)
                    added = true
                }
                if added {
                    notes.append(
                        "adjustment rows: calls recorded for \(close.month) after it was closed; part of TOTAL")
                }
            }
            return Figures(report: report, notes: notes, closedTotal: nil)
        }
    }
}
