import LedgerCore
import LedgerStore

/// Exact nearest-rank p95 latencies: the latency at rank ceil(0.95 × n) of the n calls, in ascending order.
enum LatencyPercentile {
    /// Rank (1-based, ascending) of the p95 among `n` values.
    static func rank(_ n: Int64) -> Int64 { (95 * n + 99) / 100 }

    /// p95 per group and of all calls.
    ///
    /// A store whose dialect has latency_p95_by_group.sql (PostgreSQL) computes them itself. Otherwise, for one whole
    /// month grouped by model it reads only the slowest 5% of each model from the index call_by_month_model_latency
    /// (latency_top_by_model.sql); otherwise it reads the period's latencies (latency_by_group.sql). All are exact.
    /// `maxCallID`: only calls with an id up to it (a closed month's calls as recorded at the close).
    static func p95(
        period: ReportPeriod, grouping: ReportGrouping, groupCounts: [(String, Int64)], db: any ReportReader,
        maxCallID: Int64? = nil
    ) throws -> (groups: [String: Int64], total: Int64?) {
        let n = groupCounts.reduce(Int64(0)) { $0 + $1.1 }
        guard n > 0 else { return ([:], nil) }
        // A dialect that ranks on the server (PostgreSQL: reports/postgres/latency_p95_by_group.sql, one row per group
        // and one for all calls) sends no latency here; SQLite has no such query and takes the two ways below.
        if let sql = try? db.sql("latency_p95_by_group") {
            let months = period.monthCodes
            let arguments: [String: SQLArgument] = [
                "from_us": .integer(period.fromMicros), "to_us": .integer(period.toMicros),
                "from_month": .int(months.from), "to_month": .int(months.to), "max_id": .integer(maxCallID ?? .max),
                "month": .int(maxCallID == nil ? period.wholeMonth?.code ?? 0 : 0), "by": .text(grouping.sqlName),
                "tag": .text(grouping.tagName),
            ]
            var groups: [String: Int64] = [:]
            var total: Int64?
            try db.forEach(sql, arguments) { row in
                if try row.int(0) == 1 { total = try row.int(2) } else { groups[try row.text(1) ?? ""] = try row.int(2) }
            }
            return (groups, total)
        }
        if grouping == .model, maxCallID == nil, let month = period.wholeMonth {
            // The m slowest of the whole month hold the month's p95 and, since n_g ≤ n, every model's too.
            let m = n - rank(n) + 1
            var groups: [String: Int64] = [:]
            var all: [Int64] = []
            let sql = try db.sql("latency_top_by_model")
            for (group, count) in groupCounts where count > 0 {
                let limit = min(m, count)
                func slowest(_ model: String?) throws -> [Int64] {
                    try db.all(sql, ["month": .int(month.code), "model": .optional(model), "limit": .integer(limit)]) {
                        try $0.int(0) ?? 0
                    }
                }
                // The group '' is calls without a model and calls with an empty one, as the rollup keys them
                // (`coalesce(model, '')`): both lists, merged.
                let top: [Int64]
                if group.isEmpty {
                    top = Array((try slowest(nil) + slowest("")).sorted(by: >).prefix(Int(limit)))
                } else {
                    top = try slowest(group)
                }
                let index = Int(count - rank(count))
                if index < top.count { groups[group] = top[index] }
                all.append(contentsOf: top)
            }
            all.sort(by: >)
            let index = Int(n - rank(n))
            return (groups, index < all.count ? all[index] : nil)
        }
        var names: [String] = []
        var indices: [String: Int] = [:]
        var lists: [[Int64]] = []
        var all: [Int64] = []
        all.reserveCapacity(Int(n))
        if var span = try IDSpan.of(period, db) {
            if let maxCallID { span.to = min(span.to, maxCallID) }
            let arguments: [String: SQLArgument] = [
                "from_us": .integer(period.fromMicros), "to_us": .integer(period.toMicros),
                "from_id": .integer(span.from), "to_id": .integer(span.to), "by": .text(grouping.sqlName),
                "tag": .text(grouping.tagName),
            ]
            // Calls of one group often follow each other; reuse the last group's String when the bytes match.
            var lastBytes: [UInt8] = [0xFF]  // never valid UTF-8: the first row always looks its group up
            var last = 0
            func take(_ bytes: UnsafeBufferPointer<UInt8>) {
                guard !bytes.elementsEqual(lastBytes) else { return }
                lastBytes = Array(bytes)
                let name = String(decoding: bytes, as: UTF8.self)
                if let index = indices[name] {
                    last = index
                } else {
                    last = names.count
                    indices[name] = last
                    names.append(name)
                    lists.append([])
                }
            }
            try db.forEach(try db.sql("latency_by_group"), arguments) { row in
                if try row.withUTF8(0, take) == nil { take(UnsafeBufferPointer(start: nil, count: 0)) }
                let latency = try row.int(1) ?? 0
                lists[last].append(latency)
                all.append(latency)
            }
        }
        var groups: [String: Int64] = [:]
        for (group, var values) in zip(names, lists) {
            values.sort()
            groups[group] = values[Int(rank(Int64(values.count))) - 1]
        }
        all.sort()
        return (groups, all.isEmpty ? nil : all[Int(rank(Int64(all.count))) - 1])
    }
}
