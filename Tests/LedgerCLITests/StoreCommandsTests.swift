import ArgumentParser
import LedgerCore
import LedgerStore
import LedgerTestSupport
import Testing

@testable import LedgerCLI

/// The prices and keys commands: parsing, validation, help, and their effect on a ledger file.
@Suite struct StoreCommandsTests {
    static let commands: [any ParsableCommand.Type] = [
        Migrate.self, Prices.self, PricesList.self, PricesImport.self, PricesSet.self, Keys.self, KeysCreate.self,
        KeysList.self, KeysRevoke.self,
    ]

    @Test func everyCommandsHelpHasExamples() {
        for command in Self.commands {
            let help = HolysheepLedger.helpMessage(for: command)
            #expect(help.contains("Examples:"), "\(command)")
            #expect(help.contains("holysheep-ledger"), "\(command)")
        }
    }

    @Test func theHiddenTestHookStaysOutOfHelp() {
        #expect(!HolysheepLedger.helpMessage().contains("record-synthetic"))
        #expect(HolysheepLedger.helpMessage().contains("prices"))
        #expect(HolysheepLedger.helpMessage().contains("keys"))
    }

    @Test(arguments: [
        [
            "prices", "set", "--model", "m", "--input", "1.2345678", "--output", "1", "--from", "2026-12-01",
            "--source", "s",
        ],
        ["prices", "set", "--model", "m", "--input", "1", "--output", "1", "--from", "2026-12-32", "--source", "s"],
        ["prices", "set", "--model", "m", "--input", "1", "--output", "-1", "--from", "2026-12-01", "--source", "s"],
        [
            "prices", "set", "--kind", "retail", "--model", "m", "--input", "1", "--output", "1", "--from",
            "2026-12-01", "--source", "s",
        ],
        [
            "prices", "set", "--kind", "holysheep", "--model", "m", "--input", "1", "--output", "1", "--from",
            "2026-12-01", "--source", "s", "--holysheep-output", "1",
        ],
        [
            "prices", "set", "--model", "m", "--input", "1", "--output", "1", "--from", "2026-12-01", "--source", "s",
            "--holysheep-input", "1",
        ],
        ["prices", "list", "--at", "yesterday"],
        ["keys", "create", "--team", "t"],
        ["keys", "revoke", "three"],
    ])
    func invalidArgumentsAreRejectedBeforeTouchingTheLedger(arguments: [String]) {
        #expect(throws: (any Error).self) { try HolysheepLedger.parseAsRoot(arguments) }
    }

    @Test func anOfficialPriceAlsoSetsTheHolySheepPriceAtSixteenPercent() throws {
        let command = try #require(
            try HolysheepLedger.parseAsRoot([
                "prices", "set", "--model", "gpt-5", "--input", "1.25", "--cached-input", "0.125", "--output", "10",
                "--from", "2026-12-01", "--source", "OpenAI",
            ]) as? PricesSet)
        let entries = try command.entries()
        #expect(entries.map(\.kind) == [.official, .holysheep])
        #expect(entries[0].price == ModelPrice(input: 1_250_000, cachedInput: 125_000, output: 10_000_000))
        #expect(entries[1].price == ModelPrice(input: 200_000, cachedInput: 20_000, output: 1_600_000))
        #expect(entries[1].effectiveFromMicros == UTCDate.micros(parsing: "2026-12-01"))
    }

    @Test func explicitHolySheepPricesOrNoHolySheepOverrideTheDerivedRow() throws {
        let base = [
            "prices", "set", "--model", "m", "--input", "2", "--output", "8", "--from", "2026-12-01", "--source", "s",
        ]
        let given = try #require(
            try HolysheepLedger.parseAsRoot(base + ["--holysheep-input", "0.3", "--holysheep-output", "1.1"])
                as? PricesSet)
        #expect(try given.entries()[1].price == ModelPrice(input: 300_000, cachedInput: 300_000, output: 1_100_000))
        let none = try #require(try HolysheepLedger.parseAsRoot(base + ["--no-holysheep"]) as? PricesSet)
        #expect(try none.entries().count == 1)
        let relayOnly = try #require(
            try HolysheepLedger.parseAsRoot(["prices", "set", "--kind", "holysheep"] + base.dropFirst(2)) as? PricesSet)
        #expect(try relayOnly.entries().map(\.kind) == [.holysheep])
    }

    @Test func pricesSetWritesTheLedgerFile() async throws {
        let temp = TemporaryLedgerPath("cli-prices")
        defer { temp.remove() }
        let command = try #require(
            try HolysheepLedger.parseAsRoot([
                "prices", "set", "--db", temp.path, "--model", "gpt-5", "--input", "1.25", "--output", "10",
                "--from", "2026-12-01", "--source", "OpenAI",
            ]) as? PricesSet)
        try await command.run()
        let book = try LedgerDatabase(path: temp.path).loadPriceBook()
        let dec1 = try #require(UTCDate.micros(parsing: "2026-12-01"))
        #expect(book.price(model: "gpt-5", kind: .holysheep, atMicros: dec1)?.outputMicroUSDPerMTok == 1_600_000)
        // The same again is refused: history is never overwritten.
        await #expect(throws: LedgerStoreError.self) { try await command.run() }
    }

    @Test func amountsPrintExactlyWithAtLeastTwoDecimals() {
        #expect(formatUSD(micros: 2_000_000) == "2.00")
        #expect(formatUSD(micros: 75_000) == "0.075")
        #expect(formatUSD(micros: 67_200) == "0.0672")
        #expect(formatUSD(micros: 1) == "0.000001")
    }

    @Test func pricesListAsCSVImportsBackIntoAnotherLedgerUnchanged() throws {
        let (a, b) = (TemporaryLedgerPath("csv-a"), TemporaryLedgerPath("csv-b"))
        defer {
            a.remove()
            b.remove()
        }
        let source = try LedgerDatabase(path: a.path)
        try source.addPrices(
            [
                PriceBookEntry(
                    kind: .official, model: "gpt-5",
                    price: ModelPrice(input: 1_250_000, cachedInput: 125_000, output: 10_000_000),
                    effectiveFromMicros: 1_764_547_200_000_000, source: "OpenAI pricing, \"GPT-5\", 2026-11-30")
            ], nowMicros: 1)
        let rows = try source.prices(atMicros: 0, history: true)
        let csv = PricesList.render(rows.filter { $0.model == "gpt-5" }, format: .csv)
        let target = try LedgerDatabase(path: b.path)
        try target.importPrices(csv: csv, nowMicros: 2)
        let imported = try target.prices(atMicros: 0, history: true).filter { $0.model == "gpt-5" }
        #expect(imported.map(\.price) == rows.filter { $0.model == "gpt-5" }.map(\.price))
        #expect(imported.map(\.source) == ["OpenAI pricing, \"GPT-5\", 2026-11-30"])
        #expect(imported.map(\.effectiveFromMicros) == [1_764_547_200_000_000])
    }

    @Test func pricesSetTakesTheNewDimensionsAndTheTypoGuardRefusesWithStrict() async throws {
        let temp = TemporaryLedgerPath("cli-prices-dims")
        defer { temp.remove() }
        let tier = try #require(
            try HolysheepLedger.parseAsRoot([
                "prices", "set", "--db", temp.path, "--model", "claude-sonnet-4.5", "--input", "6", "--cached-input",
                "0.6", "--output", "22.5", "--cache-write-input", "7.5", "--cache-write-1h-input", "12",
                "--min-prompt-tokens", "200000", "--from", "2026-12-01", "--source", "Anthropic pricing",
            ]) as? PricesSet)
        try await tier.run()
        let dec1 = try #require(UTCDate.micros(parsing: "2026-12-01"))
        let book = try LedgerDatabase(path: temp.path).loadPriceBook()
        let usage = TokenUsage(promptTokens: 250_000, completionTokens: 0)
        let relay = try #require(book.row(model: "claude-sonnet-4.5", kind: .holysheep, atMicros: dec1, usage: usage))
        #expect(relay.effectiveFromMicros == dec1 && relay.minPromptTokens == 200_000)
        #expect(relay.price.cacheWrite1hInputMicroUSDPerMTok == 1_920_000)
        // 80.00 instead of 8.00: refused with --strict, nothing written.
        let typo = try #require(
            try HolysheepLedger.parseAsRoot([
                "prices", "set", "--db", temp.path, "--model", "gpt-4.1", "--input", "2", "--cached-input", "0.5",
                "--output", "80", "--from", "2026-12-01", "--source", "s", "--strict",
            ]) as? PricesSet)
        await #expect {
            try await typo.run()
        } throws: { error in
            "\(error)".contains("gpt-4.1") && "\(error)".contains("output 8 -> 80")
        }
        let after = try LedgerDatabase(path: temp.path).loadPriceBook()
        #expect(after.row(model: "gpt-4.1", kind: .official, atMicros: dec1)?.effectiveFromMicros == 0)
        // The list shows the new columns, and its CSV imports back.
        let rows = try LedgerDatabase(path: temp.path).prices(atMicros: dec1)
        let csv = PricesList.render(rows, format: .csv)
        #expect(csv.hasPrefix(
            "provider_kind,model,input,cached_input,output,effective_from,source,cache_write_input,"
                + "cache_write_1h_input,input_audio,output_audio,min_prompt_tokens,service_tier\n"))
        #expect(csv.contains(
            "official,claude-sonnet-4.5,6.00,0.60,22.50,\(UTCDate.isoTimestamp(micros: dec1)),Anthropic pricing,7.50,12.00,,,"
                + "200000,\n"))
        #expect(csv.contains(",priority\n"))
    }
}
