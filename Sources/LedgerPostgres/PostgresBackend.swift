package import LedgerCore
package import LedgerStore
package import Logging
import PostgresNIO

/// The commands' view of a PostgreSQL ledger (`LedgerBackend`): keys, prices and reports, each command on a
/// connection of its own. What it changes applies on every replica: keys are read per request, prices within a
/// second (`PostgresLedger.priceRefreshInterval`).
package struct PostgresBackend: LedgerBackend {
    package let settings: PostgresSettings
    let logger: Logger
    let reports: PostgresReportStore

    package init(settings: PostgresSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        reports = PostgresReportStore(settings: settings, logger: logger)
    }

    /// Connects and checks the schema is current (refused otherwise: run `migrate`).
    package static func open(_ settings: PostgresSettings, logger: Logger) async throws -> PostgresBackend {
        try await settings.withConnection(logger: logger) { connection in
            do {
                try await PostgresMigrations.checkCompatible(connection, logger: logger, requireCurrent: true)
            } catch let error as PostgresLedgerError {
                throw error
            } catch {
                throw PostgresLedgerError.query(PostgresSettings.cause(of: error))
            }
        }
        return PostgresBackend(settings: settings, logger: logger)
    }

    package var location: String { settings.redacted }

    // MARK: ReportStore

    package func read<T>(_ body: (any ReportReader) throws -> T) throws -> T { try reports.read(body) }
    package func write<T>(_ body: (any ReportReader) throws -> T) throws -> T { try reports.write(body) }

    // MARK: Keys

    package func createKey(name: String, team: String?, nowMicros: Int64, admin: Bool) async throws -> (
        key: KeyStore.Key, secret: String
    ) {
        let (name, team) = try KeyStore.normalized(name: name, team: team)
        var rng = SystemRandomNumberGenerator()
        return try await connection { connection in
            // A 32-bit lookup prefix can collide; draw again rather than fail (ON CONFLICT: no row, no id).
            for _ in 0..<8 {
                let (secret, prefix, salt, digest) = KeyStore.draw(using: &rng)
                let rows = try await connection.query(
                    """
                    INSERT INTO api_key (name, team, lookup_prefix, salt, secret_sha256, created_at_us, is_admin)
                    VALUES (\(name), \(team), \(prefix), \(ByteBuffer(bytes: salt)), \(ByteBuffer(bytes: digest)),
                            \(nowMicros), \(Int64(admin ? 1 : 0)))
                    ON CONFLICT (lookup_prefix) DO NOTHING RETURNING id
                    """, logger: logger)
                for try await id in rows.decode(Int64.self) {
                    let key = KeyStore.Key(
                        id: id, name: name, team: team, lookupPrefix: prefix, createdAtMicros: nowMicros,
                        revokedAtMicros: nil, isAdmin: admin)
                    return (key, secret)
                }
            }
            throw LedgerStoreError.invalid("could not draw an unused key prefix")
        }
    }

    package func listKeys() async throws -> [KeyStore.Key] {
        try await connection { connection in
            let rows = try await connection.query(
                """
                SELECT id, name, team, lookup_prefix, created_at_us, revoked_at_us, is_admin FROM api_key ORDER BY id
                """, logger: logger)
            var keys: [KeyStore.Key] = []
            for try await (id, name, team, prefix, created, revoked, admin) in rows.decode(
                (Int64, String, String?, String, Int64, Int64?, Int64).self)
            {
                keys.append(
                    KeyStore.Key(
                        id: id, name: name, team: team, lookupPrefix: prefix, createdAtMicros: created,
                        revokedAtMicros: revoked, isAdmin: admin != 0))
            }
            return keys
        }
    }

    package func revokeKey(id: Int64, nowMicros: Int64) async throws {
        try await connection { connection in
            let rows = try await connection.query(
                """
                WITH target AS (SELECT id, revoked_at_us FROM api_key WHERE id = \(id) FOR UPDATE),
                     revoked AS (UPDATE api_key SET revoked_at_us = \(nowMicros)
                                 WHERE id = (SELECT id FROM target WHERE revoked_at_us IS NULL) RETURNING id)
                SELECT (SELECT count(*) FROM target)::bigint, (SELECT count(*) FROM revoked)::bigint
                """, logger: logger)
            for try await (found, revoked) in rows.decode((Int64, Int64).self) {
                if found == 0 { throw LedgerStoreError.keyNotFound(id: id) }
                if revoked == 0 { throw LedgerStoreError.keyAlreadyRevoked(id: id) }
            }
        }
    }

    package func isAdmin(secret: String) async -> Bool? {
        guard let prefix = PostgresLedger.lookupPrefix(of: secret) else { return nil }
        do {
            return try await connection { connection in
                let rows = try await connection.query(
                    """
                    SELECT salt, secret_sha256, is_admin FROM api_key
                    WHERE lookup_prefix = \(prefix) AND revoked_at_us IS NULL
                    """, logger: logger)
                for try await (salt, digest, admin) in rows.decode((ByteBuffer, ByteBuffer, Int64).self) {
                    let hash = SHA256.hash(Array(salt.readableBytesView) + Array(secret.utf8))
                    return SHA256.constantTimeEqual(hash, Array(digest.readableBytesView)) ? admin != 0 : nil
                }
                return nil
            }
        } catch {
            logger.error("admin key lookup failed", metadata: ["cause": "\(PostgresSettings.cause(of: error))"])
            return nil
        }
    }

    // MARK: Prices

    package func loadPriceBook() async throws -> PriceBook {
        try await connection { try await PostgresPriceBook.load($0, logger: logger) }
    }

    package func addPrices(_ entries: [PriceBookEntry], nowMicros: Int64) async throws -> [Int64] {
        for entry in entries { try LedgerDatabase.validate(entry) }
        return try await connection { connection in
            do {
                return try await connection.withTransaction(logger: logger) { tx in
                    var ids: [Int64] = []
                    for entry in entries {
                        if try await Self.exists(entry, tx, logger: logger) {
                            throw LedgerStoreError.duplicatePrice(
                                kind: entry.kind.rawValue, model: entry.model,
                                effectiveFrom: UTCDate.isoTimestamp(micros: entry.effectiveFromMicros))
                        }
                        let p = entry.price
                        let rows = try await tx.query(
                            """
                            INSERT INTO price (provider_kind, model, input_musd_per_mtok, cached_input_musd_per_mtok,
                                output_musd_per_mtok, cache_write_input_musd_per_mtok,
                                cache_write_1h_input_musd_per_mtok, input_audio_musd_per_mtok,
                                output_audio_musd_per_mtok, min_prompt_tokens, service_tier, currency,
                                effective_from_us, source, created_at_us)
                            VALUES (\(entry.kind.rawValue), \(entry.model), \(p.inputMicroUSDPerMTok),
                                \(p.cachedInputMicroUSDPerMTok), \(p.outputMicroUSDPerMTok),
                                \(p.cacheWriteInputMicroUSDPerMTok), \(p.cacheWrite1hInputMicroUSDPerMTok),
                                \(p.inputAudioMicroUSDPerMTok), \(p.outputAudioMicroUSDPerMTok),
                                \(entry.minPromptTokens), \(entry.serviceTier ?? ""), \(entry.currency),
                                \(entry.effectiveFromMicros), \(entry.source), \(nowMicros))
                            RETURNING id
                            """, logger: logger)
                        for try await id in rows.decode(Int64.self) { ids.append(id) }
                    }
                    return ids
                }
            } catch let error as PostgresTransactionError {
                if let refusal = error.closureError as? LedgerStoreError { throw refusal }
                throw error
            }
        }
    }

    package func importPrices(csv text: String, nowMicros: Int64) async throws -> [PriceBookEntry] {
        let rows = try PriceCSV.parse(text)
        let existing: PriceCSV.Line? = try await connection { connection in
            for row in rows where try await Self.exists(row.entry, connection, logger: logger) { return row }
            return nil
        }
        if let row = existing {
            throw LedgerStoreError.invalidPriceCSV(
                line: row.line,
                reason: "the \(row.entry.kind.rawValue) price of \(row.entry.model) from "
                    + "\(UTCDate.isoTimestamp(micros: row.entry.effectiveFromMicros)) already exists")
        }
        // addPrices re-checks inside its transaction, so a concurrent change still cannot half-import the file.
        _ = try await addPrices(rows.map(\.entry), nowMicros: nowMicros)
        return rows.map(\.entry)
    }

    /// Whether a row of `entry`'s series (list, model, threshold, tier) already starts at its effective date.
    static func exists(_ entry: PriceBookEntry, _ connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query(
            """
            SELECT count(*)::bigint FROM price
            WHERE provider_kind = \(entry.kind.rawValue) AND model = \(entry.model)
              AND min_prompt_tokens = \(entry.minPromptTokens) AND service_tier = \(entry.serviceTier ?? "")
              AND effective_from_us = \(entry.effectiveFromMicros)
            """, logger: logger)
        for try await count in rows.decode(Int64.self) { return count > 0 }
        return false
    }

    /// Runs `body` on a fresh connection; query errors become one-line `PostgresLedgerError`s.
    private func connection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await settings.withConnection(logger: logger, body)
        } catch let error as LedgerStoreError {
            throw error
        } catch let error as PostgresLedgerError {
            throw error
        } catch {
            throw PostgresLedgerError.query(PostgresSettings.cause(of: error))
        }
    }
}
