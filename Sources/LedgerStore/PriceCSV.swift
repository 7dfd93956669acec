package import LedgerCore

/// The price import format: a header and one row per price, decimal USD per million tokens.
///
/// ```
/// provider_kind,model,input,cached_input,output,effective_from,source
/// official,gpt-4.1,2.00,0.50,8.00,2026-12-01,"OpenAI pricing page, 2026-11-30"
/// ```
/// Optional columns, in any order after or among these, by name: `cache_write_input`, `cache_write_1h_input`,
/// `input_audio`, `output_audio` (USD per million tokens; empty = not listed), `min_prompt_tokens` (a long-context
/// tier's threshold; empty or 0 = every call) and `service_tier` (empty = every tier).
/// Amounts parse exactly (`CostCalculator.microUSD(parsing:)`: at most six decimals, never rounded); dates are
/// `YYYY-MM-DD` (UTC midnight) or `YYYY-MM-DDTHH:MM:SSZ`. Fields may be double-quoted (RFC 4180) to hold commas.
package enum PriceCSV {
    package static let header = [
        "provider_kind", "model", "input", "cached_input", "output", "effective_from", "source",
    ]
    package static let optionalColumns = [
        "cache_write_input", "cache_write_1h_input", "input_audio", "output_audio", "min_prompt_tokens",
        "service_tier",
    ]

    /// One parsed row and its 1-based line number in the file.
    package struct Line: Sendable, Hashable {
        package var line: Int
        package var entry: PriceBookEntry
    }

    /// Parses the whole file or throws `LedgerStoreError.invalidPriceCSV` naming the first bad line.
    package static func parse(_ text: String) throws -> [Line] {
        var result: [Line] = []
        var seen: [String: Int] = [:]
        var sawHeader = false
        var columns: [String: Int] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = String(rawLine).trimmingSpaces
            if line.isEmpty { continue }
            let fields = try split(line, line: number)
            if !sawHeader {
                columns = try parseHeader(fields, line: number)
                sawHeader = true
                continue
            }
            let entry = try parseRow(fields.map(\.trimmingSpaces), columns: columns, line: number)
            let key =
                "\(entry.kind.rawValue)|\(entry.model)|\(entry.minPromptTokens)|\(entry.serviceTier ?? "")|"
                + "\(entry.effectiveFromMicros)"
            if let first = seen[key] {
                throw LedgerStoreError.invalidPriceCSV(
                    line: number, reason: "repeats the \(entry.kind.rawValue) \(entry.model) price of line \(first)")
            }
            seen[key] = number
            result.append(Line(line: number, entry: entry))
        }
        guard sawHeader else { throw LedgerStoreError.invalidPriceCSV(line: 1, reason: "the file is empty") }
        guard !result.isEmpty else {
            throw LedgerStoreError.invalidPriceCSV(line: 2, reason: "the file has no price rows")
        }
        return result
    }

    /// Column positions by name: every column of `header`, any of `optionalColumns`, nothing else, none twice.
    static func parseHeader(_ fields: [String], line: Int) throws -> [String: Int] {
        var columns: [String: Int] = [:]
        for (i, raw) in fields.enumerated() {
            let name = raw.trimmingSpaces.lowercased()
            guard header.contains(name) || optionalColumns.contains(name), columns[name] == nil else {
                throw LedgerStoreError.invalidPriceCSV(
                    line: line,
                    reason: "unknown or repeated column '\(name)': expected the header " + header.joined(separator: ",")
                        + " and optionally " + optionalColumns.joined(separator: ","))
            }
            columns[name] = i
        }
        guard header.allSatisfy({ columns[$0] != nil }) else {
            throw LedgerStoreError.invalidPriceCSV(
                line: line, reason: "expected the header " + header.joined(separator: ","))
        }
        return columns
    }

    static func parseRow(_ f: [String], columns: [String: Int], line: Int) throws -> PriceBookEntry {
        func fail(_ reason: String) -> LedgerStoreError { .invalidPriceCSV(line: line, reason: reason) }
        guard f.count == columns.count else { throw fail("expected \(columns.count) fields, found \(f.count)") }
        func field(_ name: String) -> String { columns[name].map { f[$0] } ?? "" }
        func amount(_ name: String) throws -> Int64 {
            let text = field(name)
            do { return try CostCalculator.microUSD(parsing: text) } catch {
                throw fail("\(name) '\(text)' is not a USD amount with at most 6 decimals")
            }
        }
        func optionalAmount(_ name: String) throws -> Int64? { field(name).isEmpty ? nil : try amount(name) }
        guard let kind = ProviderKind(rawValue: field("provider_kind")) else {
            throw fail("provider_kind must be official or holysheep (got '\(field("provider_kind"))')")
        }
        guard !field("model").isEmpty else { throw fail("model is empty") }
        let price = ModelPrice(
            input: try amount("input"), cachedInput: try amount("cached_input"), output: try amount("output"),
            cacheWriteInput: try optionalAmount("cache_write_input"),
            cacheWrite1hInput: try optionalAmount("cache_write_1h_input"),
            inputAudio: try optionalAmount("input_audio"), outputAudio: try optionalAmount("output_audio"))
        guard let from = UTCDate.micros(parsing: field("effective_from")) else {
            throw fail("effective_from '\(field("effective_from"))' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ")
        }
        guard !field("source").isEmpty else { throw fail("source is empty (say where the price comes from)") }
        let thresholdText = field("min_prompt_tokens")
        guard let threshold = thresholdText.isEmpty ? 0 : Int64(thresholdText), threshold >= 0 else {
            throw fail("min_prompt_tokens '\(thresholdText)' is not a whole number of tokens")
        }
        let tier = field("service_tier")
        guard !tier.contains(" ") else { throw fail("service_tier '\(tier)' must not contain spaces") }
        return PriceBookEntry(
            kind: kind, model: field("model"), price: price, effectiveFromMicros: from, source: field("source"),
            minPromptTokens: threshold, serviceTier: tier.isEmpty ? nil : tier)
    }

    /// Splits one CSV line into fields, honouring double quotes ("" inside quotes is a quote).
    static func split(_ line: String, line number: Int) throws -> [String] {
        var fields: [String] = []
        var field = ""
        var quoted = false
        var chars = line.makeIterator()
        var atFieldStart = true
        while let c = chars.next() {
            if quoted {
                if c == "\"" {
                    // A doubled quote is a literal quote; a single one ends the quoted part.
                    var lookahead = chars
                    if lookahead.next() == "\"" {
                        field.append("\"")
                        chars = lookahead
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(c)
                }
            } else if c == "," {
                fields.append(field)
                field = ""
                atFieldStart = true
                continue
            } else if c == "\"" && atFieldStart {
                quoted = true
            } else {
                field.append(c)
            }
            atFieldStart = false
        }
        guard !quoted else { throw LedgerStoreError.invalidPriceCSV(line: number, reason: "unterminated quoted field") }
        fields.append(field)
        return fields
    }
}
