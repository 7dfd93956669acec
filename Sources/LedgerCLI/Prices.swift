import ArgumentParser
import Foundation
import LedgerCore
import LedgerStore

/// `holysheep-ledger prices`: the effective-dated price book.
struct Prices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show and change the price book (USD per million tokens, effective-dated).",
        discussion: """
            Every price row has a list (official or holysheep), a model, input / cached input / output prices in USD \
            per million tokens, the date it applies from, and its source. A call is costed with the rows in effect \
            when it started; changing a price never changes calls already recorded.

            Examples:
              holysheep-ledger prices list
              holysheep-ledger prices list --at 2026-11-01
              holysheep-ledger prices import new-prices.csv
              holysheep-ledger prices set --model gpt-4.1 --input 2.00 \\
                  --cached-input 0.50 --output 8.00 --from 2026-12-01 \\
                  --source "OpenAI pricing page, 2026-11-30"
            """,
        subcommands: [PricesList.self, PricesImport.self, PricesSet.self]
    )
}

/// Parses a CLI date (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`) into UTC microseconds.
func parseDate(_ text: String) throws -> Int64 {
    guard let micros = UTCDate.micros(parsing: text) else {
        throw ValidationError("'\(text)' is not a UTC date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)")
    }
    return micros
}

/// Parses a decimal USD-per-million-tokens amount exactly.
func parseUSD(_ text: String) throws -> Int64 {
    do { return try CostCalculator.microUSD(parsing: text) } catch {
        throw ValidationError("'\(text)' is not a USD amount with at most 6 decimals (e.g. 0.0672)")
    }
}

/// "2.00", "0.075", "0.0672": micro-USD as exact decimal dollars, at least two decimals.
func formatUSD(micros: Int64) -> String {
    var text = Money.format(units: Int128(micros), scale: 6)
    while text.hasSuffix("0"), let dot = text.firstIndex(of: "."), text.distance(from: dot, to: text.endIndex) > 3 {
        text.removeLast()
    }
    return text
}

/// Now, in UTC microseconds (timestamps only; never money).
func nowMicros() -> Int64 { Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()) }

struct PricesList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the prices in effect at a date (default: now).",
        discussion: """
            Prints one row per list and model: list, model, input, cached_input, output (USD per million tokens, \
            exact), effective_from, source. --format csv prints the `prices import` format, so a price book can be \
            exported, edited and imported elsewhere.

            Examples:
              holysheep-ledger prices list
              holysheep-ledger prices list --at 2026-11-01
              holysheep-ledger prices list --history --format csv > prices.csv
            """)

    /// How the list is printed.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, csv
    }

    @OptionGroup var ledger: LedgerOptions

    @Option(help: ArgumentHelp("Show the prices in effect at this UTC date.", valueName: "date"), transform: parseDate)
    var at: Int64?

    @Flag(help: "Show every row, past and future, instead of those in effect.")
    var history = false

    @Option(help: "table (tab-separated, the default) or csv (the import format).")
    var format = Format.table

    func run() async throws {
        let rows = try ledger.open().prices(atMicros: at ?? nowMicros(), history: history)
        print(Self.render(rows, format: format), terminator: "")
    }

    /// The rows as text: tab-separated with a header, or the CSV of `prices import`.
    static func render(_ rows: [PriceBook.Row], format: Format) -> String {
        var out = ""
        switch format {
        case .table:
            out +=
                ["list", "model", "input", "cached_input", "output", "effective_from", "source"]
                .joined(separator: "\t") + "\n"
        case .csv:
            out += PriceCSV.header.joined(separator: ",") + "\n"
        }
        for row in rows {
            let p = row.price
            let fields = [
                row.kind.rawValue, row.model, formatUSD(micros: p.inputMicroUSDPerMTok),
                formatUSD(micros: p.cachedInputMicroUSDPerMTok), formatUSD(micros: p.outputMicroUSDPerMTok),
                UTCDate.isoTimestamp(micros: row.effectiveFromMicros), row.source,
            ]
            switch format {
            case .table: out += fields.joined(separator: "\t") + "\n"
            case .csv: out += fields.map(csvField).joined(separator: ",") + "\n"
            }
        }
        return out
    }

    /// Quotes a CSV field when it holds a comma, a quote or a line break (RFC 4180).
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

struct PricesImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add the prices of a CSV file, all or none.",
        discussion: """
            The file has a header and one row per price, amounts in USD per million tokens (at most 6 decimals, \
            never rounded), dates in UTC:

              provider_kind,model,input,cached_input,output,effective_from,source
              official,gpt-4.1,2.00,0.50,8.00,2026-12-01,"OpenAI pricing, 2026-11-30"
              holysheep,gpt-4.1,0.32,0.08,1.28,2026-12-01,HolySheep price list

            The file is validated as a whole: one bad row, or a row whose list, model and date already exist, rejects \
            the file with its line number and changes nothing.

            Examples:
              holysheep-ledger prices import prices-2026-12.csv
              holysheep-ledger prices import prices.csv --db /srv/ledger.sqlite
            """)

    @OptionGroup var ledger: LedgerOptions

    @Argument(help: ArgumentHelp("The CSV file.", valueName: "file.csv"))
    var file: String

    func run() async throws {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw LedgerStoreError.invalid("cannot read \(file) as UTF-8 text")
        }
        let entries = try ledger.open().importPrices(csv: text, nowMicros: nowMicros())
        print("imported \(entries.count) price rows from \(file)")
    }
}

struct PricesSet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Add a price for a model from a date.",
        discussion: """
            Amounts are USD per million tokens. --cached-input defaults to --input.

            Setting an official price also sets the HolySheep price of the model from the same date, at official \
            x 0.16 (the relay's 84% saving), unless you give the HolySheep prices yourself with --holysheep-input, \
            --holysheep-cached-input and --holysheep-output, or pass --no-holysheep. With --kind holysheep only the \
            HolySheep row is added.

            A row for the same list, model and date that already exists is refused: calls already recorded keep the \
            costs they were recorded with, and new prices apply from their date.

            Examples:
              holysheep-ledger prices set --model gpt-4.1 --input 2.00 \\
                  --cached-input 0.50 --output 8.00 --from 2026-12-01 \\
                  --source "OpenAI pricing page, 2026-11-30"
              holysheep-ledger prices set --kind holysheep --model deepseek-v3.2 \\
                  --input 0.04 --output 0.06 --from 2026-12-01 \\
                  --source "HolySheep invoice 2026-11"
              holysheep-ledger prices set --model o3 --input 2 --output 8 \\
                  --from 2026-12-01 --source "OpenAI pricing page" \\
                  --holysheep-input 0.30 --holysheep-output 1.20
            """)

    @OptionGroup var ledger: LedgerOptions

    @Option(help: "The price list: official or holysheep.")
    var kind: String = "official"

    @Option(help: "The model name, as clients send it.")
    var model: String

    @Option(help: ArgumentHelp("Input price, USD per million tokens.", valueName: "usd"), transform: parseUSD)
    var input: Int64

    @Option(help: ArgumentHelp("Cached input price (default: the input price).", valueName: "usd"), transform: parseUSD)
    var cachedInput: Int64?

    @Option(help: ArgumentHelp("Output price, USD per million tokens.", valueName: "usd"), transform: parseUSD)
    var output: Int64

    @Option(help: ArgumentHelp("The UTC date the price applies from.", valueName: "date"), transform: parseDate)
    var from: Int64

    @Option(help: "Where the price comes from (a URL, a page and date, an invoice).")
    var source: String

    @Option(
        help: ArgumentHelp("HolySheep input price (with an official price).", valueName: "usd"), transform: parseUSD)
    var holysheepInput: Int64?

    @Option(help: ArgumentHelp("HolySheep cached input price.", valueName: "usd"), transform: parseUSD)
    var holysheepCachedInput: Int64?

    @Option(help: ArgumentHelp("HolySheep output price.", valueName: "usd"), transform: parseUSD)
    var holysheepOutput: Int64?

    @Flag(help: "With an official price, do not add the derived HolySheep price.")
    var noHolysheep = false

    func validate() throws {
        guard let kind = ProviderKind(rawValue: kind) else {
            throw ValidationError("--kind must be official or holysheep")
        }
        let relay = [holysheepInput, holysheepCachedInput, holysheepOutput].compactMap { $0 }.count
        if kind == .holysheep && (relay > 0 || noHolysheep) {
            throw ValidationError("--holysheep-* and --no-holysheep go with --kind official")
        }
        if relay > 0 && (holysheepInput == nil || holysheepOutput == nil) {
            throw ValidationError("give at least --holysheep-input and --holysheep-output")
        }
        if relay > 0 && noHolysheep { throw ValidationError("--no-holysheep contradicts --holysheep-*") }
    }

    func run() async throws {
        let entries = try entries()
        try ledger.open().addPrices(entries, nowMicros: nowMicros())
        for entry in entries {
            let p = entry.price
            print(
                "\(entry.kind.rawValue) \(entry.model) from \(UTCDate.isoTimestamp(micros: entry.effectiveFromMicros)): "
                    + "\(formatUSD(micros: p.inputMicroUSDPerMTok)) / \(formatUSD(micros: p.cachedInputMicroUSDPerMTok))"
                    + " / \(formatUSD(micros: p.outputMicroUSDPerMTok)) USD per 1M tokens")
        }
    }

    /// The rows to add: the given one, plus the HolySheep row for an official price.
    func entries() throws -> [PriceBookEntry] {
        let kind = ProviderKind(rawValue: kind) ?? .official
        let price = ModelPrice(input: input, cachedInput: cachedInput ?? input, output: output)
        var entries = [
            PriceBookEntry(kind: kind, model: model, price: price, effectiveFromMicros: from, source: source)
        ]
        guard kind == .official, !noHolysheep else { return entries }
        if let hInput = holysheepInput, let hOutput = holysheepOutput {
            let relay = ModelPrice(input: hInput, cachedInput: holysheepCachedInput ?? hInput, output: hOutput)
            entries.append(
                PriceBookEntry(kind: .holysheep, model: model, price: relay, effectiveFromMicros: from, source: source))
        } else {
            let relay: ModelPrice
            do {
                relay = try price.scaled(
                    numerator: DefaultPrices.holySheepNumerator, denominator: DefaultPrices.holySheepDenominator)
            } catch {
                throw LedgerStoreError.invalid(
                    "official x 0.16 is not a whole micro-USD for these prices; give --holysheep-* prices")
            }
            entries.append(
                PriceBookEntry(
                    kind: .holysheep, model: model, price: relay, effectiveFromMicros: from,
                    source: "HolySheep = official x 0.16 (84% saving), derived from: \(source)"))
        }
        return entries
    }
}
