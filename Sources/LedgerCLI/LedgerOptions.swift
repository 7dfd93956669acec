import ArgumentParser
import Foundation
import LedgerStore

/// `--db PATH`, shared by every command that opens the ledger.
struct LedgerOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The ledger file (SQLite). Default: $HOLYSHEEP_LEDGER_DB, else ./holysheep-ledger.sqlite.",
            valueName: "path"))
    var db: String?

    /// The path in effect: the flag, then the environment, then the default.
    var path: String {
        db ?? ProcessInfo.processInfo.environment["HOLYSHEEP_LEDGER_DB"] ?? "holysheep-ledger.sqlite"
    }

    /// Opens (and migrates) the ledger.
    func open() throws -> LedgerDatabase { try LedgerDatabase(path: path) }
}
