import ArgumentParser
import LedgerStore

/// `holysheep-ledger migrate`: creates or upgrades the ledger file.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the ledger file or bring its schema up to date.",
        discussion: """
            Every command migrates the ledger when it opens it; run this to do it on its own, e.g. before a deploy. \
            It also runs SQLite's full quick_check, whatever the file's size. A file that is not SQLite, is corrupt, \
            or was made by a newer holysheep-ledger is refused and left untouched.

            Examples:
              holysheep-ledger migrate
              holysheep-ledger migrate --db /var/lib/holysheep/ledger.sqlite
            """)

    @OptionGroup var ledger: LedgerOptions

    func run() async throws {
        _ = try LedgerDatabase(path: ledger.path, integrityCheck: .full)
        print("ledger \(ledger.path) is up to date")
    }
}
