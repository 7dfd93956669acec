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
            var sink = ByteSink(capacity: 1 << 20 + 65_536)
            defer { sink.deallocate() }
            // What `write` receives: one array reused for every chunk (unless `write` keeps it).
            var chunk: [UInt8] = []
            chunk.reserveCapacity(sink.capacity)
            func flush() throws {
                sink.copy(into: &chunk)
                sink.removeAll()
                try write(chunk)
            }
            func writeAll(_ bytes: [UInt8]) {
                bytes.withUnsafeBufferPointer {
                    sink.reserve($0.count)
                    sink.write($0)
                }
            }
            if format == .csv {
                if bom { writeAll(Array(CSVRenderer.bom.utf8)) }
                writeAll(Array((Self.columns.joined(separator: ",") + "\r\n").utf8))
            }
            var written: Int64 = 0
            if let span = try IDSpan.of(period, db) {
                let jsonl = format == .jsonl
                // What each column is (0 integer, 1 timestamp, 2 pico-USD, 3 text) and the bytes before it:
                // `{"id":` / `,"name":` in JSON Lines, `,` in CSV; all in flat arrays read through pointers.
                let plan: [UInt8] = Self.columns.indices.map {
                    Self.textColumns.contains($0) ? 3 : Self.integerKinds[$0]
                }
                var prefixes: [UInt8] = []
                var prefixStarts: [Int] = []
                for (i, name) in Self.columns.enumerated() {
                    prefixStarts.append(prefixes.count)
                    if jsonl {
                        prefixes.append(contentsOf: Array(((i == 0 ? "{" : ",") + "\"\(name)\":").utf8))
                    } else if i > 0 {
                        prefixes.append(UInt8(ascii: ","))
                    }
                }
                prefixStarts.append(prefixes.count)
                // Room for a row's fixed parts: every prefix, every number at its longest, the line end; text fields
                // reserve their own.
                let rowBytes =
                    prefixes.count + plan.filter { $0 != 3 }.count * (ByteSink.maxNumberBytes + 2)
                    + plan.filter { $0 == 3 }.count * 4 + 4
                let arguments: [String: SQLArgument] = [
                    "from_id": .integer(span.from), "to_id": .integer(span.to), "from_us": .integer(period.fromMicros),
                    "to_us": .integer(period.toMicros),
                ]
                let sql = try db.sql("export_calls")
                try plan.withUnsafeBufferPointer { plan in
                    try prefixes.withUnsafeBufferPointer { prefixes in
                        try prefixStarts.withUnsafeBufferPointer { starts in
                            let rows = RowWriter(
                                plan: plan, prefixes: prefixes, starts: starts, jsonl: jsonl, rowBytes: rowBytes)
                            try db.forEach(sql, arguments) { row in
                                try rows.write(row, to: &sink)
                                written += 1
                                if sink.count >= 1 << 20 { try flush() }
                                if written & 0xFFFF == 0 { progress?(written, total) }
                            }
                        }
                    }
                }
            }
            if !sink.isEmpty { try flush() }
            progress?(written, total)
            return written
        }
    }

}

/// Writes one call's fields: a mutating method, so the per-field writes into the sink are statically checked
/// accesses of an `inout` (a variable captured by the row closure is checked at run time on every access).
private struct RowWriter {
    let plan: UnsafeBufferPointer<UInt8>
    let prefixes: UnsafeBufferPointer<UInt8>
    let starts: UnsafeBufferPointer<Int>
    let jsonl: Bool
    let rowBytes: Int

    func write(_ row: any ReportRow, to sink: inout ByteSink) throws {
        // Reads each column in place from the store's row: no per-field Strings.
        sink.reserve(rowBytes)
        for i in 0..<plan.count {
            sink.writeShort(prefixes.baseAddress! + starts[i], count: starts[i + 1] - starts[i])
            let kind = plan[i]
            var present = false
            if kind == 3 {
                present =
                    try row.withUTF8(i) { text in
                        if jsonl { sink.writeJSONString(text) } else { sink.writeCSVField(text) }
                    } != nil
                // The text may have used the room: reserve again for the rest of the row.
                sink.reserve(rowBytes)
            } else if let n = try row.int(i) {
                present = true
                switch kind {
                case 1:
                    if jsonl { sink.write(UInt8(ascii: "\"")) }
                    sink.writeISOTimestamp(micros: n)
                    if jsonl { sink.write(UInt8(ascii: "\"")) }
                case 2: sink.writePicoUSD(n)
                default: sink.writeDecimal(n)
                }
            }
            // NULL: empty in CSV, null in JSON.
            if !present, jsonl { sink.writeNull() }
        }
        if jsonl { sink.write(UInt8(ascii: "}")) } else { sink.write(13) }
        sink.write(10)
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
