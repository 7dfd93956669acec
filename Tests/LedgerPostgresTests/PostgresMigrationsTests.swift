import LedgerPostgres
import Logging
import PostgresNIO
import Testing

@Suite struct PostgresMigrationsTests {
    @Test func freshDatabaseGetsEveryMigrationOnceAndNoFloatingPointColumns() async throws {
        let settings = try await freshDatabase()
        let names = PostgresMigrations.all.map(\.name)
        #expect(
            names == [
                "0001_ledger", "0002_default_prices", "0003_call_rollup", "0004_price_dimensions", "0005_month_close",
                "0006_budgets", "0007_upstream_model", "0008_insert_only_rollup", "0009_report_indexes",
                "0010_batch_row_types",
            ])
        let first = try await settings.withConnection(logger: testLogger) {
            try await PostgresMigrations.migrate($0, logger: testLogger)
        }
        #expect(first == names)
        let second = try await settings.withConnection(logger: testLogger) {
            try await PostgresMigrations.migrate($0, logger: testLogger)
        }
        #expect(second.isEmpty)
        #expect(try await scalar(settings, "SELECT count(*) FROM ledger_schema_migration") == Int64(names.count))
        #expect(try await scalar(settings, "SELECT count(*) FROM price") == 16)
        let floating = try await scalar(
            settings,
            """
            SELECT count(*) FROM information_schema.columns
            WHERE table_schema = current_schema() AND data_type IN ('real', 'double precision')
            """)
        #expect(floating == 0)
        let tables = try await scalar(
            settings,
            """
            SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()
              AND table_name IN ('price', 'api_key', 'call', 'rate', 'call_rollup', 'month_close', 'month_close_rollup')
            """)
        #expect(tables == 7)
    }

    @Test func newerSchemaIsRefusedUntouched() async throws {
        let settings = try await migratedDatabase()
        try await execute(settings, "INSERT INTO ledger_schema_migration (name) VALUES ('9999_from_the_future')")
        try await execute(settings, "DELETE FROM price WHERE model = 'gpt-4.1'")
        try await execute(settings, "DELETE FROM ledger_schema_migration WHERE name = '0002_default_prices'")
        // 0002 is now "unapplied": a migrator that ignored the future migration would re-insert its prices.
        let error = await #expect(throws: PostgresLedgerError.self) {
            try await settings.withConnection(logger: testLogger) {
                try await PostgresMigrations.migrate($0, logger: testLogger)
            }
        }
        #expect(error?.description.contains("9999_from_the_future") == true)
        #expect(try await scalar(settings, "SELECT count(*) FROM price") == 12)
        #expect(
            try await scalar(settings, "SELECT count(*) FROM ledger_schema_migration")
                == Int64(PostgresMigrations.all.count))
        await #expect(throws: PostgresLedgerError.self) { try await PostgresLedger.open(settings, logger: testLogger) }
    }

    @Test func foreignDatabaseIsRefusedUntouched() async throws {
        let settings = try await freshDatabase()
        try await execute(settings, "CREATE TABLE invoices (id bigint)")
        let error = await #expect(throws: PostgresLedgerError.self) {
            try await settings.withConnection(logger: testLogger) {
                try await PostgresMigrations.migrate($0, logger: testLogger)
            }
        }
        #expect(error?.description.contains("not a ledger") == true)
        #expect(try await scalar(settings, "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()") == 1)
    }

    @Test func unmigratedDatabaseIsRefusedByOpen() async throws {
        let settings = try await freshDatabase()
        let error = await #expect(throws: PostgresLedgerError.self) {
            try await PostgresLedger.open(settings, logger: testLogger)
        }
        #expect(error?.description.contains("migrate") == true)
    }

    @Test func concurrentMigratorsApplyEachFileOnce() async throws {
        let settings = try await freshDatabase()
        let results = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await settings.withConnection(logger: testLogger) {
                        try await PostgresMigrations.migrate($0, logger: testLogger)
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.flatMap { $0 }.sorted() == PostgresMigrations.all.map(\.name))
        #expect(try await scalar(settings, "SELECT count(*) FROM price") == 16)
    }

    @Test func wrongPasswordAndUnreachableServerAreOneLineNamingHostAndPort() async throws {
        var settings = try serverSettings()
        settings.password = "definitely-wrong-pw"
        let wrong = await #expect(throws: PostgresLedgerError.self) {
            try await PostgresLedger.open(settings, logger: testLogger)
        }
        let text = wrong?.description ?? ""
        #expect(text.hasPrefix("cannot connect to PostgreSQL at 127.0.0.1:\(settings.port): "))
        #expect(text.contains("password authentication failed"))
        #expect(!text.contains("definitely-wrong-pw"))
        #expect(!text.contains("\n"))

        // A port nobody listens on: bind one, note it, close it.
        var closed = settings
        closed.port = try unusedPort()
        let unreachable = await #expect(throws: PostgresLedgerError.self) {
            try await PostgresLedger.open(closed, logger: testLogger)
        }
        let line = unreachable?.description ?? ""
        #expect(line.hasPrefix("cannot connect to PostgreSQL at 127.0.0.1:\(closed.port): "))
        #expect(line.lowercased().contains("refused"))
        #expect(!line.contains("\n"))
    }

    @Test func pgpassFileSuppliesThePassword() async throws {
        let server = try serverSettings()
        let dir = FileManager.default.temporaryDirectory.appending(path: "pgpass-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appending(path: "pgpass").path(percentEncoded: false)
        try "127.0.0.1:\(server.port):*:\(server.user):\(server.password ?? "")\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        let settings = try PostgresSettings(
            url: "postgres://\(server.user)@127.0.0.1:\(server.port)/\(server.database)",
            environment: ["PGPASSFILE": file])
        #expect(settings.password == server.password)
        let one = try await settings.withConnection(logger: testLogger) { connection in
            let rows = try await connection.query("SELECT 1::bigint", logger: testLogger)
            var value: Int64 = 0
            for try await v in rows.decode(Int64.self) { value = v }
            return value
        }
        #expect(one == 1)
    }
}

import Foundation

/// A TCP port on 127.0.0.1 that was free a moment ago (bound and closed again).
func unusedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw PostgresLedgerError.settings("cannot bind a test port") }
    return Int(UInt16(bigEndian: address.sin_port))
}
