import GRDB
package import LedgerCore
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
        "cost_official_usd", "cost_holysheep_usd",
    ]
    static let timestampColumns: Set<Int> = [1, 2]
    static let moneyColumns: Set<Int> = [31, 32, 33]

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
            let months = period.monthCodes
            let span = try GRDB.Row.fetchOne(
                db, sql: try ReportQueries.sql("export_id_span"),
                arguments: [
                    "from_us": period.fromMicros, "to_us": period.toMicros, "from_month": months.from,
                    "to_month": months.to,
                ])
            let total: Int64 = span?[2] ?? 0
            var buffer: [UInt8] = []
            buffer.reserveCapacity(1 << 20 + 4096)
            if format == .csv {
                if bom { buffer.append(contentsOf: CSVRenderer.bom.utf8) }
                buffer.append(contentsOf: (Self.columns.joined(separator: ",") + "\r\n").utf8)
            }
            var written: Int64 = 0
            if let fromID: Int64 = span?[0], let toID: Int64 = span?[1] {
                let rows = try GRDB.Row.fetchCursor(
                    db, sql: try ReportQueries.sql("export_calls"),
                    arguments: ["from_id": fromID, "to_id": toID, "from_us": period.fromMicros, "to_us": period.toMicros])
                while let row = try rows.next() {
                    switch format {
                    case .csv: Self.appendCSV(row, to: &buffer)
                    case .jsonl: Self.appendJSON(row, to: &buffer)
                    }
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

    static func appendCSV(_ row: GRDB.Row, to buffer: inout [UInt8]) {
        for i in 0..<columns.count {
            if i > 0 { buffer.append(UInt8(ascii: ",")) }
            switch row[i] as DatabaseValue {
            case let v where v.isNull: break
            case let v:
                switch v.storage {
                case .int64(let n):
                    if timestampColumns.contains(i) {
                        buffer.append(contentsOf: UTCDate.isoTimestamp(micros: n).utf8)
                    } else if moneyColumns.contains(i) {
                        buffer.append(contentsOf: Money(picoUSD: n).exactUSDString.utf8)
                    } else {
                        buffer.append(contentsOf: String(n).utf8)
                    }
                case .string(let s): buffer.append(contentsOf: CSVRenderer.field(s).utf8)
                case .double(let d): buffer.append(contentsOf: String(d).utf8)
                case .blob, .null: break
                }
            }
        }
        buffer.append(contentsOf: [13, 10])
    }

    static func appendJSON(_ row: GRDB.Row, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "{"))
        for i in 0..<columns.count {
            if i > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer.append(UInt8(ascii: "\""))
            buffer.append(contentsOf: columns[i].utf8)
            buffer.append(contentsOf: "\":".utf8)
            switch (row[i] as DatabaseValue).storage {
            case .int64(let n):
                if timestampColumns.contains(i) {
                    buffer.append(UInt8(ascii: "\""))
                    buffer.append(contentsOf: UTCDate.isoTimestamp(micros: n).utf8)
                    buffer.append(UInt8(ascii: "\""))
                } else if moneyColumns.contains(i) {
                    buffer.append(contentsOf: Money(picoUSD: n).exactUSDString.utf8)
                } else {
                    buffer.append(contentsOf: String(n).utf8)
                }
            case .string(let s): buffer.append(contentsOf: JSONRenderer.string(s).utf8)
            case .double(let d): buffer.append(contentsOf: String(d).utf8)
            case .blob, .null: buffer.append(contentsOf: "null".utf8)
            }
        }
        buffer.append(contentsOf: "}\n".utf8)
    }
}
