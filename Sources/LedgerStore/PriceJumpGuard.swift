package import LedgerCore

/// Catches price typos: a new row whose rate differs from the model's previous price by more than 5x on any
/// dimension both rows list (a 10x slip of the decimal point is the classic one).
///
/// "Previous" is the latest row of the same series (list, model, threshold, tier) effective before the new one, or,
/// for a first tier row, the base row; earlier rows of the same batch count too. Exact integer comparisons.
package enum PriceJumpGuard {
    package static let maxFactor: Int64 = 5

    /// One warning per new row that jumps, naming the row and each jumping dimension.
    package static func warnings(for entries: [PriceBookEntry], book: PriceBook) -> [String] {
        var known = book.allRows
        var warnings: [String] = []
        var nextID = Int64.min
        for entry in entries.sorted(by: { $0.effectiveFromMicros < $1.effectiveFromMicros }) {
            let current = PriceBook(rows: known)
            let previous =
                current.previous(of: entry)
                ?? current.row(model: entry.model, kind: entry.kind, atMicros: entry.effectiveFromMicros - 1)
            if let previous {
                let jumping = zip(entry.price.dimensions, previous.price.dimensions).compactMap { new, old -> String? in
                    guard let n = new.value, let o = old.value, Self.jumps(n, o) else { return nil }
                    return "\(new.field) \(usd(o)) -> \(usd(n))"
                }
                if !jumping.isEmpty {
                    warnings.append(
                        "the \(entry.kind.rawValue) price of \(entry.model)\(describe(entry)) from "
                            + "\(UTCDate.isoTimestamp(micros: entry.effectiveFromMicros)) differs from its previous "
                            + "price (from \(UTCDate.isoTimestamp(micros: previous.effectiveFromMicros))) by more than "
                            + "\(maxFactor)x: " + jumping.joined(separator: ", "))
                }
            }
            known.append(
                PriceBook.Row(
                    id: nextID, kind: entry.kind, model: entry.model, price: entry.price,
                    effectiveFromMicros: entry.effectiveFromMicros, source: entry.source,
                    minPromptTokens: entry.minPromptTokens, serviceTier: entry.serviceTier))
            nextID += 1
        }
        return warnings
    }

    /// True when one rate is more than `maxFactor` times the other (a rate going to or from zero counts).
    static func jumps(_ new: Int64, _ old: Int64) -> Bool {
        if new == old { return false }
        if new == 0 || old == 0 { return true }
        return Int128(new) > Int128(old) * Int128(maxFactor) || Int128(old) > Int128(new) * Int128(maxFactor)
    }

    static func describe(_ entry: PriceBookEntry) -> String {
        var parts: [String] = []
        if entry.minPromptTokens > 0 { parts.append("above \(entry.minPromptTokens) prompt tokens") }
        if let tier = entry.serviceTier { parts.append("service tier \(tier)") }
        return parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
    }

    /// Micro-USD per MTok as a plain decimal USD amount ("0.075").
    static func usd(_ micros: Int64) -> String {
        let whole = micros / 1_000_000
        var fraction = String(micros % 1_000_000)
        fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
        while fraction.last == "0" { fraction.removeLast() }
        return fraction.isEmpty ? "\(whole)" : "\(whole).\(fraction)"
    }
}
