package import GRDB
package import LedgerCore

/// The ledger file: migrations, the price book and call rows. A `Sendable` wrapper over one GRDB writer.
///
/// Open one per file per process (GRDB Concurrency.md, rule 1) in the CLI and pass it down.
package struct LedgerDatabase: Sendable {
    package let writer: any DatabaseWriter

    /// Opens (and migrates) the ledger at `path`, in WAL mode.
    package init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let pool = try DatabasePool(path: path, configuration: configuration)
        try self.init(pool)
    }

    /// Wraps an open database (an in-memory `DatabaseQueue` in tests) and migrates it.
    package init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        try LedgerMigrations.migrator.migrate(writer)
    }

    /// Inserts calls, costing each from the price book in effect at its start. One transaction for all.
    package func insert(_ events: [UsageEvent]) throws {
        try writer.write { db in
            let book = try PriceBook.load(db)
            for event in events {
                try CallRecord.insert(event, book: book, db: db)
            }
        }
    }

    /// The price book as it is now (for the proxy's model checks; calls are costed at insert time).
    package func loadPriceBook() throws -> PriceBook {
        try writer.read { try PriceBook.load($0) }
    }
}
