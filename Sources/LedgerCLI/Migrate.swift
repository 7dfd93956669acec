import ArgumentParser
import LedgerPostgres
import LedgerStore

/// `holysheep-ledger migrate`: creates or upgrades the ledger file.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the ledger file or bring its schema up to date.",
        discussion: """
            Every command migrates a SQLite ledger when it opens it; run this to do it on its own, e.g. before a \
            deploy. It also runs SQLite's full quick_check, whatever the file's size. A file that is not SQLite, is \
            corrupt, or was made by a newer holysheep-ledger is refused and left untouched.

            A PostgreSQL ledger (--db postgres://...) is migrated only by this command (replicas never migrate the \
            database they share): migrations/postgres/*.sql, each once, under an advisory lock. A database with a \
            newer schema, or tables but no ledger, is refused untouched.

            Examples:
              holysheep-ledger migrate
              holysheep-ledger migrate --db /var/lib/holysheep/ledger.sqlite
              PGPASSWORD=... holysheep-ledger migrate --db postgres://ledger@db.internal:5432/ledger
            """)

    @OptionGroup var ledger: LedgerOptions

    func run() async throws {
        if let settings = try ledger.postgres() {
            let logger = LedgerOptions.quietLogger
            let applied = try await settings.withConnection(logger: logger) { connection in
                do {
                    return try await PostgresMigrations.migrate(connection, logger: logger)
                } catch let error as PostgresLedgerError {
                    throw error
                } catch {
                    throw PostgresLedgerError.query(PostgresSettings.cause(of: error))
                }
            }
            let note = applied.isEmpty ? "" : " (applied \(applied.joined(separator: ", ")))"
            print("ledger \(settings.redacted) is up to date\(note)")
            return
        }
        _ = try LedgerDatabase(path: ledger.path, integrityCheck: .full)
        print("ledger \(ledger.path) is up to date")
    }
}
