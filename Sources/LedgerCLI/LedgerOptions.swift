import ArgumentParser
import Foundation
import LedgerCore
import LedgerPostgres
import LedgerProxy
import LedgerStore
import Logging
import ServiceLifecycle

/// `--db PATH|URL`, shared by every command that opens the ledger: a SQLite file, or a PostgreSQL database that
/// many `serve` replicas share (docs/postgres.md).
struct LedgerOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The ledger: a SQLite file, or postgres://USER:PASSWORD@HOST:PORT/DB (the password may instead come "
                + "from PGPASSWORD or ~/.pgpass). Default: $HOLYSHEEP_LEDGER_DB, else ./holysheep-ledger.sqlite.",
            valueName: "path|url"))
    var db: String?

    /// The value in effect: the flag, then the environment, then the default.
    var path: String {
        db ?? ProcessInfo.processInfo.environment["HOLYSHEEP_LEDGER_DB"] ?? "holysheep-ledger.sqlite"
    }

    /// The PostgreSQL settings when the ledger is a `postgres://` URL, else nil (a SQLite file).
    func postgres() throws -> PostgresSettings? {
        guard PostgresSettings.isPostgresURL(path) else { return nil }
        return try PostgresSettings(url: path)
    }

    /// Where the ledger is, printable (never a password).
    var location: String { (try? postgres())?.redacted ?? path }

    /// Opens the ledger for a command: a SQLite file is created or migrated; a PostgreSQL ledger must have been
    /// migrated (`migrate`), since many replicas share it.
    func open() async throws -> any LedgerBackend {
        if let settings = try postgres() { return try await PostgresBackend.open(settings, logger: Self.quietLogger) }
        return try LedgerDatabase(path: path)
    }

    /// Opens (and migrates) the SQLite ledger file (for what only the SQLite store has).
    func openSQLite() throws -> LedgerDatabase { try LedgerDatabase(path: path) }

    /// A logger for the commands' own PostgreSQL connections: their errors are reported as one line, not logged.
    static var quietLogger: Logger {
        var logger = Logger(label: "holysheep-ledger")
        logger.logLevel = .critical
        return logger
    }

    /// What the proxy pipeline records and checks through (`serve`, `batch`): the same Core protocols over either
    /// store, so the proxy never knows which it has.
    struct Recording {
        var recorder: any UsageRecorder
        var keys: any ClientKeyVerifier
        var prices: any PriceLookup
        var health: any LedgerHealthCheck
        /// Runs while the proxy runs (the writer); stops after it, draining what is queued.
        var service: any Service
        var backend: any LedgerBackend
    }

    /// Opens the ledger for recording. `live`: keys and prices follow changes made by other processes (serve);
    /// otherwise they are read once (batch).
    func openForRecording(logger: Logger, live: Bool) async throws -> Recording {
        if let settings = try postgres() {
            let ledger = try await PostgresLedger.open(settings, logger: logger)
            return Recording(
                recorder: ledger, keys: ledger, prices: ledger, health: PostgresProbe(ledger: ledger),
                service: ledger, backend: PostgresBackend(settings: settings, logger: logger))
        }
        let database = try LedgerDatabase(path: path)
        let writer = try LedgerWriter(database: database, logger: logger)
        return Recording(
            recorder: writer, keys: live ? try KeyVerifier(database: database) : KeyStore(database: database),
            prices: live ? try LivePriceBook(database: database) : try database.loadPriceBook(),
            health: LedgerProbe(writer: writer), service: writer, backend: database)
    }
}

/// `/healthz`'s ledger check for PostgreSQL: why commits fail (probed again, so it clears once the server is back).
struct PostgresProbe: LedgerHealthCheck {
    let ledger: PostgresLedger
    func ledgerWriteFailure() async -> String? { await ledger.commitFailure() }
}
