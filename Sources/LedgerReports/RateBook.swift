import LedgerCore
package import LedgerStore

/// Exchange rates for reports: parsing, and the conversion in effect for a period (the `rate` table is LedgerStore's).
package struct RateBook: Sendable {
    package let database: LedgerDatabase

    package init(database: LedgerDatabase) { self.database = database }

    /// Parses "THB" (three capital letters).
    package static func currency(parsing text: String) throws(ReportError) -> String {
        guard text.utf8.count == 3, text.utf8.allSatisfy({ $0 >= 65 && $0 <= 90 }) else {
            throw .invalidCurrency(text)
        }
        return text
    }

    /// Parses "35.50" into micro-units per USD; refuses zero, signs and more than 6 decimals.
    package static func rate(parsing text: String) throws(ReportError) -> Int64 {
        guard let micros = try? CostCalculator.microUSD(parsing: text), micros > 0 else { throw .invalidRate(text) }
        return micros
    }

    /// Adds (or replaces) the rate of `currency` from the UTC day `fromMicros`.
    package func set(currency: String, perUSDMicros: Int64, fromMicros: Int64, nowMicros: Int64) throws {
        try database.setRate(currency: currency, perUSDMicros: perUSDMicros, fromMicros: fromMicros, nowMicros: nowMicros)
    }

    /// Every rate, by currency then date.
    package func all() throws -> [CurrencyConversion] {
        try database.rates().map {
            CurrencyConversion(code: $0.currency, perUSDMicros: $0.perUSDMicros, effectiveFromMicros: $0.effectiveFromMicros)
        }
    }

    /// The conversion for a report of `period`: USD as is; otherwise the rate in effect on the period's first day.
    /// Refuses when no rate of that currency starts on or before it.
    package func conversion(currency: String, period: ReportPeriod) throws -> CurrencyConversion {
        if currency == "USD" { return .usd }
        guard let rate = try database.rate(currency: currency, atMicros: period.fromMicros) else {
            throw ReportError.noRate(currency: currency, from: period.fromDate)
        }
        return CurrencyConversion(code: currency, perUSDMicros: rate.perUSDMicros, effectiveFromMicros: rate.effectiveFromMicros)
    }
}
