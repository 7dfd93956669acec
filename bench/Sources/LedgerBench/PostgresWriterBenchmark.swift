import Foundation
import LedgerCore
import LedgerPostgres
import LedgerStore
import Logging
import NIOCore
import PostgresNIO

/// `ledger-bench writer --db postgres://USER:PASSWORD@HOST:PORT/DB [--rows N] [--producers 1,8,64] [--varied]`:
/// rows/s and producer wait (p50/p99) through `PostgresLedger` (group commit, synchronous_commit on), next to COPY of
/// the same rows in batches of 1,000 (one COPY per transaction): the server's limit for durable batches. Each run
/// uses a fresh database on the server (CREATE DATABASE, migrated), dropped afterwards.
enum PostgresWriterBenchmark {
    static func run(url: String, _ arguments: [String]) async throws {
        var rows = 100_000
        if let i = arguments.firstIndex(of: "--rows"), i + 1 < arguments.count, let n = Int(arguments[i + 1]) {
            rows = n
        }
        var producerCounts = [1, 8, 64]
        if let i = arguments.firstIndex(of: "--producers"), i + 1 < arguments.count {
            producerCounts = arguments[i + 1].split(separator: ",").compactMap { Int($0) }
        }
        let varied = arguments.contains("--varied")
        let server = try PostgresSettings(url: url)
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        print("PostgreSQL writer benchmark on \(server.redacted): \(rows) call rows per run (1 producer: \(rows / 4))")
        if varied { print("--varied: 4 models, 20 teams/keys, 3 tags, latencies spread over 0.2-3.2 s") }
        print("mode                    rows/s    p50 wait    p99 wait   commits  rows/commit")
        do {
            let settings = try await freshDatabase(server, logger: logger)
            let rate = try await copy(rows: rows, varied: varied, settings: settings, logger: logger)
            print(WriterBenchmark.pad("COPY, 1,000/txn", 18) + WriterBenchmark.pad(String(Int(rate)), 12, right: true))
            try await drop(settings, server: server, logger: logger)
        }
        for producers in producerCounts {
            let n = producers == 1 ? rows / 4 : rows
            let settings = try await freshDatabase(server, logger: logger)
            let ledger = try await PostgresLedger.open(settings, logger: logger)
            let running = Task { try await ledger.run() }
            let perProducer = n / producers
            let clock = ContinuousClock()
            let start = clock.now
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
            let elapsed = start.duration(to: clock.now)
            running.cancel()
            try await running.value
            let sorted = waits.sorted()
            let stats = ledger.batchStats
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print(
                WriterBenchmark.pad("PostgresLedger x\(producers)", 18)
                    + WriterBenchmark.pad(String(Int(Double(sorted.count) / seconds)), 12, right: true)
                    + WriterBenchmark.pad(WriterBenchmark.micros(sorted[sorted.count / 2]), 12, right: true)
                    + WriterBenchmark.pad(
                        WriterBenchmark.micros(sorted[min(sorted.count - 1, sorted.count * 99 / 100)]), 12, right: true)
                    + WriterBenchmark.pad(String(stats.batches), 10, right: true)
                    + WriterBenchmark.pad(
                        String(format: "%.1f", Double(stats.rows) / Double(max(stats.batches, 1))), 13, right: true))
            try await drop(settings, server: server, logger: logger)
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
