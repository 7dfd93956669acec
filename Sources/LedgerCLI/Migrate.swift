import ArgumentParser
import LedgerStore

/// `holysheep-ledger migrate`: creates or upgrades the ledger file.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create the ledger file or bring its schema up to date.")

    @Option(name: .long, help: "The ledger file.")
    var db: String = "holysheep-ledger.sqlite"

    func run() async throws {
        _ = try LedgerDatabase(path: db)
        print("ledger \(db) is up to date")
    }
}
