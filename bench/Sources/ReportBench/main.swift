// report-bench: builds a 10-million-call ledger (12 months, 4 models, 20 teams) and times the finance reports.
//
// Usage: report-bench [--calls N] [--db PATH|postgres://USER:PASSWORD@HOST:PORT/DB] [--keep]
// Prints numbers; it is not a test. Targets (issue 5): report --month <= 100 ms, report --year <= 300 ms,
// export >= 500k rows/s.
import Foundation
import GRDB
import LedgerCore
import LedgerReports
import LedgerStore

var calls = 10_000_000
var path = FileManager.default.temporaryDirectory.appendingPathComponent("report-bench.sqlite").path
var keep = false
var arguments = CommandLine.arguments.dropFirst()
while let a = arguments.popFirst() {
    switch a {
    case "--calls": calls = Int(arguments.popFirst() ?? "") ?? calls
    case "--db": path = arguments.popFirst() ?? path
    case "--keep": keep = true
    default: print("usage: report-bench [--calls N] [--db PATH] [--keep]"); exit(2)
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func maxRSSMiB() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}

func timed(_ label: String, runs: Int = 7, _ body: () throws -> Void) rethrows {
    var times: [Double] = []
    for _ in 0..<runs { times.append(try seconds(body)) }
    times.sort()
    print(
        String(
            format: "%-44@ median %8.1f ms   min %8.1f ms   max %8.1f ms", label as NSString,
            times[times.count / 2] * 1000, times[0] * 1000, times[times.count - 1] * 1000))
}

let models = ["gpt-4.1", "claude-sonnet-4.5", "gemini-2.5-flash", "deepseek-v3.2"]
let yearStart = UTCDate.days(year: 2026, month: 1, day: 1) * UTCDate.microsPerDay
let yearLength = UTCDate.days(year: 2027, month: 1, day: 1) * UTCDate.microsPerDay - yearStart

/// The INSERT that makes calls [first, first + count): spread evenly over 2026, 4 models, 20 teams/keys,
/// 1% failed without usage, 2% served by the official fallback, tokens and latencies varied per call, and the
/// exact per-call costs the ledger would store.
func insertSQL(book: PriceBook) -> String {
    func price(_ kind: ProviderKind, _ column: (ModelPrice) -> Int64) -> String {
        "CASE i % 4 "
            + models.enumerated().map { index, model in
                "WHEN \(index) THEN \(column(book.row(model: model, kind: kind, atMicros: yearStart)!.price))"
            }.joined(separator: " ") + " END"
    }
    func id(_ kind: ProviderKind) -> String {
        "CASE i % 4 "
            + models.enumerated().map { index, model in
                "WHEN \(index) THEN \(book.row(model: model, kind: kind, atMicros: yearStart)!.id)"
            }.joined(separator: " ") + " END"
    }
    let official =
        "((p - c) * \(price(.official, \.inputMicroUSDPerMTok)) + c * \(price(.official, \.cachedInputMicroUSDPerMTok)) + o * \(price(.official, \.outputMicroUSDPerMTok)))"
    let relay =
        "((p - c) * \(price(.holysheep, \.inputMicroUSDPerMTok)) + c * \(price(.holysheep, \.cachedInputMicroUSDPerMTok)) + o * \(price(.holysheep, \.outputMicroUSDPerMTok)))"
    return """
        INSERT INTO call (id, started_at_us, finished_at_us, month, endpoint, requested_model, model, provider,
            provider_kind, stream, status, fallback_used, prompt_tokens, cached_prompt_tokens, completion_tokens,
            reasoning_tokens, usage_source, latency_us, key_id, team, tags, price_status, official_price_id,
            holysheep_price_id, cost_paid_pusd, cost_official_pusd, cost_holysheep_pusd)
        WITH RECURSIVE seq(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?1 + ?2),
        v AS (
            SELECT i, \(yearStart) + i * \(yearLength) / ?3 AS t,
                   (i % 100 = 3) AS failed, (i % 50 = 7) AS fallback,
                   500 + (i * 7919) % 3000 AS p, CASE WHEN i % 3 = 0 THEN 200 ELSE 0 END AS c,
                   100 + (i * 104729) % 800 AS o,
                   20000 + (i * 2654435761) % 1500000 AS lat
            FROM seq)
        SELECT i + 1, t, t + lat, CAST(strftime('%Y%m', t / 1000000, 'unixepoch') AS INTEGER), '/v1/chat/completions',
            CASE i % 4 \(models.enumerated().map { "WHEN \($0) THEN '\($1)'" }.joined(separator: " ")) END,
            CASE i % 4 \(models.enumerated().map { "WHEN \($0) THEN '\($1)'" }.joined(separator: " ")) END,
            CASE WHEN fallback THEN 'official' ELSE 'holysheep' END,
            CASE WHEN fallback THEN 'official' ELSE 'holysheep' END, i % 2,
            CASE WHEN failed THEN 'upstream_error' ELSE 'ok' END, fallback,
            CASE WHEN failed THEN NULL ELSE p END, CASE WHEN failed THEN NULL ELSE c END,
            CASE WHEN failed THEN NULL ELSE o END, CASE WHEN failed THEN NULL ELSE 0 END,
            CASE WHEN failed THEN 'missing' ELSE 'upstream' END, lat, (i / 4) % 20 + 1, 'team-' || ((i / 4) % 20),
            'project=p' || (i % 3), CASE WHEN failed THEN 'no_usage' ELSE 'priced' END,
            CASE WHEN failed THEN NULL ELSE \(id(.official)) END, CASE WHEN failed THEN NULL ELSE \(id(.holysheep)) END,
            CASE WHEN failed THEN NULL WHEN fallback THEN \(official) ELSE \(relay) END,
            CASE WHEN failed THEN NULL ELSE \(official) END, CASE WHEN failed THEN NULL ELSE \(relay) END
        FROM v
        """
}

// 0. A PostgreSQL ledger instead (`--db postgres://…`): the same rows and timings (PostgresReportBench).
if path.hasPrefix("postgres://") || path.hasPrefix("postgresql://") {
    try await PostgresReportBench.run(
        url: path, calls: calls, insertSQL: insertSQL(book:), timed: { try timed($0, runs: $1, $2) })
    exit(0)
}

// 1. The ledger.
let exists = FileManager.default.fileExists(atPath: path)
let database = try LedgerDatabase(path: path)
let existing = try database.writer.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM call") ?? 0 }
if existing != calls {
    if exists { print("rebuilding \(path) (had \(existing) calls)") }
    try database.writer.write { db in
        try db.execute(sql: "DELETE FROM call_rollup; DROP TRIGGER IF EXISTS call_rollup_after_delete_bench;")
    }
    try database.writer.writeWithoutTransaction { db in
        // Bulk load with SQL, not CallRecord.insert: the rollup is rebuilt once with migrations/0003's backfill
        // GROUP BY (the UPDATE/DELETE triggers are dropped for the load and restored after).
        try db.execute(sql: "DELETE FROM call")
        let triggers = try Row.fetchAll(
            db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'call'")
        for t in triggers { try db.execute(sql: "DROP TRIGGER \(t["name"] as String)") }
        let book = try PriceBook.load(db)
        let sql = insertSQL(book: book)
        let chunk = 1_000_000
        let build = try seconds {
            var first = 0
            while first < calls {
                let n = min(chunk, calls - first)
                try db.inTransaction {
                    try db.execute(sql: sql, arguments: [first, n, calls])
                    return .commit
                }
                first += n
            }
        }
        print(
            String(
                format: "built %d calls in %.1f s (%.0f calls/s, bulk INSERT ... WITH RECURSIVE)", calls, build,
                Double(calls) / build))
        let migration = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../../../migrations/0003_call_rollup.sql"), encoding: .utf8)
        // 0003's backfill names no columns; since 0004 added token sums (default 0, and NULL in these bulk rows)
        // it needs 0003's column list.
        let backfill = String(
            migration.split(separator: "-- Backfill from calls recorded before this migration.")[1]
                .split(separator: "CREATE TRIGGER")[0]
        ).replacingOccurrences(
            of: "INSERT INTO call_rollup\n",
            with: """
                INSERT INTO call_rollup (day, month, model, provider, provider_kind, team, key_id, tags, price_status,
                    official_price_id, holysheep_price_id, calls, failed_calls, fallback_calls, prompt_tokens,
                    cached_prompt_tokens, completion_tokens, latency_us)

                """)
        let rollup = try seconds { try db.execute(sql: backfill) }
        print(String(format: "rollup rebuilt in %.1f s", rollup))
        for t in triggers { try db.execute(sql: t["sql"] as String) }
        try db.execute(sql: "ANALYZE")
    }
}
let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
let rollupRows = try database.writer.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM call_rollup") ?? 0 }
print("ledger \(path): \(calls) calls, \(rollupRows) rollup rows, \(size / 1_048_576) MiB")

// 2. Reports, in-process (what `report` does after opening the file), rendered to CSV.
let november = try BillingMonth(year: 2026, month: 11)
let now = UTCDate.micros(parsing: "2026-11-27T00:00:00Z")!
try timed("report --month 2026-11 (by model, csv)") {
    let r = try MonthlyCostReport.make(period: ReportPeriod(month: november), grouping: .model, database: database)
    _ = CSVRenderer.render(r.table(currency: .usd))
}
try timed("report --month 2026-11 --by team (csv)", runs: 3) {
    let r = try MonthlyCostReport.make(period: ReportPeriod(month: november), grouping: .team, database: database)
    _ = CSVRenderer.render(r.table(currency: .usd))
}
try timed("report --month 2026-11 --format html", runs: 3) {
    let period = ReportPeriod(month: november)
    let r = try MonthlyCostReport.make(period: period, grouping: .model, database: database)
    _ = HTMLRenderer.render(
        r.table(currency: .usd), charts: try CostCharts.make(period: period, currency: .usd, database: database))
}
try timed("report --year 2026 (csv)") {
    let r = try AnnualReport.make(year: 2026, nowMicros: now, database: database)
    _ = CSVRenderer.render(r.table(currency: .usd))
}

// 3. Export of one month to a file.
let exportPath = path + ".export.csv"
for format in CallExporter.Format.allCases {
    _ = FileManager.default.createFile(atPath: exportPath, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: exportPath))
    var rows: Int64 = 0
    let rssBefore = maxRSSMiB()
    let t = try seconds {
        rows = try CallExporter(database: database).export(
            period: ReportPeriod(month: november), format: format, write: { try handle.write(contentsOf: $0) })
    }
    try handle.close()
    let bytes = (try? FileManager.default.attributesOfItem(atPath: exportPath)[.size] as? Int) ?? 0
    print(
        String(
            format: "export 2026-11 --format %@: %d rows in %.2f s = %.0f rows/s, %d MiB, max RSS %.0f -> %.0f MiB",
            format.rawValue, rows, t, Double(rows) / t, bytes / 1_048_576, rssBefore, maxRSSMiB()))
}
try? FileManager.default.removeItem(atPath: exportPath)

// 4. What the latency index costs the insert path (LedgerDatabase.insert, 1000 per batch; both runs maintain
// call_rollup in the same transaction, as CallRecord.insert always does).
func insertRate(withLatencyIndex: Bool) throws -> Double {
    let p = TemporaryDirectoryPath.make("insert-\(withLatencyIndex)")
    defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: p + s) } }
    let db = try LedgerDatabase(path: p)
    if !withLatencyIndex {
        try db.writer.write { db in
            try db.execute(sql: "DROP INDEX call_by_month_model_latency; CREATE INDEX call_by_month ON call (month)")
        }
    }
    let n = 200_000
    let t = try seconds {
        var id: Int64 = 0
        for _ in 0..<(n / 1000) {
            var batch: [UsageEvent] = []
            for _ in 0..<1000 {
                id += 1
                let start = yearStart + id * 1_000_000
                batch.append(
                    UsageEvent(
                        id: id, startedAtMicros: start, finishedAtMicros: start + 500_000,
                        endpoint: "/v1/chat/completions",
                        model: models[Int(id % 4)], provider: "holysheep", providerKind: .holysheep, status: .ok,
                        usage: TokenUsage(promptTokens: 1000 + id % 977, completionTokens: 200 + id % 311),
                        latencyMicros: 500_000 + id % 9973, keyID: id % 20 + 1, team: "team-\(id % 20)",
                        tags: "project=p\(id % 3)"))
            }
            try db.insert(batch)
        }
    }
    return Double(n) / t
}
let plain = try insertRate(withLatencyIndex: false)
let indexed = try insertRate(withLatencyIndex: true)
print(
    String(
        format:
            "insert path (LedgerDatabase.insert, 1000/tx, rollup upserts included): %.0f calls/s with call_by_month, %.0f calls/s with 0003's latency index (%.0f%%)",
        plain, indexed, (indexed / plain - 1) * 100))

if !keep { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }

enum TemporaryDirectoryPath {
    static func make(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("report-bench-\(label)-\(getpid()).sqlite").path
    }
}
