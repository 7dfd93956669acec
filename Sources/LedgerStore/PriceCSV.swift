package import LedgerCore

/// The price import format: a header and one row per price, decimal USD per million tokens.
///
/// ```
/// provider_kind,model,input,cached_input,output,effective_from,source
/// official,gpt-4.1,2.00,0.50,8.00,2026-12-01,"OpenAI pricing page, 2026-11-30"
/// ```
/// Amounts parse exactly (`CostCalculator.microUSD(parsing:)`: at most six decimals, never rounded); dates are
/// `YYYY-MM-DD` (UTC midnight) or `YYYY-MM-DDTHH:MM:SSZ`. Fields may be double-quoted (RFC 4180) to hold commas.
package enum PriceCSV {
    package static let header = [
        "provider_kind", "model", "input", "cached_input", "output", "effective_from", "source",
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
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = String(rawLine).trimmingSpaces
            if line.isEmpty { continue }
            let fields = try split(line, line: number)
            if !sawHeader {
                guard fields.map({ $0.trimmingSpaces.lowercased() }) == header else {
                    throw LedgerStoreError.invalidPriceCSV(
                        line: number, reason: "expected the header " + header.joined(separator: ","))
                }
                sawHeader = true
                continue
            }
            let entry = try parseRow(fields.map(\.trimmingSpaces), line: number)
            let key = "\(entry.kind.rawValue)|\(entry.model)|\(entry.effectiveFromMicros)"
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

    static func parseRow(_ f: [String], line: Int) throws -> PriceBookEntry {
        func fail(_ reason: String) -> LedgerStoreError { .invalidPriceCSV(line: line, reason: reason) }
        guard f.count == header.count else { throw fail("expected \(header.count) fields, found \(f.count)") }
        guard let kind = ProviderKind(rawValue: f[0]) else {
            throw fail("provider_kind must be official or holysheep (got '\(f[0])')")
        }
        guard !f[1].isEmpty else { throw fail("model is empty") }
        var amounts: [Int64] = []
        for (name, text) in zip(["input", "cached_input", "output"], f[2...4]) {
            do { amounts.append(try CostCalculator.microUSD(parsing: text)) } catch {
                throw fail("\(name) '\(text)' is not a USD amount with at most 6 decimals")
            }
        }
        guard let from = UTCDate.micros(parsing: f[5]) else {
            throw fail("effective_from '\(f[5])' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ")
        }
        guard !f[6].isEmpty else { throw fail("source is empty (say where the price comes from)") }
        return PriceBookEntry(
            kind: kind, model: f[1], price: ModelPrice(input: amounts[0], cachedInput: amounts[1], output: amounts[2]),
            effectiveFromMicros: from, source: f[6])
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
