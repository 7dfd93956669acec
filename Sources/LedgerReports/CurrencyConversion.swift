package import LedgerCore

/// The currency amounts are shown in: USD, or another at a rate from the `rate` table.
package struct CurrencyConversion: Sendable, Hashable {
    /// "USD", "THB", ...
    package var code: String
    /// Units of `code` per 1 USD, × 1e6 (35.50 THB = 35_500_000). 1_000_000 for USD.
    package var perUSDMicros: Int64
    /// When the rate took effect (microseconds, UTC); nil for USD.
    package var effectiveFromMicros: Int64?

    package static let usd = CurrencyConversion(code: "USD", perUSDMicros: 1_000_000, effectiveFromMicros: nil)

    package init(code: String, perUSDMicros: Int64, effectiveFromMicros: Int64?) {
        self.code = code
        self.perUSDMicros = perUSDMicros
        self.effectiveFromMicros = effectiveFromMicros
    }

    /// An exact amount in this currency, in units of `centUnit` per cent: pico-USD × rate-micros.
    package func scaled(_ money: Money) -> Int128 { money.picoUSD * Int128(perUSDMicros) }

    /// How many `scaled` units make one cent of this currency.
    package var centUnit: Int128 { Money.picoPerCent * 1_000_000 }

    /// Whole cents (hundredths) of this currency for an exact USD amount: pico × rate, rounded ONCE, half-even.
    package func cents(_ money: Money) -> Int128 {
        cents(picoUSD: money.picoUSD, times: 1, dividedBy: 1)
    }

    /// Whole cents of `picoUSD × numerator ÷ denominator` (a projection), still rounded once, half-even.
    package func cents(picoUSD: Int128, times numerator: Int128, dividedBy denominator: Int128) -> Int128 {
        Money.divideHalfEven(
            picoUSD * numerator * Int128(perUSDMicros), by: Money.picoPerCent * 1_000_000 * denominator)
    }

    /// "35.5 THB per USD, effective from 2026-11-01"; nil for USD.
    package var note: String? {
        guard let from = effectiveFromMicros else { return nil }
        let text = Money.format(units: Int128(perUSDMicros), scale: 6)
        var trimmed = Substring(text)
        while trimmed.hasSuffix("0") { trimmed = trimmed.dropLast() }
        if trimmed.hasSuffix(".") { trimmed = trimmed.dropLast() }
        return "rate used: \(trimmed) \(code) per USD, effective from \(UTCDate.isoDay(micros: from))"
    }

    /// The column-name unit: "usd", "thb".
    package var unit: String { code.lowercased() }
}
