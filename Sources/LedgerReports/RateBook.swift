import GRDB
import LedgerCore
package import LedgerStore

/// Exchange rates in the `rate` table: units of a currency per 1 USD, effective from a UTC day.
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
        try database.writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO rate (currency, per_usd_micros, effective_from_us, created_at_us)
                    VALUES (?, ?, ?, ?)
                    ON CONFLICT (currency, effective_from_us) DO UPDATE SET
                        per_usd_micros = excluded.per_usd_micros, created_at_us = excluded.created_at_us
                    """,
                arguments: [currency, perUSDMicros, fromMicros, nowMicros])
        }
    }

    /// Every rate, by currency then date.
    package func all() throws -> [CurrencyConversion] {
        try database.writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT currency, per_usd_micros, effective_from_us FROM rate ORDER BY currency, effective_from_us"
            ).map { CurrencyConversion(code: $0[0], perUSDMicros: $0[1], effectiveFromMicros: $0[2]) }
        }
    }

    /// The conversion for a report of `period`: USD as is; otherwise the rate in effect on the period's first day.
    /// Refuses when no rate of that currency starts on or before it.
    package func conversion(currency: String, period: ReportPeriod) throws -> CurrencyConversion {
        if currency == "USD" { return .usd }
        let row = try database.writer.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT per_usd_micros, effective_from_us FROM rate
                    WHERE currency = ? AND effective_from_us <= ? ORDER BY effective_from_us DESC LIMIT 1
                    """, arguments: [currency, period.fromMicros])
        }
        guard let row else { throw ReportError.noRate(currency: currency, from: period.fromDate) }
        return CurrencyConversion(code: currency, perUSDMicros: row[0], effectiveFromMicros: row[1])
    }
}
