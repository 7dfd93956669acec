import CSQLiteTuning
import Foundation
package import GRDB
import GRDBSQLite
package import LedgerCore
import Synchronization

/// The ledger file: migrations, the price book and call rows. A `Sendable` wrapper over one GRDB writer.
///
/// Open one per file per process (GRDB Concurrency.md, rule 1) in the CLI and pass it down.
package struct LedgerDatabase: Sendable {
    package let writer: any DatabaseWriter
    /// Bumped by every price change made through this value (and its copies), so a writer on the same connection
    /// reloads its cached price book: `PRAGMA data_version` only sees other connections' commits.
    let priceChanges: PriceChangeCounter

    /// How much of the file to verify before migrating it.
    package enum IntegrityCheck: Sendable {
        /// `PRAGMA quick_check` on files up to 128 MiB, a schema read on larger ones (a full scan of a multi-GB
        /// ledger would delay every command by seconds; `migrate` always runs the full check).
        case automatic
        /// Always `PRAGMA quick_check` (O(file size)).
        case full
    }

    /// Opens (and migrates) the ledger at `path`, in WAL mode.
    ///
    /// Before anything can write to it, a file that is not SQLite, is corrupt, or was migrated by a newer binary is
    /// refused with a `LedgerStoreError`, and its bytes are left exactly as they were: the checks run on a read-only
    /// connection, before GRDB switches the file to WAL or runs a migration.
    package init(path: String, integrityCheck: IntegrityCheck = .automatic) throws {
        _ = Self.sqliteConfigured
        try Self.preflight(path: path, integrityCheck: integrityCheck)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            try self.init(pool)
        } catch let error as DatabaseError {
            throw LedgerStoreError.database("\(path): " + (error.message ?? "\(error.resultCode)"))
        }
    }

    /// Wraps an open database (an in-memory `DatabaseQueue` in tests) and migrates it, refusing newer schemas.
    package init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        self.priceChanges = PriceChangeCounter()
        try writer.read { try Self.checkIsLedger($0, path: writer.path) }
        // Each migration runs in its own transaction, once (GRDB records it in grdb_migrations).
        try LedgerMigrations.migrator.migrate(writer)
    }

    /// SQLite's process-wide settings (CSQLiteTuning: memory statistics off), made once, before the first
    /// connection this process opens through a ledger (later, SQLite keeps its defaults: slower, still correct).
    static let sqliteConfigured: Bool = hsl_sqlite_configure() == SQLITE_OK

    /// The 16 bytes every SQLite 3 database file starts with.
    static let sqliteHeader = Array("SQLite format 3\u{0}".utf8)

    /// Refuses files that are not SQLite, are corrupt, or come from a newer binary, without changing a byte.
    static func preflight(path: String, integrityCheck: IntegrityCheck) throws {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return }  // new file
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        if size == 0 { return }  // SQLite treats an empty file as an empty database
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw LedgerStoreError.database("cannot read \(path)")
        }
        let header = (try? handle.read(upToCount: 16)).map { Array($0) } ?? []
        try? handle.close()
        guard header == sqliteHeader else { throw LedgerStoreError.notSQLite(path: path) }

        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            try queue.read { db in
                let full = integrityCheck == .full || size <= 128 * 1024 * 1024
                if full {
                    let results = try String.fetchAll(db, sql: "PRAGMA quick_check")
                    guard results == ["ok"] else {
                        throw LedgerStoreError.corrupt(path: path, detail: results.prefix(3).joined(separator: "; "))
                    }
                } else {
                    _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")
                }
                try checkIsLedger(db, path: path)
            }
        } catch let error as DatabaseError {
            switch error.resultCode {
            case .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_IOERR, .SQLITE_FULL:
                throw LedgerStoreError.database("\(path): " + (error.message ?? "\(error.resultCode)"))
            default:
                throw LedgerStoreError.corrupt(path: path, detail: error.message ?? "\(error.resultCode)")
            }
        }
    }

    /// Refuses a database that another program made (tables but no ledger migrations) or a newer binary migrated.
    static func checkIsLedger(_ db: Database, path: String) throws {
        if try !db.tableExists("grdb_migrations") {
            let tables = try Int.fetchOne(
                db, sql: "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            guard tables == 0 else { throw LedgerStoreError.notALedger(path: path) }
            return
        }
        let unknown = try unknownMigrations(db)
        guard unknown.isEmpty else { throw LedgerStoreError.newerSchema(path: path, unknownMigrations: unknown) }
    }

    /// Applied migrations this binary does not know (a newer binary ran them).
    static func unknownMigrations(_ db: Database) throws -> [String] {
        guard try db.tableExists("grdb_migrations") else { return [] }
        let applied = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
        let known = Set(EmbeddedSQL.migrations.map(\.name))
        return applied.filter { !known.contains($0) }
    }

    /// Inserts calls, costing each from the price book in effect at its start. One transaction for all.
    package func insert(_ events: [UsageEvent]) throws {
        try writer.write { db in
            let book = try PriceBook.load(db)
            try CallRecord.insert(events, book: book, db: db, statements: .cached(db))
        }
    }

    /// The price book as it is now (for the proxy's model checks; calls are costed at insert time).
    package func loadPriceBook() throws -> PriceBook {
        try writer.read { try PriceBook.load($0) }
    }
}

/// A counter shared by the copies of one `LedgerDatabase`.
final class PriceChangeCounter: Sendable {
    private let value = Mutex(0)
    var current: Int { value.withLock { $0 } }
    func bump() { value.withLock { $0 += 1 } }
}
