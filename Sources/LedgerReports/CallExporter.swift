import GRDB
import GRDBSQLite
import LedgerCore
package import LedgerStore

/// Streams the raw `call` rows of a period as CSV or JSON Lines, in constant memory (reports/export_calls.sql).
package struct CallExporter: Sendable {
    /// The output format.
    package enum Format: String, Sendable, CaseIterable {
        case csv, jsonl
    }

    /// Column names, in reports/export_calls.sql order; timestamps become ISO 8601 and pico-USD exact USD.
    package static let columns = [
        "id", "started_at", "finished_at", "endpoint", "requested_model", "model", "provider", "provider_kind",
        "stream", "status", "http_status", "error_type", "attempts", "fallback_used", "prompt_tokens",
        "cached_prompt_tokens", "completion_tokens", "reasoning_tokens", "usage_source", "latency_us",
        "upstream_latency_us", "ttft_us", "queue_wait_us", "inflight_at_admission", "key_id", "team", "tags",
        "upstream_request_id", "price_status", "official_price_id", "holysheep_price_id", "cost_paid_usd",
        "cost_official_usd", "cost_holysheep_usd", "cache_write_5m_tokens", "cache_write_1h_tokens",
        "audio_prompt_tokens", "audio_completion_tokens", "service_tier", "missing_costs",
    ]
    /// How each column's integers are written: 0 plain, 1 ISO timestamp, 2 exact USD from pico-USD.
    static let integerKinds: [UInt8] = columns.indices.map {
        [1, 2].contains($0) ? 1 : [31, 32, 33].contains($0) ? 2 : 0
    }

    package let database: LedgerDatabase

    package init(database: LedgerDatabase) { self.database = database }

    /// Writes every call of `period`.
    /// - Parameters:
    ///   - write: receives chunks of about 1 MiB of UTF-8 (the only buffer: memory stays constant).
    ///   - progress: called with (rows written, rows in the period) every 65,536 rows and at the end.
    /// - Returns: the number of rows written.
    @discardableResult
    package func export(
        period: ReportPeriod, format: Format, bom: Bool = false, write: ([UInt8]) throws -> Void,
        progress: ((Int64, Int64) -> Void)? = nil
    ) throws -> Int64 {
        try database.writer.read { db in
            let total =
                try Int64.fetchOne(
                    db, sql: try ReportQueries.sql("period_call_count"),
                    arguments: ["from_day": period.fromDay, "to_day": period.toDay]) ?? 0
            var buffer: [UInt8] = []
            buffer.reserveCapacity(1 << 20 + 65_536)
            if format == .csv {
                if bom { buffer.append(contentsOf: CSVRenderer.bom.utf8) }
                buffer.append(contentsOf: (Self.columns.joined(separator: ",") + "\r\n").utf8)
            }
            var written: Int64 = 0
            if let span = try IDSpan.of(period, db) {
                let statement = try db.makeStatement(sql: try ReportQueries.sql("export_calls"))
                let rows = try GRDB.Row.fetchCursor(
                    statement,
                    arguments: [
                        "from_id": span.from, "to_id": span.to, "from_us": period.fromMicros, "to_us": period.toMicros,
                    ])
                let sqlite = statement.sqliteStatement
                let keys = Self.columns.map { Array("\"\($0)\":".utf8) }
                let kinds = Self.integerKinds
                let columnCount = Int32(Self.columns.count)
                let jsonl = format == .jsonl
                while try rows.next() != nil {
                    // Reads each column straight from SQLite: no Row values, no per-field Strings.
                    if jsonl { buffer.append(UInt8(ascii: "{")) }
                    for column in 0..<columnCount {
                        let i = Int(column)
                        if i > 0 { buffer.append(UInt8(ascii: ",")) }
                        if jsonl { buffer.append(contentsOf: keys[i]) }
                        switch sqlite3_column_type(sqlite, column) {
                        case SQLITE_INTEGER:
                            let n = sqlite3_column_int64(sqlite, column)
                            switch kinds[i] {
                            case 1:
                                if jsonl { buffer.append(UInt8(ascii: "\"")) }
                                buffer.appendISOTimestamp(micros: n)
                                if jsonl { buffer.append(UInt8(ascii: "\"")) }
                            case 2: buffer.appendPicoUSD(n)
                            default: buffer.appendDecimal(n)
                            }
                        case SQLITE_TEXT:
                            let count = Int(sqlite3_column_bytes(sqlite, column))
                            let text = UnsafeBufferPointer(start: sqlite3_column_text(sqlite, column), count: count)
                            if jsonl { buffer.appendJSONString(text) } else { buffer.appendCSVField(text) }
                        default:
                            // NULL (and types the schema does not store): empty in CSV, null in JSON.
                            if jsonl {
                                buffer.append(110)  // n
                                buffer.append(117)  // u
                                buffer.append(108)  // l
                                buffer.append(108)  // l
                            }
                        }
                    }
                    if jsonl { buffer.append(UInt8(ascii: "}")) } else { buffer.append(13) }
                    buffer.append(10)
                    written += 1
                    if buffer.count >= 1 << 20 {
                        try write(buffer)
                        buffer.removeAll(keepingCapacity: true)
                    }
                    if written & 0xFFFF == 0 { progress?(written, total) }
                }
            }
            if !buffer.isEmpty { try write(buffer) }
            progress?(written, total)
            return written
        }
    }

}

/// The id span of the calendar months a period touches (export_id_span.sql), for storage-order scans.
struct IDSpan {
    var from: Int64
    var to: Int64

    static func of(_ period: ReportPeriod, _ db: Database) throws -> IDSpan? {
        let months = period.monthCodes
        let row = try GRDB.Row.fetchOne(
            db, sql: try ReportQueries.sql("export_id_span"),
            arguments: ["from_month": months.from, "to_month": months.to])
        guard let row, let from: Int64 = row[0], let to: Int64 = row[1] else { return nil }
        return IDSpan(from: from, to: to)
    }
}
