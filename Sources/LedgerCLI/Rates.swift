import ArgumentParser
import LedgerCore
import LedgerReports
import LedgerStore

/// `holysheep-ledger rates`: exchange rates for `report --currency`.
struct Rates: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exchange rates (units per 1 USD) for reports in other currencies.",
        discussion: """
            Examples:
              holysheep-ledger rates set THB 35.50 --from 2026-11-01
              holysheep-ledger rates list
              holysheep-ledger report --month 2026-11 --currency THB
            """,
        subcommands: [Set.self, List.self])

    /// `rates set CODE RATE --from DATE`.
    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a currency's rate from a UTC day on (replaces a rate set for the same day).",
            discussion: """
                A report uses the rate in effect on its first day and says which; with none it refuses.

                Examples:
                  holysheep-ledger rates set THB 35.50 --from 2026-11-01
                  holysheep-ledger rates set EUR 0.92 --from 2026-01-01
                """)

        @OptionGroup var ledger: LedgerOptions

        @Argument(help: "Currency code, three capital letters (THB, CNY, EUR).")
        var currency: String

        @Argument(help: "Units of the currency per 1 USD, at most 6 decimals (35.50).")
        var rate: String

        @Option(help: ArgumentHelp("First UTC day the rate applies.", valueName: "YYYY-MM-DD"))
        var from: String

        func validate() throws {
            do {
                _ = try RateBook.currency(parsing: currency)
                _ = try RateBook.rate(parsing: rate)
            } catch { throw ValidationError(error.description) }
            guard currency != "USD" else { throw ValidationError("USD is the ledger's own currency; it needs no rate") }
            guard from.utf8.count == 10, UTCDate.micros(parsing: from) != nil else {
                throw ValidationError(ReportError.invalidDate(from).description)
            }
        }

        func run() async throws {
            let micros = try RateBook.rate(parsing: rate)
            let fromMicros = UTCDate.micros(parsing: from) ?? 0
            try RateBook(database: try await ledger.open())
                .set(
                    currency: currency, perUSDMicros: micros, fromMicros: fromMicros,
                    nowMicros: ReportOutput.nowMicros())
            print("\(currency) = \(rate) per USD from \(from)")
        }
    }

    /// `rates list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every rate.", discussion: "Example:\n  holysheep-ledger rates list")

        @OptionGroup var ledger: LedgerOptions

        func run() async throws {
            for rate in try RateBook(database: try await ledger.open()).all() {
                print("\(rate.code)  \(rate.note ?? "")")
            }
        }
    }
}
