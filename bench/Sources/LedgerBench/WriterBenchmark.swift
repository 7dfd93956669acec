import Foundation
import GRDB
import GRDBSQLite
import LedgerCore
import LedgerStore
import Logging

/// `ledger-bench writer [--rows N]`: sustained rows/s and producer wait (p50/p99) through `LedgerWriter` at 1, 8
/// and 64 concurrent producers, next to the same rows inserted with the raw SQLite C API on one thread, in one
/// transaction and in one durable transaction per row (`--no-raw` leaves both out).
/// With `--db postgres://…`: the PostgreSQL ledger instead (PostgresWriterBenchmark).
enum WriterBenchmark {
    static func run(_ arguments: [String]) async throws {
        if let i = arguments.firstIndex(of: "--db"), i + 1 < arguments.count {
            return try await PostgresWriterBenchmark.run(url: arguments[i + 1], arguments)
        }
        var rows = 200_000
        if let i = arguments.firstIndex(of: "--rows"), i + 1 < arguments.count, let n = Int(arguments[i + 1]) {
            rows = n
        }
        var producerCounts = [1, 8, 64]
        if let i = arguments.firstIndex(of: "--producers"), i + 1 < arguments.count {
            producerCounts = arguments[i + 1].split(separator: ",").compactMap { Int($0) }
        }
        let varied = arguments.contains("--varied")
        let latencyIndex = !arguments.contains("--without-latency-index")
        print("writer benchmark: \(rows) call rows per run (1 producer: \(rows / 4)), WAL, synchronous=NORMAL")
        if varied { print("--varied: 4 models, 20 teams/keys, 3 tags, latencies spread over 0.2-3.2 s") }
        if !latencyIndex { print("--without-latency-index: call (month, model, latency_us) replaced by call (month)") }
        print(
            "rows/cpu-s divides by the CPU time this process got: on a busy machine it shows what idle cores would do")
        print("mode                    rows/s  rows/cpu-s    p50 wait    p99 wait   commits  rows/commit")
        if !arguments.contains("--no-raw") {
            // All rows in one transaction (the machine's limit), then one durable transaction per row on the calling
            // thread (what a lone call's commit costs SQLite itself: no hand-off, no batching, no rollup).
            for (label, n, perTransaction) in [("raw SQLite, 1 txn", rows, rows), ("raw SQLite, 1 row/txn", rows / 4, 1)]
            {
                let cpu0 = processCPUSeconds()
                let raw = try rawSQLite(rows: n, rowsPerTransaction: perTransaction)
                let cpu = processCPUSeconds() - cpu0
                print(
                    pad(label, 18) + pad(String(Int(raw.rowsPerSecond)), 12, right: true)
                        + pad(String(Int(Double(n) / cpu)), 12, right: true))
            }
        }
        for producers in producerCounts {
            let n = producers == 1 ? rows / 4 : rows
            let cpu0 = processCPUSeconds()
            let result = try await writer(rows: n, producers: producers, varied: varied, latencyIndex: latencyIndex)
            let cpu = processCPUSeconds() - cpu0
            print(
                pad("LedgerWriter x\(producers)", 18) + pad(String(Int(result.rowsPerSecond)), 12, right: true)
                    + pad(String(Int(Double(n) / cpu)), 12, right: true)
                    + pad(micros(result.p50), 12, right: true) + pad(micros(result.p99), 12, right: true)
                    + pad(String(result.commits), 10, right: true)
                    + pad(
                        String(format: "%.1f", Double(result.rowsCommitted) / Double(max(result.commits, 1))), 13,
                        right: true))
            if arguments.contains("--detail") {
                print(
                    "    p90 \(micros(result.p90))  p99.9 \(micros(result.p999))  max \(micros(result.max))  "
                        + "commits > 1 ms: \(result.statistics.slowCommits)  longest commit: \(result.statistics.longestCommitMicros) us"
                )
            }
        }
    }

    struct Result {
        var rowsPerSecond: Double
        var p50: Duration
        var p99: Duration
        var commits: Int
        var rowsCommitted: Int
        var p90: Duration
        var p999: Duration
        var max: Duration
        var statistics: LedgerWriter.Statistics
    }

    /// A representative call: priced, with tags and a request id.
    static func event(id: Int64) -> UsageEvent {
        UsageEvent(
            id: id, startedAtMicros: 1_764_547_200_000_000 + id, finishedAtMicros: 1_764_547_200_000_000 + id + 900_000,
            endpoint: "/v1/chat/completions", requestedModel: "gpt-4.1", model: "gpt-4.1", provider: "holysheep",
            providerKind: .holysheep, stream: true, status: .ok, httpStatus: 200,
            usage: TokenUsage(promptTokens: 1200 + id % 100, cachedPromptTokens: 200, completionTokens: 300),
            latencyMicros: 900_000, upstreamLatencyMicros: 850_000, timeToFirstTokenMicros: 120_000,
            queueWaitMicros: 15, inflightAtAdmission: 12, keyID: 1, team: "research", tags: "project=atlas",
            upstreamRequestID: "req_0123456789abcdef")
    }

    /// With `varied`, calls spread over 4 models, 20 teams and keys, 3 tags and latencies of 0.2-3.2 s: more
    /// `call_rollup` keys per batch and index entries at random positions, closer to a real proxy's mix.
    static func variedEvent(id: Int64) -> UsageEvent {
        var e = event(id: id)
        let models = ["gpt-4.1", "claude-sonnet-4.5", "gemini-2.5-flash", "deepseek-v3.2"]
        e.model = models[Int(id % 4)]
        e.requestedModel = e.model
        e.team = "team-\(id / 4 % 20)"
        e.keyID = nil
        e.tags = "project=p\(id % 3)"
        e.latencyMicros = 200_000 + (id &* 2_654_435_761) % 3_000_000
        return e
    }

    static func writer(rows: Int, producers: Int, varied: Bool, latencyIndex: Bool) async throws -> Result {
        let path = temporaryPath("writer\(producers)")
        defer { remove(path) }
        let ledger = try LedgerDatabase(path: path)
        if !latencyIndex {
            try await ledger.writer.write { db in
                try db.execute(
                    sql: "DROP INDEX call_by_month_model_latency; CREATE INDEX call_by_month ON call (month)")
            }
        }
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let writer = try LedgerWriter(database: ledger, logger: logger)
        let perProducer = rows / producers
        let clock = ContinuousClock()
        let (elapsed, waits) = try await withThrowingTaskGroup(of: [Duration].self) { group in
            group.addTask {
                try await writer.run()
                return []
            }
            let start = clock.now
            let waits = try await withThrowingTaskGroup(of: [Duration].self) { producerGroup in
                for _ in 0..<producers {
                    producerGroup.addTask {
                        var waits: [Duration] = []
                        waits.reserveCapacity(perProducer)
                        for _ in 0..<perProducer {
                            let id = writer.reserveCallID()
                            let event = varied ? variedEvent(id: id) : event(id: id)
                            let t0 = clock.now
                            try await writer.record(event)
                            waits.append(t0.duration(to: clock.now))
                        }
                        return waits
                    }
                }
                return try await producerGroup.reduce(into: [Duration]()) { $0 += $1 }
            }
            let elapsed = start.duration(to: clock.now)
            group.cancelAll()
            try await group.waitForAll()
            return (elapsed, waits)
        }
        let sorted = waits.sorted()
        let committed = try await ledger.writer.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM call") ?? 0 }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Result(
            rowsPerSecond: Double(sorted.count) / seconds, p50: sorted[sorted.count / 2],
            p99: sorted[min(sorted.count - 1, sorted.count * 99 / 100)], commits: writer.statistics.commits,
            rowsCommitted: committed,
            p90: sorted[sorted.count * 9 / 10], p999: sorted[min(sorted.count - 1, sorted.count * 999 / 1000)],
            max: sorted[sorted.count - 1], statistics: writer.statistics)
    }

    /// The same rows, the same SQL, costed the same way, with sqlite3_bind_* on the calling thread, committed every
    /// `rowsPerTransaction` rows (all in one transaction: the machine's limit; one per row: a lone call's commit).
    static func rawSQLite(rows: Int, rowsPerTransaction: Int) throws -> (rowsPerSecond: Double, ()) {
        let path = temporaryPath("raw")
        defer { remove(path) }
        let book: PriceBook
        do {
            let ledger = try LedgerDatabase(path: path)
            book = try ledger.loadPriceBook()
        }
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK else {
            fatalError("open")
        }
        defer { sqlite3_close_v2(db) }
        sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", nil, nil, nil)
        var statement: OpaquePointer?
        guard
            sqlite3_prepare_v3(db, CallRecord.insertSQL, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
                == SQLITE_OK
        else { fatalError(String(cString: sqlite3_errmsg(db))) }
        defer { sqlite3_finalize(statement) }
        let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
        func text(_ index: Int32, _ value: String?) {
            if let value {
                sqlite3_bind_text(statement, index, value, -1, transient)
            } else {
                sqlite3_bind_null(statement, index)
            }
        }
        func int(_ index: Int32, _ value: Int64?) {
            if let value { sqlite3_bind_int64(statement, index, value) } else { sqlite3_bind_null(statement, index) }
        }
        let clock = ContinuousClock()
        let start = clock.now
        sqlite3_exec(db, "BEGIN IMMEDIATE", nil, nil, nil)
        for i in 1...rows {
            if i > 1 && (i - 1) % rowsPerTransaction == 0 {
                sqlite3_exec(db, "COMMIT", nil, nil, nil)
                sqlite3_exec(db, "BEGIN IMMEDIATE", nil, nil, nil)
            }
            let e = event(id: Int64(i))
            let u = e.usage!
            let official = book.row(model: "gpt-4.1", kind: .official, atMicros: e.startedAtMicros)!
            let relay = book.row(model: "gpt-4.1", kind: .holysheep, atMicros: e.startedAtMicros)!
            let o = Int64(try CostCalculator.cost(for: u, price: official.price).picoUSD)
            let h = Int64(try CostCalculator.cost(for: u, price: relay.price).picoUSD)
            int(1, e.id)
            int(2, e.startedAtMicros)
            int(3, e.finishedAtMicros)
            int(4, Int64(BillingMonth(containing: e.startedAtMicros).code))
            text(5, e.endpoint)
            text(6, e.requestedModel)
            text(7, e.model)
            text(8, e.provider)
            text(9, e.providerKind?.rawValue)
            int(10, e.stream ? 1 : 0)
            text(11, e.status.rawValue)
            int(12, e.httpStatus.map(Int64.init))
            text(13, e.errorType)
            int(14, Int64(e.attempts))
            int(15, e.fallbackUsed ? 1 : 0)
            int(16, u.promptTokens)
            int(17, u.cachedPromptTokens)
            int(18, u.completionTokens)
            int(19, u.reasoningTokens)
            text(20, "upstream")
            int(21, e.latencyMicros)
            int(22, e.upstreamLatencyMicros)
            int(23, e.timeToFirstTokenMicros)
            int(24, e.queueWaitMicros)
            int(25, e.inflightAtAdmission.map(Int64.init))
            int(26, e.keyID)
            text(27, e.team)
            text(28, e.tags)
            text(29, e.upstreamRequestID)
            text(30, "priced")
            int(31, official.id)
            int(32, relay.id)
            int(33, h)
            int(34, o)
            int(35, h)
            guard sqlite3_step(statement) == SQLITE_DONE else { fatalError(String(cString: sqlite3_errmsg(db))) }
            sqlite3_reset(statement)
        }
        sqlite3_exec(db, "COMMIT", nil, nil, nil)
        let elapsed = start.duration(to: clock.now)
        return (Double(rows) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18), ())
    }

    /// CPU time this process has used (all threads), in seconds.
    static func processCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    static func temporaryPath(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent(
            "ledger-bench-\(label)-\(UUID().uuidString).sqlite"
        ).path
    }

    static func remove(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-writer.lock"] {
            try? FileManager.default.removeItem(atPath: path + suffix)
        }
    }

    static func micros(_ d: Duration) -> String {
        let us = Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12
        return us >= 1000 ? String(format: "%.2f ms", us / 1000) : String(format: "%.0f us", us)
    }

    static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return right ? fill + s : s + fill
    }
}
