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
            Prints one row per list, model, long-context threshold and service tier: list, model, input, \
            cached_input, output, effective_from, source, then cache_write_input, cache_write_1h_input, input_audio, \
            output_audio (USD per million tokens, exact; empty = not listed, billed at the input or output rate), \
            min_prompt_tokens (0 = every call) and service_tier (empty = every tier). --format csv prints the \
            `prices import` format, so a price book can be exported, edited and imported elsewhere.

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
        let rows = try await ledger.open().priceRows(atMicros: at ?? nowMicros(), history: history)
        print(Self.render(rows, format: format), terminator: "")
    }

    /// The rows as text: tab-separated with a header, or the CSV of `prices import`.
    static func render(_ rows: [PriceBook.Row], format: Format) -> String {
        var out = ""
        switch format {
        case .table:
            out +=
                (["list", "model", "input", "cached_input", "output", "effective_from", "source"]
                + PriceCSV.optionalColumns).joined(separator: "\t") + "\n"
        case .csv:
            out += (PriceCSV.header + PriceCSV.optionalColumns).joined(separator: ",") + "\n"
        }
        for row in rows {
            let p = row.price
            let optional = [
                p.cacheWriteInputMicroUSDPerMTok, p.cacheWrite1hInputMicroUSDPerMTok, p.inputAudioMicroUSDPerMTok,
                p.outputAudioMicroUSDPerMTok,
            ].map { $0.map { formatUSD(micros: $0) } ?? "" }
            let fields =
                [
                    row.kind.rawValue, row.model, formatUSD(micros: p.inputMicroUSDPerMTok),
                    formatUSD(micros: p.cachedInputMicroUSDPerMTok), formatUSD(micros: p.outputMicroUSDPerMTok),
                    UTCDate.isoTimestamp(micros: row.effectiveFromMicros), row.source,
                ] + optional + [String(row.minPromptTokens), row.serviceTier ?? ""]
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

            Optional columns (any order): cache_write_input, cache_write_1h_input, input_audio, output_audio (USD \
            per million tokens; empty = not listed), min_prompt_tokens (a long-context tier: the row prices the whole \
            call when its input, cache reads and writes included, exceeds this many tokens) and service_tier (the \
            row applies only to calls whose reply reports this tier, e.g. priority or flex).

            The file is validated as a whole: one bad row, or a row whose list, model, threshold, tier and date \
            already exist, rejects the file with its line number and changes nothing. A row whose price differs from \
            the model's previous price by more than 5x on any dimension is warned about on stderr (a typo guard); \
            --strict refuses the file instead.

            Examples:
              holysheep-ledger prices import prices-2026-12.csv
              holysheep-ledger prices import prices.csv --db /srv/ledger.sqlite
            """)

    @OptionGroup var ledger: LedgerOptions

    @Argument(help: ArgumentHelp("The CSV file.", valueName: "file.csv"))
    var file: String

    @Flag(help: "Refuse the file when a price differs from the model's previous price by more than 5x.")
    var strict = false

    func run() async throws {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw LedgerStoreError.invalid("cannot read \(file) as UTF-8 text")
        }
        let database = try await ledger.open()
        try await checkPriceJumps(try PriceCSV.parse(text).map(\.entry), database: database, strict: strict)
        let entries = try await database.importPrices(csv: text, nowMicros: nowMicros())
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

            Further dimensions: --cache-write-input (5-minute cache writes), --cache-write-1h-input, --input-audio, \
            --output-audio (unset: billed at the input or output rate). --min-prompt-tokens N makes the row a \
            long-context tier (it prices whole calls whose input, cache reads and writes included, exceeds N tokens); \
            --service-tier T makes it apply only to calls whose reply reports service_tier T. The derived HolySheep \
            row scales every dimension by 0.16; with explicit --holysheep-* prices its further dimensions are unset.

            A price more than 5x off the model's previous price on any dimension is warned about on stderr (a typo \
            guard); --strict refuses it instead.

            A row for the same list, model, threshold, tier and date that already exists is refused: calls already recorded keep the \
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

    @Option(help: ArgumentHelp("Cache-write (5-minute) input price.", valueName: "usd"), transform: parseUSD)
    var cacheWriteInput: Int64?

    @Option(
        name: .customLong("cache-write-1h-input"),
        help: ArgumentHelp("Cache-write (1-hour) input price.", valueName: "usd"), transform: parseUSD)
    var cacheWrite1hInput: Int64?

    @Option(help: ArgumentHelp("Audio input price.", valueName: "usd"), transform: parseUSD)
    var inputAudio: Int64?

    @Option(help: ArgumentHelp("Audio output price.", valueName: "usd"), transform: parseUSD)
    var outputAudio: Int64?

    @Option(
        help: ArgumentHelp(
            "A long-context tier: the row prices whole calls whose input exceeds this many tokens.",
            valueName: "tokens"))
    var minPromptTokens: Int64 = 0

    @Option(help: ArgumentHelp("Only calls whose reply reports this service tier (priority, flex, ...).", valueName: "tier"))
    var serviceTier: String?

    @Flag(help: "Refuse a price that differs from the model's previous price by more than 5x.")
    var strict = false

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
        guard minPromptTokens >= 0 else { throw ValidationError("--min-prompt-tokens must not be negative") }
        if let serviceTier, serviceTier.isEmpty || serviceTier.contains(" ") {
            throw ValidationError("--service-tier must be a tier name without spaces")
        }
    }

    func run() async throws {
        let entries = try entries()
        let database = try await ledger.open()
        try await checkPriceJumps(entries, database: database, strict: strict)
        try await database.addPrices(entries, nowMicros: nowMicros())
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
        let price = ModelPrice(
            input: input, cachedInput: cachedInput ?? input, output: output, cacheWriteInput: cacheWriteInput,
            cacheWrite1hInput: cacheWrite1hInput, inputAudio: inputAudio, outputAudio: outputAudio)
        func entry(_ kind: ProviderKind, _ price: ModelPrice, _ source: String) -> PriceBookEntry {
            PriceBookEntry(
                kind: kind, model: model, price: price, effectiveFromMicros: from, source: source,
                minPromptTokens: minPromptTokens, serviceTier: serviceTier)
        }
        var entries = [entry(kind, price, source)]
        guard kind == .official, !noHolysheep else { return entries }
        if let hInput = holysheepInput, let hOutput = holysheepOutput {
            let relay = ModelPrice(input: hInput, cachedInput: holysheepCachedInput ?? hInput, output: hOutput)
            entries.append(entry(.holysheep, relay, source))
        } else {
            let relay: ModelPrice
            do {
                relay = try price.scaled(
                    numerator: DefaultPrices.holySheepNumerator, denominator: DefaultPrices.holySheepDenominator)
            } catch {
                throw LedgerStoreError.invalid(
                    "official x 0.16 is not a whole micro-USD for these prices; give --holysheep-* prices")
            }
            entries.append(entry(.holysheep, relay, "HolySheep = official x 0.16 (84% saving), derived from: \(source)"))
        }
        return entries
    }
}

/// The price typo guard of `prices import` and `prices set`: each new row more than 5x off its previous price is
/// named on stderr; with `strict` the change is refused (nothing is written).
func checkPriceJumps(_ entries: [PriceBookEntry], database: any LedgerBackend, strict: Bool) async throws {
    let warnings = PriceJumpGuard.warnings(for: entries, book: try await database.loadPriceBook())
    guard !warnings.isEmpty else { return }
    if strict {
        throw LedgerStoreError.invalid(
            "refused (--strict): " + warnings.joined(separator: "; ") + "; nothing was changed")
    }
    for warning in warnings { FileHandle.standardError.write(Data(("warning: " + warning + "\n").utf8)) }
}
