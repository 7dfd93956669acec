import ArgumentParser

/// The `holysheep-ledger` command: an LLM cost ledger and OpenAI-compatible proxy.
@main
struct HolysheepLedger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "holysheep-ledger",
        abstract: "An exact LLM cost ledger and OpenAI-compatible proxy (HolySheep relay with official fallback).",
        subcommands: [
            Serve.self, Ping.self, Batch.self, Migrate.self, Prices.self, Keys.self, Report.self, Roi.self,
            Export.self, Rates.self, RecordSynthetic.self, Reconcile.self, Close.self, Reopen.self, Budgets.self,
        ]
    )
}
