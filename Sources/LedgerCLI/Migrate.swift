import ArgumentParser
import LedgerStore

/// `holysheep-ledger migrate`: creates or upgrades the ledger file.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the ledger file or bring its schema up to date.",
        discussion: """
            Every command migrates the ledger when it opens it; run this to do it on its own, e.g. before a deploy.

            Examples:
              holysheep-ledger migrate
              holysheep-ledger migrate --db /var/lib/holysheep/ledger.sqlite
            """)

    @OptionGroup var ledger: LedgerOptions

    func run() async throws {
        _ = try ledger.open()
        print("ledger \(ledger.path) is up to date")
    }
}
