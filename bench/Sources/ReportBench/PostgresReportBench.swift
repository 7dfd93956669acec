import Foundation
import LedgerCore
import LedgerPostgres
import LedgerReports
import LedgerStore
import Logging
import PostgresNIO

/// `report-bench --db postgres://… [--calls N]`: the same ledger as the SQLite run (the same rows, built server-side
/// with generate_series from the SQLite bulk INSERT), then the same report and export timings through the
/// PostgreSQL report store (`reports/postgres/*.sql`).
enum PostgresReportBench {
    static func run(url: String, calls: Int, insertSQL: (PriceBook) -> String, timed: (String, Int, () throws -> Void) throws -> Void)
        async throws
    {
        let settings = try PostgresSettings(url: url)
        var logger = Logger(label: "report-bench")
        logger.logLevel = .warning
        try await settings.withConnection(logger: logger) { _ = try await PostgresMigrations.migrate($0, logger: logger) }
        let backend = try await PostgresBackend.open(settings, logger: logger)
        let existing = try await count(settings, "SELECT count(*) FROM call", logger: logger)
        if existing != Int64(calls) {
            let sql = pgInsert(insertSQL(try await backend.loadPriceBook()))
            let start = ContinuousClock.now
            try await settings.withConnection(logger: logger) { connection in
                _ = try await connection.query("TRUNCATE call_rollup, call", logger: logger)
                var first = 0
                while first < calls {
                    let n = min(1_000_000, calls - first)
                    _ = try await connection.query(
                        PostgresQuery(
                            unsafeSQL: sql,
                            binds: {
                                var b = PostgresBindings()
                                b.append(Int64(first))
                                b.append(Int64(n))
                                b.append(Int64(calls))
                                return b
                            }()), logger: logger)
                    first += n
                }
                print("built \(calls) calls in \(start.duration(to: .now)) (INSERT ... SELECT generate_series)")
                let rollupStart = ContinuousClock.now
                _ = try await connection.query(PostgresQuery(unsafeSQL: backfill), logger: logger)
                // As autovacuum leaves settled months: statistics, and every page all-visible (the p95's index walks
                // are then index-only scans, no table row read).
                _ = try await connection.query("VACUUM ANALYZE", logger: logger)
                print("rollup rebuilt in \(rollupStart.duration(to: .now))")
            }
        }
        let rollupRows = try await count(settings, "SELECT count(*) FROM call_rollup", logger: logger)
        print("ledger \(settings.redacted): \(calls) calls, \(rollupRows) rollup rows")
        let store = PostgresReportStore(settings: settings, logger: logger)
        let november = try BillingMonth(year: 2026, month: 11)
        let now = UTCDate.micros(parsing: "2026-11-27T00:00:00Z")!
        try timed("report --month 2026-11 (by model, csv)", 7) {
            let r = try MonthlyCostReport.make(period: ReportPeriod(month: november), grouping: .model, database: store)
            _ = CSVRenderer.render(r.table(currency: .usd))
        }
        try timed("report --month 2026-11 --by team (csv)", 3) {
            let r = try MonthlyCostReport.make(period: ReportPeriod(month: november), grouping: .team, database: store)
            _ = CSVRenderer.render(r.table(currency: .usd))
        }
        try timed("report --year 2026 (csv)", 7) {
            let r = try AnnualReport.make(year: 2026, nowMicros: now, database: store)
            _ = CSVRenderer.render(r.table(currency: .usd))
        }
        for format in CallExporter.Format.allCases {
            var rows: Int64 = 0
            var bytes = 0
            let start = ContinuousClock.now
            rows = try CallExporter(database: store).export(
                period: ReportPeriod(month: november), format: format, write: { bytes += $0.count })
            let elapsed = start.duration(to: .now)
            let s = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print(
                String(
                    format: "export 2026-11 --format %@: %d rows in %.2f s = %.0f rows/s, %d MiB, max RSS %.0f MiB",
                    format.rawValue, rows, s, Double(rows) / s, bytes / 1_048_576, maxRSSMiB()))
        }
    }

    static func count(_ settings: PostgresSettings, _ sql: String, logger: Logger) async throws -> Int64 {
        try await settings.withConnection(logger: logger) { connection in
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            var value: Int64 = 0
            for try await v in rows.decode(Int64.self) { value = v }
            return value
        }
    }

    /// The SQLite bulk INSERT in PostgreSQL's dialect: generate_series for the recursive counter, numeric for the
    /// timestamp product (it exceeds bigint), to_char for the month, integer flags.
    static func pgInsert(_ sqlite: String) -> String {
        sqlite
            .replacingOccurrences(
                of: "WITH RECURSIVE seq(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?1 + ?2),",
                with: "WITH seq(i) AS (SELECT generate_series($1::bigint, $1::bigint + $2::bigint - 1)),")
            .replacingOccurrences(of: " + i * \(yearLength) / ?3 AS t", with: " + (i::numeric * \(yearLength) / $3::bigint)::bigint AS t")
            .replacingOccurrences(of: "?3", with: "$3::bigint")
            .replacingOccurrences(
                of: "CAST(strftime('%Y%m', t / 1000000, 'unixepoch') AS INTEGER)",
                with: "CAST(to_char(to_timestamp(t / 1000000.0) AT TIME ZONE 'UTC', 'YYYYMM') AS INTEGER)")
            .replacingOccurrences(of: "ELSE 'ok' END, fallback,", with: "ELSE 'ok' END, fallback::int,")
    }

    /// migrations/postgres/0003's backfill (0004's token sums default to 0).
    static let backfill = """
        INSERT INTO call_rollup
        SELECT floor(started_at_us / 86400000000.0)::bigint, month,
               coalesce(model, ''), coalesce(provider, ''), coalesce(provider_kind, ''), coalesce(team, ''),
               coalesce(key_id, 0), coalesce(tags, ''), price_status, coalesce(official_price_id, 0),
               coalesce(holysheep_price_id, 0),
               count(*), count(*) FILTER (WHERE status <> 'ok'), sum(fallback_used), coalesce(sum(prompt_tokens), 0),
               coalesce(sum(cached_prompt_tokens), 0), coalesce(sum(completion_tokens), 0), sum(latency_us)
        FROM call
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
        """
}
