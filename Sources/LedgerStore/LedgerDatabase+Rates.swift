import GRDB

/// One row of the `rate` table: units of a currency per 1 USD (micro-units), effective from a UTC instant.
package struct RateRecord: Sendable, Hashable {
    package var currency: String
    package var perUSDMicros: Int64
    package var effectiveFromMicros: Int64

    package init(currency: String, perUSDMicros: Int64, effectiveFromMicros: Int64) {
        self.currency = currency
        self.perUSDMicros = perUSDMicros
        self.effectiveFromMicros = effectiveFromMicros
    }
}

extension LedgerDatabase {
    /// Adds (or replaces) the rate of `currency` from `fromMicros`.
    package func setRate(currency: String, perUSDMicros: Int64, fromMicros: Int64, nowMicros: Int64) throws {
        try writer.write { db in
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
    package func rates() throws -> [RateRecord] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT currency, per_usd_micros, effective_from_us FROM rate ORDER BY currency, effective_from_us"
            ).map { RateRecord(currency: $0[0], perUSDMicros: $0[1], effectiveFromMicros: $0[2]) }
        }
    }

    /// The rate of `currency` in effect at `atMicros` (the latest one starting on or before it), or nil.
    package func rate(currency: String, atMicros: Int64) throws -> RateRecord? {
        try writer.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT per_usd_micros, effective_from_us FROM rate
                    WHERE currency = ? AND effective_from_us <= ? ORDER BY effective_from_us DESC LIMIT 1
                    """, arguments: [currency, atMicros]
            ).map { RateRecord(currency: currency, perUSDMicros: $0[0], effectiveFromMicros: $0[1]) }
        }
    }
}
