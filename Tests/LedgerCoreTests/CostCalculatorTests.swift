import LedgerCore
import Testing

@Suite struct CostCalculatorTests {
    private func defaultPrice(_ model: String, _ kind: ProviderKind) throws -> ModelPrice {
        try #require(DefaultPrices.entries.first { $0.model == model && $0.kind == kind }).price
    }

    @Test(arguments: [
        ("gpt-4.1", "800.00", "128.00"),
        ("claude-sonnet-4.5", "1500.00", "240.00"),
        ("gemini-2.5-flash", "250.00", "40.00"),
        ("deepseek-v3.2", "42.00", "6.72"),
    ])
    func hundredMillionOutputTokensCostTheGuidesFigures(model: String, official: String, holysheep: String) throws {
        let usage = TokenUsage(promptTokens: 0, completionTokens: 100_000_000)
        #expect(try CostCalculator.cost(for: usage, price: defaultPrice(model, .official)).usdString == official)
        #expect(try CostCalculator.cost(for: usage, price: defaultPrice(model, .holysheep)).usdString == holysheep)
    }

    @Test func millionOneTokenCallsCostExactlyWhatTheirSumCosts() throws {
        let price = ModelPrice(input: 67_200, cachedInput: 67_200, output: 67_200)  // $0.0672 / MTok
        var total = Money.zero
        for _ in 0..<1_000_000 {
            total += try CostCalculator.cost(for: TokenUsage(promptTokens: 0, completionTokens: 1), price: price)
        }
        let once = try CostCalculator.cost(for: TokenUsage(promptTokens: 0, completionTokens: 1_000_000), price: price)
        #expect(total == once)
        #expect(once.exactUSDString == "0.067200000000")
    }

    @Test func cachedPromptTokensArePricedAtTheCachedRateOnly() throws {
        let price = try defaultPrice("gpt-4.1", .official)
        let usage = TokenUsage(promptTokens: 1_000_000, cachedPromptTokens: 400_000, completionTokens: 0)
        // 600k × $2.00/M + 400k × $0.50/M = $1.20 + $0.20
        #expect(try CostCalculator.cost(for: usage, price: price).usdString == "1.40")
    }

    @Test func negativeAndInconsistentUsageIsRejected() {
        let price = ModelPrice(input: 1, cachedInput: 1, output: 1)
        #expect(throws: CostError.negativeTokens(field: "completion_tokens", value: -1)) {
            try CostCalculator.cost(for: TokenUsage(promptTokens: 0, completionTokens: -1), price: price)
        }
        #expect(throws: CostError.cachedExceedsPrompt(cached: 5, prompt: 4)) {
            try CostCalculator.cost(for: TokenUsage(promptTokens: 4, cachedPromptTokens: 5, completionTokens: 0), price: price)
        }
    }

    /// Each count and each rate, alone negative, is refused by its name (the check ORs them all first).
    @Test func everyNegativeCountAndRateIsRefusedByName() {
        let price = ModelPrice(input: 1, cachedInput: 1, output: 1)
        let counts: [(String, TokenUsage)] = [
            ("prompt_tokens", TokenUsage(promptTokens: -1, completionTokens: 0)),
            ("cached_prompt_tokens", TokenUsage(promptTokens: 0, cachedPromptTokens: -2, completionTokens: 0)),
            ("completion_tokens", TokenUsage(promptTokens: 0, completionTokens: -3)),
            ("reasoning_tokens", TokenUsage(promptTokens: 0, completionTokens: 0, reasoningTokens: -4)),
            ("cache_write_5m_tokens", TokenUsage(promptTokens: 0, completionTokens: 0, cacheWrite5mTokens: -5)),
            ("cache_write_1h_tokens", TokenUsage(promptTokens: 0, completionTokens: 0, cacheWrite1hTokens: -6)),
            ("audio_prompt_tokens", TokenUsage(promptTokens: 0, completionTokens: 0, audioPromptTokens: -7)),
            ("audio_completion_tokens", TokenUsage(promptTokens: 0, completionTokens: 0, audioCompletionTokens: -8)),
        ]
        for (field, usage) in counts {
            #expect(throws: CostError.self, "\(field)") { try CostCalculator.cost(for: usage, price: price) }
            do {
                _ = try CostCalculator.cost(for: usage, price: price)
            } catch {
                guard case .negativeTokens(let name, let value) = error else {
                    Issue.record("\(field): \(error)")
                    continue
                }
                #expect(name == field && value < 0)
            }
        }
        let usage = TokenUsage(promptTokens: 10, completionTokens: 10)
        let rates: [(String, ModelPrice)] = [
            ("input", ModelPrice(input: -1, cachedInput: 1, output: 1)),
            ("cached_input", ModelPrice(input: 1, cachedInput: -1, output: 1)),
            ("output", ModelPrice(input: 1, cachedInput: 1, output: -1)),
            ("cache_write_input", ModelPrice(input: 1, cachedInput: 1, output: 1, cacheWriteInput: -1)),
            ("cache_write_1h_input", ModelPrice(input: 1, cachedInput: 1, output: 1, cacheWrite1hInput: -1)),
            ("input_audio", ModelPrice(input: 1, cachedInput: 1, output: 1, inputAudio: -1)),
            ("output_audio", ModelPrice(input: 1, cachedInput: 1, output: 1, outputAudio: -1)),
        ]
        #expect(rates.map(\.0) == ModelPrice(input: 1, cachedInput: 1, output: 1).dimensions.map(\.field))
        for (field, price) in rates {
            #expect(throws: CostError.negativePrice(field: field, value: -1)) {
                try CostCalculator.cost(for: usage, price: price)
            }
        }
    }

    @Test func roundingIsHalfEvenToTheCent() {
        let halfCent = Money.picoPerCent / 2
        #expect(Money(picoUSD: halfCent).usdString == "0.00")  // 0.005 -> 0.00 (even)
        #expect(Money(picoUSD: 3 * halfCent).usdString == "0.02")  // 0.015 -> 0.02 (even)
        #expect(Money(picoUSD: 3 * halfCent + 1).usdString == "0.02")
        #expect(Money(picoUSD: -3 * halfCent).usdString == "-0.02")
        #expect(Money(picoUSD: 5 * halfCent - 1).usdString == "0.02")
    }

    @Test func decimalPricesParseExactlyOrNotAtAll() throws {
        #expect(try CostCalculator.microUSD(parsing: "0.0672") == 67_200)
        #expect(try CostCalculator.microUSD(parsing: "15") == 15_000_000)
        #expect(try CostCalculator.microUSD(parsing: ".5") == 500_000)
        for bad in ["", "1e3", "-1", "0.0000001", "1,5", "abc", "."] {
            #expect(throws: CostError.self) { try CostCalculator.microUSD(parsing: bad) }
        }
    }
}
