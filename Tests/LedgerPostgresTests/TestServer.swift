import Foundation
import LedgerPostgres
import Logging
import PostgresNIO
import Testing

/// The throwaway cluster scripts/test.sh starts (scripts/pg-cluster.sh) and names in this variable. Without it the
/// server tests fail: they are never skipped.
let serverURLVariable = "HOLYSHEEP_LEDGER_TEST_POSTGRES_URL"

struct MissingServer: Error, CustomStringConvertible {
    var description: String {
        "\(serverURLVariable) is not set: run the tests through scripts/test.sh, or start a cluster with "
            + "`scripts/pg-cluster.sh start DIR` and export \(serverURLVariable) to the URL it prints"
    }
}

let testLogger = Logger(label: "ledger-postgres-tests")

/// The cluster's superuser settings (database `ledger`).
func serverSettings() throws -> PostgresSettings {
    guard let url = ProcessInfo.processInfo.environment[serverURLVariable], !url.isEmpty else {
        Issue.record(Comment(rawValue: MissingServer().description))
        throw MissingServer()
    }
    return try PostgresSettings(url: url, environment: [:])
}

/// A fresh, empty database on the test cluster, for one test.
func freshDatabase() async throws -> PostgresSettings {
    var settings = try serverSettings()
    let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    try await settings.withConnection(logger: testLogger) { connection in
        _ = try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: testLogger)
    }
    settings.database = name
    return settings
}

/// A fresh database with every migration applied.
func migratedDatabase() async throws -> PostgresSettings {
    let settings = try await freshDatabase()
    try await settings.withConnection(logger: testLogger) { connection in
        _ = try await PostgresMigrations.migrate(connection, logger: testLogger)
    }
    return settings
}

/// One integer from a query.
func scalar(_ settings: PostgresSettings, _ sql: String) async throws -> Int64 {
    try await settings.withConnection(logger: testLogger) { connection in
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: testLogger)
        var value: Int64 = -1
        for try await v in rows.decode(Int64.self) { value = v }
        return value
    }
}

func execute(_ settings: PostgresSettings, _ query: PostgresQuery) async throws {
    try await settings.withConnection(logger: testLogger) { connection in
        _ = try await connection.query(query, logger: testLogger)
    }
}

/// Runs `body` with `ledger` running (its pool, writer and price refresh), then stops it and waits for it to end.
func whileRunning<T: Sendable>(_ ledger: PostgresLedger, _ body: () async throws -> T) async throws -> T {
    let running = Task { try await ledger.run() }
    do {
        let value = try await body()
        running.cancel()
        try await running.value
        return value
    } catch {
        running.cancel()
        try? await running.value
        throw error
    }
}
