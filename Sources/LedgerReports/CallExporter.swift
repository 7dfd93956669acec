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

    /// The columns holding text (the others hold integers): read as text, quoted in CSV, strings in JSON.
    static let textColumns: Set<Int> = Set(
        [
            "endpoint", "requested_model", "model", "provider", "provider_kind", "status", "error_type", "usage_source",
            "team", "tags", "upstream_request_id", "price_status", "service_tier", "missing_costs",
        ].compactMap { columns.firstIndex(of: $0) })

    package let database: any ReportStore

    package init(database: any ReportStore) { self.database = database }

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
        try database.read { db in
            let total =
                try db.int(
                    try db.sql("period_call_count"), ["from_day": .int(period.fromDay), "to_day": .int(period.toDay)])
                ?? 0
            var buffer: [UInt8] = []
            buffer.reserveCapacity(1 << 20 + 65_536)
            if format == .csv {
                if bom { buffer.append(contentsOf: CSVRenderer.bom.utf8) }
                buffer.append(contentsOf: (Self.columns.joined(separator: ",") + "\r\n").utf8)
            }
            var written: Int64 = 0
            if let span = try IDSpan.of(period, db) {
                let keys = Self.columns.map { Array("\"\($0)\":".utf8) }
                let kinds = Self.integerKinds
                let isText = Self.columns.indices.map { Self.textColumns.contains($0) }
                let columnCount = Self.columns.count
                let jsonl = format == .jsonl
                let arguments: [String: SQLArgument] = [
                    "from_id": .integer(span.from), "to_id": .integer(span.to), "from_us": .integer(period.fromMicros),
                    "to_us": .integer(period.toMicros),
                ]
                try db.forEach(try db.sql("export_calls"), arguments) { row in
                    // Reads each column in place from the store's row: no per-field Strings.
                    if jsonl { buffer.append(UInt8(ascii: "{")) }
                    for i in 0..<columnCount {
                        if i > 0 { buffer.append(UInt8(ascii: ",")) }
                        if jsonl { buffer.append(contentsOf: keys[i]) }
                        var present = false
                        if isText[i] {
                            present =
                                try row.withUTF8(i) { text in
                                    if jsonl { buffer.appendJSONString(text) } else { buffer.appendCSVField(text) }
                                } != nil
                        } else if let n = try row.int(i) {
                            present = true
                            switch kinds[i] {
                            case 1:
                                if jsonl { buffer.append(UInt8(ascii: "\"")) }
                                buffer.appendISOTimestamp(micros: n)
                                if jsonl { buffer.append(UInt8(ascii: "\"")) }
                            case 2: buffer.appendPicoUSD(n)
                            default: buffer.appendDecimal(n)
                            }
                        }
                        // NULL: empty in CSV, null in JSON.
                        if !present, jsonl {
                            buffer.append(110)  // n
                            buffer.append(117)  // u
                            buffer.append(108)  // l
                            buffer.append(108)  // l
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

    static func of(_ period: ReportPeriod, _ db: any ReportReader) throws -> IDSpan? {
        let months = period.monthCodes
        var span: IDSpan?
        try db.forEach(try db.sql("export_id_span"), ["from_month": .int(months.from), "to_month": .int(months.to)]) {
            row in
            if let from = try row.int(0), let to = try row.int(1) { span = IDSpan(from: from, to: to) }
        }
        return span
    }
}
