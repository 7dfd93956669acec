import GRDB
package import LedgerCore

extension LedgerDatabase {
    /// Adds price rows, all or none, in one transaction. A row whose (list, model, effective date) already exists
    /// fails the whole call: recorded history is never overwritten, and recorded calls keep their costs.
    /// - Parameters:
    ///   - entries: the rows to add.
    ///   - nowMicros: the `created_at_us` stamp.
    /// - Returns: the new rows' ids, in order.
    @discardableResult
    package func addPrices(_ entries: [PriceBookEntry], nowMicros: Int64) throws -> [Int64] {
        do {
            let ids = try writer.write { db -> [Int64] in
                var ids: [Int64] = []
                for entry in entries {
                    try Self.validate(entry)
                    if try Self.exists(entry, db: db) {
                        throw LedgerStoreError.duplicatePrice(
                            kind: entry.kind.rawValue, model: entry.model,
                            effectiveFrom: UTCDate.isoTimestamp(micros: entry.effectiveFromMicros))
                    }
                    try db.execute(
                        sql: """
                            INSERT INTO price (provider_kind, model, input_musd_per_mtok, cached_input_musd_per_mtok,
                                output_musd_per_mtok, cache_write_input_musd_per_mtok,
                                cache_write_1h_input_musd_per_mtok, input_audio_musd_per_mtok,
                                output_audio_musd_per_mtok, min_prompt_tokens, service_tier, currency,
                                effective_from_us, source, created_at_us)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """,
                        arguments: [
                            entry.kind.rawValue, entry.model, entry.price.inputMicroUSDPerMTok,
                            entry.price.cachedInputMicroUSDPerMTok, entry.price.outputMicroUSDPerMTok,
                            entry.price.cacheWriteInputMicroUSDPerMTok, entry.price.cacheWrite1hInputMicroUSDPerMTok,
                            entry.price.inputAudioMicroUSDPerMTok, entry.price.outputAudioMicroUSDPerMTok,
                            entry.minPromptTokens, entry.serviceTier ?? "", entry.currency,
                            entry.effectiveFromMicros, entry.source, nowMicros,
                        ])
                    ids.append(db.lastInsertedRowID)
                }
                return ids
            }
            priceChanges.bump()
            return ids
        } catch let error as DatabaseError {
            throw LedgerStoreError.database(error.message ?? "\(error.resultCode)")
        }
    }

    /// Imports a price CSV (`PriceCSV`): validated as a whole; one bad or duplicate row rejects the file, naming its
    /// line, and nothing changes.
    @discardableResult
    package func importPrices(csv text: String, nowMicros: Int64) throws -> [PriceBookEntry] {
        let rows = try PriceCSV.parse(text)
        let existing = try writer.read { db in try rows.first { row in try Self.exists(row.entry, db: db) } }
        if let row = existing {
            throw LedgerStoreError.invalidPriceCSV(
                line: row.line,
                reason: "the \(row.entry.kind.rawValue) price of \(row.entry.model) from "
                    + "\(UTCDate.isoTimestamp(micros: row.entry.effectiveFromMicros)) already exists")
        }
        // addPrices re-checks inside its transaction, so a concurrent change still cannot half-import the file.
        try addPrices(rows.map(\.entry), nowMicros: nowMicros)
        return rows.map(\.entry)
    }

    /// The rows in effect at `micros` (the latest of each list, model, threshold and tier), or every row with
    /// `history`.
    package func prices(atMicros micros: Int64, history: Bool = false) throws -> [PriceBook.Row] {
        let book = try loadPriceBook()
        return PriceBook.listOrder(history ? book.allRows : book.rowsInEffect(atMicros: micros))
    }

    /// Whether a row of `entry`'s series (list, model, threshold, tier) already starts at its effective date.
    static func exists(_ entry: PriceBookEntry, db: Database) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: """
                SELECT EXISTS (SELECT 1 FROM price
                    WHERE provider_kind = ? AND model = ? AND min_prompt_tokens = ? AND service_tier = ?
                      AND effective_from_us = ?)
                """,
            arguments: [
                entry.kind.rawValue, entry.model, entry.minPromptTokens, entry.serviceTier ?? "",
                entry.effectiveFromMicros,
            ]) ?? false
    }

    package static func validate(_ entry: PriceBookEntry) throws {
        guard !entry.model.isEmpty else { throw LedgerStoreError.invalid("the model name is empty") }
        guard !entry.source.trimmingSpaces.isEmpty else {
            throw LedgerStoreError.invalid("every price needs a source (where the number comes from)")
        }
        guard entry.currency == "USD" else {
            throw LedgerStoreError.invalid("prices are in USD (got \(entry.currency))")
        }
        guard entry.price.dimensions.allSatisfy({ ($0.value ?? 0) >= 0 }) else {
            throw LedgerStoreError.invalid("prices must not be negative")
        }
        guard entry.minPromptTokens >= 0 else {
            throw LedgerStoreError.invalid("min_prompt_tokens must not be negative")
        }
        if let tier = entry.serviceTier, tier.isEmpty || tier.trimmingSpaces != tier {
            throw LedgerStoreError.invalid("service_tier must be a tier name without spaces (or absent)")
        }
    }
}
