import Foundation
import GRDB
import LedgerCore
import LedgerStore
import LedgerTestSupport
import Testing

/// Opening refuses what it must not touch, and leaves those files byte-for-byte as they were.
@Suite struct LedgerDatabaseOpeningTests {
    private func digest(_ path: String) throws -> [UInt8] {
        SHA256.hash(Array(try #require(FileManager.default.contents(atPath: path))))
    }

    /// Creates a migrated ledger file and closes every connection (checkpointing the WAL into the file).
    private func makeLedger(_ temp: TemporaryLedgerPath, _ extra: ((Database) throws -> Void)? = nil) throws {
        let pool = try DatabasePool(path: temp.path)
        _ = try LedgerDatabase(pool)
        if let extra { try pool.write(extra) }
        // Move everything into the main file and empty the WAL, so the file's hash covers the whole ledger.
        _ = try pool.writeWithoutTransaction { try $0.checkpoint(.truncate) }
        try pool.close()
    }

    @Test func migrationsRunOnceEachAndReopeningChangesNothing() throws {
        let temp = TemporaryLedgerPath("reopen")
        defer { temp.remove() }
        try makeLedger(temp)
        for _ in 0..<2 {
            let ledger = try LedgerDatabase(path: temp.path)
            let applied = try ledger.writer.read {
                try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations")
            }
            #expect(
                applied == [
                    "0001_ledger", "0002_default_prices", "0003_call_rollup", "0004_price_dimensions",
                    "0005_month_close", "0006_budgets", "0007_upstream_model",
                ])
            let prices = try ledger.writer.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM price") }
            #expect(prices == DefaultPrices.entries.count)
        }
    }

    @Test func aFileThatIsNotSQLiteIsRefusedAndUntouched() throws {
        let temp = TemporaryLedgerPath("not-sqlite")
        defer { temp.remove() }
        let text = String(repeating: "month,team,cost\n2026-11,research,12.50\n", count: 200)
        try Data(text.utf8).write(to: URL(fileURLWithPath: temp.path))
        let before = try digest(temp.path)
        #expect(throws: LedgerStoreError.notSQLite(path: temp.path)) { try LedgerDatabase(path: temp.path) }
        #expect(try digest(temp.path) == before)
        #expect(!FileManager.default.fileExists(atPath: temp.path + "-wal"))
    }

    @Test func aShortNonSQLiteFileIsRefused() throws {
        let temp = TemporaryLedgerPath("short")
        defer { temp.remove() }
        try Data("SQLite".utf8).write(to: URL(fileURLWithPath: temp.path))
        #expect(throws: LedgerStoreError.notSQLite(path: temp.path)) { try LedgerDatabase(path: temp.path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: temp.path)) == Data("SQLite".utf8))
    }

    @Test func aCorruptFileIsRefusedAndUntouched() throws {
        let temp = TemporaryLedgerPath("corrupt")
        defer { temp.remove() }
        try makeLedger(temp)
        // Overwrite page 2 (a table's b-tree page) with garbage, keeping the valid SQLite header of page 1.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: temp.path))
        let pageSize = Int(bytes[16]) << 8 | Int(bytes[17])
        #expect(bytes.count >= 3 * pageSize)
        for i in pageSize..<(2 * pageSize) { bytes[i] = UInt8(truncatingIfNeeded: i &* 131 &+ 7) }
        try bytes.write(to: URL(fileURLWithPath: temp.path))
        let before = try digest(temp.path)
        #expect {
            try LedgerDatabase(path: temp.path)
        } throws: { error in
            guard case .corrupt(let path, _) = error as? LedgerStoreError else { return false }
            return path == temp.path
        }
        #expect(try digest(temp.path) == before)
    }

    @Test func aLedgerFromANewerBinaryIsRefusedAndUntouched() throws {
        let temp = TemporaryLedgerPath("newer")
        defer { temp.remove() }
        try makeLedger(temp) { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('0099_from_the_future')")
        }
        let before = try digest(temp.path)
        #expect(throws: LedgerStoreError.newerSchema(path: temp.path, unknownMigrations: ["0099_from_the_future"])) {
            try LedgerDatabase(path: temp.path)
        }
        #expect(try digest(temp.path) == before)
    }

    @Test func anotherProgramsSQLiteDatabaseIsRefusedAndUntouched() throws {
        let temp = TemporaryLedgerPath("foreign")
        defer { temp.remove() }
        do {
            let queue = try DatabaseQueue(path: temp.path)
            try queue.write { try $0.execute(sql: "CREATE TABLE invoice (id INTEGER PRIMARY KEY, total TEXT)") }
            try queue.close()
        }
        let before = try digest(temp.path)
        #expect(throws: LedgerStoreError.notALedger(path: temp.path)) { try LedgerDatabase(path: temp.path) }
        #expect(try digest(temp.path) == before)
    }

    @Test func anEmptyFileBecomesALedger() throws {
        let temp = TemporaryLedgerPath("empty")
        defer { temp.remove() }
        _ = FileManager.default.createFile(atPath: temp.path, contents: Data())
        let ledger = try LedgerDatabase(path: temp.path)
        #expect(try ledger.loadPriceBook().models.contains("gpt-4.1"))
    }

    @Test func refusalMessagesAreOneLine() {
        let errors: [LedgerStoreError] = [
            .notSQLite(path: "/x"), .corrupt(path: "/x", detail: "a\nb"),
            .newerSchema(path: "/x", unknownMigrations: ["9"]),
            .database("near \"SELECT\nFROM\": syntax error"),
        ]
        for error in errors { #expect(!error.description.contains("\n")) }
    }
}
