import ArgumentParser
import LedgerReports
import LedgerStore

/// `holysheep-ledger roi`: the migration guide's ROI calculator, priced from the ledger's price book.
struct Roi: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Estimate monthly and annual savings and ROI of moving a token mix to HolySheep.",
        discussion: """
            Prices come from the price book in effect now: output prices, as the migration guide does; with \
            --input-share that share of the tokens is priced at input prices. Shares are exact decimals and must \
            sum to exactly 1. savings = official - HolySheep; ROI % = savings / HolySheep x 100; \
            annual savings = monthly x 12.

            Examples:
              holysheep-ledger roi --tokens 50 --mix gpt-4.1=0.4,deepseek-v3.2=0.4,gemini-2.5-flash=0.2
                (official $193.40, HolySheep $30.94, monthly savings $162.46, annual $1949.47, ROI 525.0%)
              holysheep-ledger roi --tokens 120 --mix claude-sonnet-4.5=1 --input-share 0.7 --format json
            """)

    @OptionGroup var ledger: LedgerOptions

    @Option(help: ArgumentHelp("Millions of tokens a month (a decimal, up to 6 places).", valueName: "millions"))
    var tokens: String

    @Option(help: ArgumentHelp("MODEL=SHARE,... with shares summing to exactly 1.", valueName: "mix"))
    var mix: String

    @Option(help: ArgumentHelp("Share of tokens priced at input prices (0 to 1).", valueName: "share"))
    var inputShare: String?

    @Option(help: "table, csv, json, markdown or html.")
    var format: ReportFormat = .table

    func run() async throws {
        let book = try await ledger.open().loadPriceBook()
        let roi = try RoiCalculator(
            tokens: tokens, mix: mix, inputShare: inputShare, prices: book, knownModels: Array(book.models),
            atMicros: ReportOutput.nowMicros())
        try ReportOutput.write(format.bytes(roi.table, sheetName: "ROI"), to: nil)
    }
}
