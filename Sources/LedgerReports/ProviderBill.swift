package import LedgerCore

/// A provider's bill or usage export, one line per UTC day and model (what `reconcile` compares with the ledger).
///
/// Two formats, told apart by the first byte:
/// - CSV (documented interface): the header `date,model,input_tokens,cached_input_tokens,output_tokens,cost_usd`,
///   then one row per UTC day (YYYY-MM-DD) and model. `input_tokens` counts all input, cached included (as the
///   ledger's prompt tokens do); `cost_usd` is what the provider billed, a plain decimal (at most 12 places).
///   A UTF-8 BOM, CRLF line ends and RFC 4180 quoted fields are accepted; a day and model may appear only once.
/// - JSON: OpenAI's organization export, `{"usage": PAGE, "costs": PAGE}` where PAGE is a response (or an array of
///   responses) of `GET /v1/organization/usage/completions?bucket_width=1d&group_by=model` and of
///   `GET /v1/organization/costs?bucket_width=1d&group_by=line_item`. Usage results give the tokens per bucket and
///   model; cost results are summed per bucket and model (the model is the line item before its first comma, as in
///   "gpt-4.1, input"). Either member may be left out: that side is then not compared.
package struct ProviderBill: Sendable, Hashable {
    package struct Line: Sendable, Hashable {
        /// UTC day, days since 1970-01-01.
        package var day: Int64
        package var model: String
        package var inputTokens: Int64?
        package var cachedInputTokens: Int64?
        package var outputTokens: Int64?
        package var cost: Money?
        /// Where the line came from, for messages: "line 4", "usage bucket 2".
        package var source: String
    }

    package var lines: [Line]

    /// Parses a bill; a malformed line throws naming the line.
    package init(bytes: [UInt8]) throws(ReportError) {
        var start = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        while start < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[start]) { start += 1 }
        if start < bytes.count, bytes[start] == UInt8(ascii: "{") {
            lines = try Self.parseOpenAI(bytes)
        } else {
            guard let text = String(validating: bytes[start...], as: UTF8.self) else {
                throw .invalidBill("the bill is not UTF-8 text")
            }
            lines = try Self.parseCSV(text)
        }
    }

    package static let csvHeader = "date,model,input_tokens,cached_input_tokens,output_tokens,cost_usd"

    static func parseCSV(_ text: String) throws(ReportError) -> [Line] {
        // "\r\n" is one Character in Swift: split on either line end.
        var rows = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        while let last = rows.last, last.isEmpty { rows.removeLast() }
        guard let header = rows.first else { throw .invalidBill("the bill is empty") }
        guard header == csvHeader else {
            throw .invalidBill("line 1: the header must be \(csvHeader), not \(header.prefix(120))")
        }
        var out: [Line] = []
        var seen: [String: Int] = [:]
        for (index, row) in rows.enumerated().dropFirst() {
            let n = index + 1
            let fields = try fields(row, line: n)
            guard fields.count == 6 else {
                throw .invalidBill("line \(n): \(fields.count) fields; the header has 6 (\(csvHeader))")
            }
            guard fields[0].utf8.count == 10, let micros = UTCDate.micros(parsing: fields[0]) else {
                throw .invalidBill("line \(n): date '\(fields[0].prefix(40))' is not YYYY-MM-DD")
            }
            guard !fields[1].isEmpty else { throw .invalidBill("line \(n): the model is empty") }
            func count(_ i: Int, _ name: String) throws(ReportError) -> Int64 {
                guard let v = Int64(fields[i]), v >= 0 else {
                    throw .invalidBill("line \(n): \(name) '\(fields[i].prefix(40))' is not a whole number >= 0")
                }
                return v
            }
            let input = try count(2, "input_tokens")
            let cached = try count(3, "cached_input_tokens")
            let output = try count(4, "output_tokens")
            guard cached <= input else {
                throw .invalidBill("line \(n): cached_input_tokens \(cached) exceeds input_tokens \(input)")
            }
            guard let cost = Self.picoUSD(parsing: fields[5]) else {
                throw .invalidBill("line \(n): cost_usd '\(fields[5].prefix(40))' is not a decimal amount")
            }
            let key = "\(fields[0]) \(fields[1])"
            if let earlier = seen[key] {
                throw .invalidBill("line \(n): \(fields[0]) \(fields[1]) already appears on line \(earlier)")
            }
            seen[key] = n
            out.append(
                Line(
                    day: micros / UTCDate.microsPerDay, model: fields[1], inputTokens: input,
                    cachedInputTokens: cached, outputTokens: output, cost: Money(picoUSD: cost),
                    source: "line \(n)"))
        }
        return out
    }

    /// The fields of one CSV record (RFC 4180 quotes; no line breaks inside fields).
    static func fields(_ row: Substring, line: Int) throws(ReportError) -> [String] {
        var out: [String] = []
        var field = ""
        var quoted = false
        var wasQuoted = false
        var chars = row.makeIterator()
        while let c = chars.next() {
            if quoted {
                if c == "\"" {
                    quoted = false
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                if wasQuoted {
                    field.append("\"")  // "" inside a quoted field
                } else if !field.isEmpty {
                    throw .invalidBill("line \(line): a quote in the middle of an unquoted field")
                }
                quoted = true
                wasQuoted = true
            } else if c == "," {
                out.append(field)
                field = ""
                wasQuoted = false
            } else {
                field.append(c)
            }
        }
        guard !quoted else { throw .invalidBill("line \(line): a quoted field is not closed") }
        out.append(field)
        return out
    }

    /// A decimal amount ("0.06", "-1.5", "1.2e-5") as pico-USD: exact to 12 places; finer digits (a JSON float's
    /// 0.0034500000000000004) rounded half-even to the pico-dollar. nil if not a number.
    package static func picoUSD(parsing text: String) -> Int128? {
        var s = Substring(text)
        var exponent = 0
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let x = Int(s[s.index(after: e)...]), abs(x) < 40 else { return nil }
            exponent = x
            s = s[..<e]
        }
        var negative = false
        if s.hasPrefix("-") {
            negative = true
            s = s.dropFirst()
        }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts[0].isEmpty || (parts.count == 2 && !parts[1].isEmpty),
            parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } })
        else { return nil }
        var digits = String(parts[0]) + (parts.count == 2 ? String(parts[1]) : "")
        var scale = (parts.count == 2 ? parts[1].count : 0) - exponent
        while scale > 12, digits.hasSuffix("0") {
            digits.removeLast()
            scale -= 1
        }
        guard digits.count <= 36, scale <= 36 else { return nil }
        guard var value = Int128(digits.isEmpty ? "0" : digits) else { return nil }
        if scale > 12 {
            var divisor: Int128 = 1
            for _ in 12..<scale { divisor *= 10 }
            value = Money.divideHalfEven(value, by: divisor)
            scale = 12
        }
        for _ in scale..<12 {
            let (v, overflow) = value.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            value = v
        }
        return negative ? -value : value
    }

    static func parseOpenAI(_ bytes: [UInt8]) throws(ReportError) -> [Line] {
        let root: JSONValue
        do { root = try JSONScanner.parse(bytes: bytes) } catch {
            throw .invalidBill("the JSON export does not parse: \(error)")
        }
        guard root["usage"] != nil || root["costs"] != nil else {
            throw .invalidBill("the JSON export needs a \"usage\" or \"costs\" member (OpenAI organization pages)")
        }
        struct Key: Hashable {
            var day: Int64
            var model: String
        }
        var order: [Key] = []
        var lines: [Key: Line] = [:]
        func line(_ key: Key, _ source: String) -> Line {
            if let l = lines[key] { return l }
            order.append(key)
            return Line(day: key.day, model: key.model, source: source)
        }
        func buckets(_ member: String) throws(ReportError) -> [(JSONValue, String)] {
            guard let value = root[member] else { return [] }
            let pages: [JSONValue]
            switch value {
            case .array(let items): pages = items
            case .object: pages = [value]
            default: throw .invalidBill("\"\(member)\" must be a page object or an array of pages")
            }
            var out: [(JSONValue, String)] = []
            for (p, page) in pages.enumerated() {
                guard case .array(let data)? = page["data"] else {
                    throw .invalidBill("\(member) page \(p + 1): no \"data\" array of buckets")
                }
                for (b, bucket) in data.enumerated() { out.append((bucket, "\(member) page \(p + 1) bucket \(b + 1)")) }
            }
            return out
        }
        func bucketDay(_ bucket: JSONValue, _ where_: String) throws(ReportError) -> Int64 {
            guard let start = bucket["start_time"]?.integerValue else {
                throw .invalidBill("\(where_): no whole-number \"start_time\"")
            }
            guard start % 86_400 == 0 else {
                throw .invalidBill("\(where_): start_time \(start) is not a UTC midnight (export with bucket_width=1d)")
            }
            return Int64(start / 86_400)
        }
        func results(_ bucket: JSONValue, _ where_: String) throws(ReportError) -> [JSONValue] {
            guard case .array(let r)? = bucket["results"] else {
                throw .invalidBill("\(where_): no \"results\" array")
            }
            return r
        }
        for (bucket, where_) in try buckets("usage") {
            let day = try bucketDay(bucket, where_)
            for (i, result) in try results(bucket, where_).enumerated() {
                let at = "\(where_) result \(i + 1)"
                guard let model = result["model"]?.stringValue, !model.isEmpty else {
                    throw .invalidBill("\(at): no \"model\" (export the usage with group_by=model)")
                }
                func count(_ name: String, required: Bool) throws(ReportError) -> Int64 {
                    switch result[name] {
                    case nil, .null?:
                        if required { throw .invalidBill("\(at): no \"\(name)\"") }
                        return 0
                    case .number(let text)?:
                        guard let v = Int64(text), v >= 0 else {
                            throw .invalidBill("\(at): \"\(name)\" \(text) is not a whole number >= 0")
                        }
                        return v
                    case let other?: throw .invalidBill("\(at): \"\(name)\" is \(other.kindName), not a number")
                    }
                }
                let key = Key(day: day, model: model)
                var l = line(key, at)
                l.inputTokens = (l.inputTokens ?? 0) + (try count("input_tokens", required: true))
                l.cachedInputTokens = (l.cachedInputTokens ?? 0) + (try count("input_cached_tokens", required: false))
                l.outputTokens = (l.outputTokens ?? 0) + (try count("output_tokens", required: true))
                lines[key] = l
            }
        }
        for (bucket, where_) in try buckets("costs") {
            let day = try bucketDay(bucket, where_)
            for (i, result) in try results(bucket, where_).enumerated() {
                let at = "\(where_) result \(i + 1)"
                guard let item = result["line_item"]?.stringValue, !item.isEmpty else {
                    throw .invalidBill("\(at): no \"line_item\" (export the costs with group_by=line_item)")
                }
                let model = String(item.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)[0])
                guard case .number(let text)? = result["amount"]?["value"], let pico = Self.picoUSD(parsing: text)
                else { throw .invalidBill("\(at): no numeric \"amount\".\"value\"") }
                if let currency = result["amount"]?["currency"]?.stringValue, currency.lowercased() != "usd" {
                    throw .invalidBill("\(at): amount in \(currency); only usd is compared")
                }
                let key = Key(day: day, model: model)
                var l = line(key, at)
                l.cost = (l.cost ?? .zero) + Money(picoUSD: pico)
                lines[key] = l
            }
        }
        return order.map { lines[$0]! }
    }
}
