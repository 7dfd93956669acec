import Foundation
import LedgerCore
import LedgerPostgres
import LedgerStore
import Logging
import NIOCore
import PostgresNIO

/// `ledger-bench writer --db postgres://USER:PASSWORD@HOST:PORT/DB [--rows N] [--producers 1,8,64] [--varied]
/// [--writers N] [--overlap-batch N] [--replicas 2] [--no-copy]`: rows/s and producer wait (p50/p99) through `PostgresLedger` (group
/// commit, synchronous_commit on), next to COPY of the same rows in batches of 1,000 (one COPY per transaction): the
/// server's limit for durable batches. Each run uses a fresh database on the server (CREATE DATABASE, migrated),
/// dropped afterwards. `--replicas 2` runs each producer count in two processes at once (this one and a child
/// `ledger-bench writer --replica-child`), each with its own `PostgresLedger` and N producers, on one database.
enum PostgresWriterBenchmark {
    static func run(url: String, _ arguments: [String]) async throws {
        if arguments.contains("--replica-child") { return try await replicaChild(url: url, arguments) }
        var rows = 100_000
        if let i = arguments.firstIndex(of: "--rows"), i + 1 < arguments.count, let n = Int(arguments[i + 1]) {
            rows = n
        }
        var producerCounts = [1, 8, 64]
        if let i = arguments.firstIndex(of: "--producers"), i + 1 < arguments.count {
            producerCounts = arguments[i + 1].split(separator: ",").compactMap { Int($0) }
        }
        let varied = arguments.contains("--varied")
        var writers = PostgresLedger.defaultWriters
        if let i = arguments.firstIndex(of: "--writers"), i + 1 < arguments.count, let n = Int(arguments[i + 1]) {
            writers = n
        }
        var overlap = PostgresLedger.defaultOverlapBatch
        if let i = arguments.firstIndex(of: "--overlap-batch"), i + 1 < arguments.count, let n = Int(arguments[i + 1]) {
            overlap = n
        }
        var replicas = 1
        if let i = arguments.firstIndex(of: "--replicas"), i + 1 < arguments.count, let n = Int(arguments[i + 1]) {
            replicas = max(1, min(2, n))
        }
        let server = try PostgresSettings(url: url)
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        print("PostgreSQL writer benchmark on \(server.redacted): \(rows) call rows per run (1 producer: \(rows / 4))")
        if varied { print("--varied: 4 models, 20 teams/keys, 3 tags, latencies spread over 0.2-3.2 s") }
        print("\(writers) writer connection(s) per process, overlap batch \(overlap)" + (replicas > 1 ? ", 2 replica processes" : ""))
        print("mode                    rows/s    p50 wait    p99 wait   commits  rows/commit")
        if !arguments.contains("--no-copy") {
            let settings = try await freshDatabase(server, logger: logger)
            let rate = try await copy(rows: rows, varied: varied, settings: settings, logger: logger)
            print(WriterBenchmark.pad("COPY, 1,000/txn", 18) + WriterBenchmark.pad(String(Int(rate)), 12, right: true))
            try await drop(settings, server: server, logger: logger)
        }
        for producers in producerCounts {
            let n = producers == 1 ? rows / 4 : rows
            let settings = try await freshDatabase(server, logger: logger)
            guard replicas > 1 else {
                let result = try await measure(
                    settings, rows: n, producers: producers, varied: varied, writers: writers, overlap: overlap,
                    logger: logger)
                print(result.line("PostgresLedger x\(producers)"))
                try await drop(settings, server: server, logger: logger)
                continue
            }
            // The child opens its own ledger on the same database, says "ready", and starts on our "go".
            let child = Process()
            child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            child.arguments = [
                "writer", "--db", settings.urlWithPassword, "--replica-child", "--rows", String(n), "--producers",
                String(producers), "--writers", String(writers), "--overlap-batch", String(overlap),
            ] + (varied ? ["--varied"] : [])
            let toChild = Pipe()
            let fromChild = Pipe()
            child.standardInput = toChild
            child.standardOutput = fromChild
            try child.run()
            let ready = readLine(fromChild.fileHandleForReading)
            guard ready == "ready" else { throw BenchError("the replica child did not start: \(ready ?? "no output")") }
            let ledger = try await PostgresLedger.open(
                settings, logger: logger, writers: writers, overlapBatch: overlap)
            toChild.fileHandleForWriting.write(Data("go\n".utf8))
            let mine = try await measure(
                ledger, rows: n, producers: producers, varied: varied, logger: logger)
            let theirs = fromChild.fileHandleForReading.readDataToEndOfFile()
            child.waitUntilExit()
            guard let other = Result(line: String(decoding: theirs, as: UTF8.self)) else {
                throw BenchError("no result from the replica child")
            }
            print(mine.line("replica A x\(producers)"))
            print(other.line("replica B x\(producers)"))
            let span = Double(max(mine.endNanos, other.endNanos) - min(mine.startNanos, other.startNanos)) / 1e9
            let total = mine.rows + other.rows
            print(
                WriterBenchmark.pad("2 replicas x\(producers)", 18)
                    + WriterBenchmark.pad(String(Int(Double(total) / span)), 12, right: true)
                    + "    combined: \(total) rows in \(String(format: "%.2f", span)) s from the first start to the last end")
            let (calls, rolled) = try await settings.withConnection(logger: logger) { connection in
                let rows = try await connection.query(
                    "SELECT (SELECT count(*) FROM call), (SELECT sum(calls)::bigint FROM call_rollup)", logger: logger)
                var counts = (Int64(0), Int64(0))
                for try await row in rows.decode((Int64, Int64).self) { counts = row }
                return counts
            }
            print("    in the ledger: \(calls) calls, \(rolled) in the rollup (acknowledged: \(total))")
            try await drop(settings, server: server, logger: logger)
        }
    }

    struct BenchError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// One run's figures; `line()` is the table row. Start and end are wall-clock (CLOCK_REALTIME) nanoseconds, so
    /// two processes' runs can be put on one time line.
    struct Result {
        var rows: Int
        var p50: Duration
        var p99: Duration
        var batches: Int
        var batchRows: Int
        var startNanos: Int64
        var endNanos: Int64

        func line(_ label: String) -> String {
            let seconds = Double(endNanos - startNanos) / 1e9
            return WriterBenchmark.pad(label, 18)
                + WriterBenchmark.pad(String(Int(Double(rows) / seconds)), 12, right: true)
                + WriterBenchmark.pad(WriterBenchmark.micros(p50), 12, right: true)
                + WriterBenchmark.pad(WriterBenchmark.micros(p99), 12, right: true)
                + WriterBenchmark.pad(String(batches), 10, right: true)
                + WriterBenchmark.pad(String(format: "%.1f", Double(batchRows) / Double(max(batches, 1))), 13, right: true)
        }

        /// The child's one-line report.
        var report: String {
            "result \(rows) \(p50.components.attoseconds / 1_000_000_000 + p50.components.seconds * 1_000_000_000) "
                + "\(p99.components.attoseconds / 1_000_000_000 + p99.components.seconds * 1_000_000_000) "
                + "\(batches) \(batchRows) \(startNanos) \(endNanos)"
        }

        init(rows: Int, p50: Duration, p99: Duration, batches: Int, batchRows: Int, startNanos: Int64, endNanos: Int64) {
            self.rows = rows
            self.p50 = p50
            self.p99 = p99
            self.batches = batches
            self.batchRows = batchRows
            self.startNanos = startNanos
            self.endNanos = endNanos
        }

        init?(line: String) {
            guard let report = line.split(separator: "\n").first(where: { $0.hasPrefix("result ") }) else { return nil }
            let f = report.split(separator: " ").dropFirst().compactMap { Int64($0) }
            guard f.count == 7 else { return nil }
            self.init(
                rows: Int(f[0]), p50: .nanoseconds(f[1]), p99: .nanoseconds(f[2]), batches: Int(f[3]),
                batchRows: Int(f[4]), startNanos: f[5], endNanos: f[6])
        }
    }

    static func wallNanos() -> Int64 {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec)
    }

    static func measure(
        _ settings: PostgresSettings, rows n: Int, producers: Int, varied: Bool, writers: Int, overlap: Int,
        logger: Logger
    ) async throws -> Result {
        let ledger = try await PostgresLedger.open(settings, logger: logger, writers: writers, overlapBatch: overlap)
        return try await measure(ledger, rows: n, producers: producers, varied: varied, logger: logger)
    }

    /// `producers` tasks each recording `rows / producers` calls through `ledger` (run for the duration).
    static func measure(_ ledger: PostgresLedger, rows n: Int, producers: Int, varied: Bool, logger: Logger)
        async throws -> Result
    {
        let running = Task { try await ledger.run() }
        let perProducer = n / producers
        let clock = ContinuousClock()
        let startNanos = wallNanos()
        let waits = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for _ in 0..<producers {
                group.addTask {
                    var waits: [Duration] = []
                    waits.reserveCapacity(perProducer)
                    for _ in 0..<perProducer {
                        let id = ledger.reserveCallID()
                        let event = varied ? WriterBenchmark.variedEvent(id: id) : WriterBenchmark.event(id: id)
                        let t0 = clock.now
                        try await ledger.record(event)
                        waits.append(t0.duration(to: clock.now))
                    }
                    return waits
                }
            }
            return try await group.reduce(into: [Duration]()) { $0 += $1 }
        }
        let endNanos = wallNanos()
        running.cancel()
        try await running.value
        let sorted = waits.sorted()
        let stats = ledger.batchStats
        return Result(
            rows: sorted.count, p50: sorted[sorted.count / 2], p99: sorted[min(sorted.count - 1, sorted.count * 99 / 100)],
            batches: stats.batches, batchRows: stats.rows, startNanos: startNanos, endNanos: endNanos)
    }

    /// The second replica of `--replicas 2`: opens the ledger on the parent's database, prints "ready", waits for a
    /// line on stdin, records, and prints its `Result.report`.
    static func replicaChild(url: String, _ arguments: [String]) async throws {
        func value(_ name: String) -> Int? {
            guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
            return Int(arguments[i + 1])
        }
        var logger = Logger(label: "bench-replica")
        logger.logLevel = .warning
        let settings = try PostgresSettings(url: url)
        let ledger = try await PostgresLedger.open(
            settings, logger: logger, writers: value("--writers") ?? PostgresLedger.defaultWriters,
            overlapBatch: value("--overlap-batch") ?? PostgresLedger.defaultOverlapBatch)
        FileHandle.standardOutput.write(Data("ready\n".utf8))
        _ = Swift.readLine()
        let result = try await measure(
            ledger, rows: value("--rows") ?? 100_000, producers: value("--producers") ?? 64,
            varied: arguments.contains("--varied"), logger: logger)
        FileHandle.standardOutput.write(Data((result.report + "\n").utf8))
    }

    /// One line from `handle` (blocking), without its newline.
    static func readLine(_ handle: FileHandle) -> String? {
        var bytes: [UInt8] = []
        while true {
            let byte = handle.readData(ofLength: 1)
            guard let b = byte.first else { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
            if b == 10 { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(b)
        }
    }

    static func freshDatabase(_ server: PostgresSettings, logger: Logger) async throws -> PostgresSettings {
        var settings = server
        settings.database = "bench_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await server.withConnection(logger: logger) { connection in
            _ = try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(settings.database)"), logger: logger)
        }
        try await settings.withConnection(logger: logger) { _ = try await PostgresMigrations.migrate($0, logger: logger) }
        return settings
    }

    static func drop(_ settings: PostgresSettings, server: PostgresSettings, logger: Logger) async throws {
        try await server.withConnection(logger: logger) { connection in
            _ = try await connection.query(
                PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(settings.database) WITH (FORCE)"), logger: logger)
        }
    }

    /// COPY call FROM STDIN (text format) in transactions of 1,000 rows, with the same rows and costs the ledger
    /// writes (no rollup: this is the server's floor for durable batched rows).
    static func copy(rows: Int, varied: Bool, settings: PostgresSettings, logger: Logger) async throws -> Double {
        let book = try await PostgresLedger.open(settings, logger: logger).priceBook
        let columns = [
            "id", "started_at_us", "finished_at_us", "month", "endpoint", "requested_model", "model", "provider",
            "provider_kind", "stream", "status", "http_status", "attempts", "fallback_used", "prompt_tokens",
            "cached_prompt_tokens", "completion_tokens", "reasoning_tokens", "usage_source", "latency_us",
            "upstream_latency_us", "ttft_us", "queue_wait_us", "inflight_at_admission", "key_id", "team", "tags",
            "upstream_request_id", "price_status", "official_price_id", "holysheep_price_id", "cost_paid_pusd",
            "cost_official_pusd", "cost_holysheep_pusd", "cache_write_5m_tokens", "cache_write_1h_tokens",
            "audio_prompt_tokens", "audio_completion_tokens", "service_tier", "missing_costs",
        ]
        let clock = ContinuousClock()
        let start = clock.now
        try await settings.withConnection(logger: logger) { connection in
            var id: Int64 = 1
            while id <= Int64(rows) {
                let end = min(id + 999, Int64(rows))
                try await connection.copyFrom(table: "call", columns: columns, logger: logger) { writer in
                    var buffer = ByteBuffer()
                    for i in id...end {
                        let e = varied ? WriterBenchmark.variedEvent(id: i) : WriterBenchmark.event(id: i)
                        let u = e.usage!
                        let model = e.model!
                        let official = book.row(model: model, kind: .official, atMicros: e.startedAtMicros)!
                        let relay = book.row(model: model, kind: .holysheep, atMicros: e.startedAtMicros)!
                        let o = Int64(try CostCalculator.cost(for: u, price: official.price).picoUSD)
                        let h = Int64(try CostCalculator.cost(for: u, price: relay.price).picoUSD)
                        let fields: [String?] = [
                            "\(e.id)", "\(e.startedAtMicros)", "\(e.finishedAtMicros)",
                            "\(BillingMonth(containing: e.startedAtMicros).code)", e.endpoint, e.requestedModel, model,
                            e.provider, e.providerKind?.rawValue, e.stream ? "1" : "0", e.status.rawValue,
                            e.httpStatus.map { "\($0)" }, "\(e.attempts)", e.fallbackUsed ? "1" : "0",
                            "\(u.promptTokens)", "\(u.cachedPromptTokens)", "\(u.completionTokens)",
                            "\(u.reasoningTokens)", "upstream", "\(e.latencyMicros)",
                            e.upstreamLatencyMicros.map { "\($0)" }, e.timeToFirstTokenMicros.map { "\($0)" },
                            e.queueWaitMicros.map { "\($0)" }, e.inflightAtAdmission.map { "\($0)" },
                            e.keyID.map { "\($0)" }, e.team, e.tags, e.upstreamRequestID, "priced", "\(official.id)",
                            "\(relay.id)", "\(h)", "\(o)", "\(h)", "\(u.cacheWrite5mTokens)", "\(u.cacheWrite1hTokens)",
                            "\(u.audioPromptTokens)", "\(u.audioCompletionTokens)", u.serviceTier, nil,
                        ]
                        // Benchmark values hold no tab, newline or backslash: no COPY escaping needed.
                        buffer.writeString(fields.map { $0 ?? "\\N" }.joined(separator: "\t"))
                        buffer.writeString("\n")
                    }
                    try await writer.write(buffer)
                }
                id = end + 1
            }
        }
        let elapsed = start.duration(to: clock.now)
        return Double(rows) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}
