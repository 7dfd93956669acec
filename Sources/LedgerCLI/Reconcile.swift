import ArgumentParser
import Foundation
import LedgerCore
import LedgerReports

/// `holysheep-ledger reconcile`: a provider's bill against the ledger, per UTC day and model.
struct Reconcile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare a provider's bill or usage export with the ledger, per UTC day and model.",
        discussion: """
            The bill is a CSV with the header
              \(ProviderBill.csvHeader)
            (one row per UTC day and model; input_tokens counts all input, cached included; cost_usd is what \
            the provider billed), or OpenAI's organization export as JSON: {"usage": PAGE, "costs": PAGE} with \
            the pages of /v1/organization/usage/completions (bucket_width=1d, group_by=model) and \
            /v1/organization/costs (bucket_width=1d, group_by=line_item).

            Each line shows tokens and cost on both sides and the difference (bill - ledger; the ledger's cost is \
            what was paid). A line is discrepant when its tokens differ, its cost differs by more than \
            --tolerance-usd, or only one side has it. Exit status 0 when every line is within tolerance, 1 when \
            not (each discrepant day and model is named on stderr).

            Examples:
              holysheep-ledger reconcile --bill november.csv --month 2026-11 --provider holysheep
              holysheep-ledger reconcile --bill openai-export.json --month 2026-11 --provider openai --format csv
            """)

    @OptionGroup var ledger: LedgerOptions

    @Option(help: ArgumentHelp("The provider's bill: CSV or OpenAI export JSON.", valueName: "file"))
    var bill: String

    @Option(
        help: ArgumentHelp("The UTC month the bill covers.", valueName: "YYYY-MM"),
        transform: { text in try BillingMonth(parsing: text) })
    var month: BillingMonth

    @Option(help: ArgumentHelp("Only the ledger's calls to this provider (default: all).", valueName: "name"))
    var provider: String?

    @Option(
        name: .customLong("tolerance-usd"),
        help: ArgumentHelp("Largest cost difference per line that still agrees (default 0.01).", valueName: "usd"))
    var tolerance: String = "0.01"

    @Option(help: "table, csv, json, markdown, html or xlsx (default: from --output's extension, else table).")
    var format: ReportFormat?

    @Option(help: ArgumentHelp("Write to this file atomically instead of stdout.", valueName: "file"))
    var output: String?

    func validate() throws {
        guard let t = ProviderBill.picoUSD(parsing: tolerance), t >= 0 else {
            throw ValidationError("--tolerance-usd '\(tolerance)' is not a decimal amount >= 0")
        }
    }

    func run() async throws {
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: bill))) } catch {
            throw BillFileError(path: bill)
        }
        let parsed = try ProviderBill(bytes: bytes)
        let database = try await ledger.open()
        let result = try Reconciliation.make(
            bill: parsed, month: month, provider: provider,
            tolerance: Money(picoUSD: ProviderBill.picoUSD(parsing: tolerance) ?? 0), database: database)
        let format = format ?? output.flatMap(ReportFormat.init(fileName:)) ?? .table
        var table = result.table
        if format == .table { table = try table.selecting(.essential) }
        try ReportOutput.write(format.bytes(table, sheetName: "Reconciliation \(month)"), to: output)
        let bad = result.discrepancies
        guard bad.isEmpty else {
            var message = ""
            for line in bad {
                message += "discrepancy: \(line.day) \(line.model): \(line.reasons.joined(separator: "; "))\n"
            }
            FileHandle.standardError.write(Data(message.utf8))
            throw ExitCode(1)
        }
    }
}

/// A bill file that cannot be read.
struct BillFileError: Error, CustomStringConvertible {
    var path: String
    var description: String { "cannot read the bill \(path)" }
}
