import Logging
package import PostgresNIO

/// Applies `migrations/postgres/NNNN_*.sql` (embedded at build time) to a PostgreSQL ledger: each file once, in
/// file-name order, in its own transaction that also records it in `ledger_schema_migration`. Never edited once
/// shipped; a change is a new file.
///
/// Refused untouched: a database whose `ledger_schema_migration` names a migration this build does not ship (a
/// newer build migrated it), and a database that has tables but no `ledger_schema_migration` (not a ledger).
/// Concurrent migrators (two replicas starting at once) serialise on a transaction-level advisory lock and re-check
/// inside it, so each file still runs exactly once.
package enum PostgresMigrations {
    /// (file name without .sql, SQL text), in the order they run.
    package static var all: [(name: String, sql: String)] { EmbeddedSQL.migrations }

    /// The advisory-lock key the migrator holds while it checks and applies ("hsl-migr" as bytes).
    static let lockKey: Int64 = 0x6873_6c2d_6d69_6772

    /// Applies every migration not yet applied; returns the names applied now.
    @discardableResult
    package static func migrate(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        do {
            return try await migrateLocked(connection, logger: logger)
        } catch let error as PostgresTransactionError {
            // A refusal raised inside a transaction (rolled back): report the refusal itself.
            if let refusal = error.closureError as? PostgresLedgerError { throw refusal }
            throw error
        }
    }

    private static func migrateLocked(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        // Checked under the lock: another migrator's committed work is then seen whole, never half.
        try await connection.withTransaction(logger: logger) { tx in
            try await tx.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await checkCompatible(tx, logger: logger, requireCurrent: false)
            try await tx.query(
                """
                CREATE TABLE IF NOT EXISTS ledger_schema_migration (
                    name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
        }
        var appliedNow: [String] = []
        for migration in all {
            let ran: Bool = try await connection.withTransaction(logger: logger) { tx in
                try await tx.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
                let rows = try await tx.query(
                    "SELECT 1 FROM ledger_schema_migration WHERE name = \(migration.name)", logger: logger)
                for try await _ in rows { return false }
                for statement in statements(in: migration.sql) {
                    try await tx.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await tx.query("INSERT INTO ledger_schema_migration (name) VALUES (\(migration.name))", logger: logger)
                return true
            }
            if ran { appliedNow.append(migration.name) }
        }
        return appliedNow
    }

    /// Throws `PostgresLedgerError.schema` unless the database is a ledger this build can use: with
    /// `requireCurrent`, every shipped migration must have been applied (what `serve` needs).
    package static func checkCompatible(_ connection: PostgresConnection, logger: Logger, requireCurrent: Bool)
        async throws
    {
        let applied = try await appliedNames(connection, logger: logger)
        let known = Set(all.map(\.name))
        guard let applied else {
            let rows = try await connection.query(
                """
                SELECT count(*)::bigint FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
                """, logger: logger)
            var count: Int64 = 0
            for try await row in rows.decode(Int64.self) { count = row }
            if count > 0 {
                throw PostgresLedgerError.schema(
                    "the database has \(count) tables or sequences but no ledger_schema_migration: not a ledger, left untouched")
            }
            if requireCurrent { throw PostgresLedgerError.schema("the database is empty: run `migrate` first") }
            return
        }
        let unknown = applied.subtracting(known).sorted()
        if !unknown.isEmpty {
            throw PostgresLedgerError.schema(
                "the ledger has migrations this build does not know (\(unknown.joined(separator: ", "))): "
                    + "it was written by a newer version; left untouched")
        }
        if requireCurrent {
            let missing = known.subtracting(applied).sorted()
            if !missing.isEmpty {
                throw PostgresLedgerError.schema(
                    "the ledger lacks migrations \(missing.joined(separator: ", ")): run `migrate` first")
            }
        }
    }

    /// The applied migration names, or nil when there is no `ledger_schema_migration` table.
    static func appliedNames(_ connection: PostgresConnection, logger: Logger) async throws -> Set<String>? {
        let exists = try await connection.query(
            "SELECT to_regclass('ledger_schema_migration') IS NOT NULL", logger: logger)
        var present = false
        for try await value in exists.decode(Bool.self) { present = value }
        guard present else { return nil }
        let rows = try await connection.query("SELECT name FROM ledger_schema_migration", logger: logger)
        var names: Set<String> = []
        for try await name in rows.decode(String.self) { names.insert(name) }
        return names
    }

    /// The statements of a SQL file, split at `;` outside quotes, comments and `$tag$` bodies (the extended query
    /// protocol runs one statement per query). Comment-only pieces are dropped.
    package static func statements(in sql: String) -> [String] {
        let text = Array(sql.unicodeScalars)
        var result: [String] = []
        var current = String.UnicodeScalarView()
        var hasCode = false
        var i = 0
        func flush() {
            let statement = String(current).trimmingWhitespace()
            if hasCode, !statement.isEmpty { result.append(statement) }
            current = String.UnicodeScalarView()
            hasCode = false
        }
        while i < text.count {
            let c = text[i]
            if c == "-", i + 1 < text.count, text[i + 1] == "-" {
                while i < text.count, text[i] != "\n" { i += 1 }
                continue
            }
            if c == "'" || c == "\"" {
                current.append(c)
                i += 1
                while i < text.count {
                    current.append(text[i])
                    if text[i] == c {
                        if i + 1 < text.count, text[i + 1] == c {
                            current.append(text[i + 1])
                            i += 2
                            continue
                        }
                        i += 1
                        break
                    }
                    i += 1
                }
                hasCode = true
                continue
            }
            if c == "$", let tagEnd = dollarTagEnd(text, from: i) {
                let tag = Array(text[i...tagEnd])
                current.append(contentsOf: tag)
                i = tagEnd + 1
                while i < text.count {
                    if text[i] == "$", i + tag.count <= text.count, Array(text[i..<(i + tag.count)]) == tag {
                        current.append(contentsOf: tag)
                        i += tag.count
                        break
                    }
                    current.append(text[i])
                    i += 1
                }
                hasCode = true
                continue
            }
            if c == ";" {
                flush()
                i += 1
                continue
            }
            current.append(c)
            if !c.properties.isWhitespace { hasCode = true }
            i += 1
        }
        flush()
        return result
    }

    /// The index of the closing `$` of a dollar-quote tag (`$$` or `$name$`) starting at `start`, or nil.
    private static func dollarTagEnd(_ text: [Unicode.Scalar], from start: Int) -> Int? {
        var j = start + 1
        while j < text.count {
            let c = text[j]
            if c == "$" { return j }
            guard c == "_" || c.properties.isAlphabetic || (j > start + 1 && ("0"..."9").contains(c)) else { return nil }
            j += 1
        }
        return nil
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var scalars = Substring(self).unicodeScalars
        while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
