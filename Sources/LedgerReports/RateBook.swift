import LedgerCore
package import LedgerStore

/// Exchange rates for reports: parsing, and the conversion in effect for a period (the `rate` table is LedgerStore's).
package struct RateBook: Sendable {
    package let database: any ReportStore

    package init(database: any ReportStore) { self.database = database }

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
        // The same statement in both stores (SQLite and PostgreSQL share the upsert syntax).
        try database.write { db in
            try db.execute(
                """
                INSERT INTO rate (currency, per_usd_micros, effective_from_us, created_at_us)
                VALUES (:currency, :rate, :from, :now)
                ON CONFLICT (currency, effective_from_us) DO UPDATE SET
                    per_usd_micros = excluded.per_usd_micros, created_at_us = excluded.created_at_us
                """,
                [
                    "currency": .text(currency), "rate": .integer(perUSDMicros), "from": .integer(fromMicros),
                    "now": .integer(nowMicros),
                ])
        }
    }

    /// Every rate, by currency then date.
    package func all() throws -> [CurrencyConversion] {
        try database.read { db in
            try db.all(
                "SELECT currency, per_usd_micros, effective_from_us FROM rate ORDER BY currency, effective_from_us"
            ) { row in
                CurrencyConversion(
                    code: try row.text(0) ?? "", perUSDMicros: try row.int(1) ?? 0,
                    effectiveFromMicros: try row.int(2) ?? 0)
            }
        }
    }

    /// The conversion for a report of `period`: USD as is; otherwise the rate in effect on the period's first day.
    /// Refuses when no rate of that currency starts on or before it.
    package func conversion(currency: String, period: ReportPeriod) throws -> CurrencyConversion {
        if currency == "USD" { return .usd }
        let rate = try database.read { db in
            try db.all(
                """
                SELECT per_usd_micros, effective_from_us FROM rate
                WHERE currency = :currency AND effective_from_us <= :at ORDER BY effective_from_us DESC LIMIT 1
                """, ["currency": .text(currency), "at": .integer(period.fromMicros)]
            ) { row in
                CurrencyConversion(
                    code: currency, perUSDMicros: try row.int(0) ?? 0, effectiveFromMicros: try row.int(1) ?? 0)
            }.first
        }
        guard let rate else { throw ReportError.noRate(currency: currency, from: period.fromDate) }
        return rate
    }
}
