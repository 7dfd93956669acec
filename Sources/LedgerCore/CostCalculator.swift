/// Prices token usage exactly. Pure: no I/O, no clocks.
package enum CostCalculator {
    /// The cost of `usage` at `price`, in pico-USD.
    ///
    /// Uncached prompt tokens at the input rate, cached prompt tokens at the cached rate (never also at the full rate),
    /// completion tokens (reasoning included, as OpenAI counts them) at the output rate.
    package static func cost(for usage: TokenUsage, price: ModelPrice) throws(CostError) -> Money {
        for (field, value) in [
            ("prompt_tokens", usage.promptTokens), ("cached_prompt_tokens", usage.cachedPromptTokens),
            ("completion_tokens", usage.completionTokens), ("reasoning_tokens", usage.reasoningTokens),
        ] where value < 0 {
            throw .negativeTokens(field: field, value: value)
        }
        guard usage.cachedPromptTokens <= usage.promptTokens else {
            throw .cachedExceedsPrompt(cached: usage.cachedPromptTokens, prompt: usage.promptTokens)
        }
        for (field, value) in [
            ("input", price.inputMicroUSDPerMTok), ("cached_input", price.cachedInputMicroUSDPerMTok),
            ("output", price.outputMicroUSDPerMTok),
        ] where value < 0 {
            throw .negativePrice(field: field, value: value)
        }
        // tokens × (µUSD per 1e6 tokens) = tokens × µUSD / 1e6 = pico-USD × 1: exact.
        let pico =
            Int128(usage.uncachedPromptTokens) * Int128(price.inputMicroUSDPerMTok)
            + Int128(usage.cachedPromptTokens) * Int128(price.cachedInputMicroUSDPerMTok)
            + Int128(usage.completionTokens) * Int128(price.outputMicroUSDPerMTok)
        return Money(picoUSD: pico)
    }

    /// Parses a plain decimal USD amount per million tokens ("0.0672", "15") into whole micro-USD.
    /// More than six decimals, signs, exponents and separators are refused: a price is never silently rounded.
    package static func microUSD(parsing text: String) throws(CostError) -> Int64 {
        let trimmed = text.trimmingSpaces
        let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false)
        guard !trimmed.isEmpty, parts.count <= 2,
            parts.allSatisfy({ $0.allSatisfy { $0 >= "0" && $0 <= "9" } }),
            !(parts[0].isEmpty && (parts.count == 1 || parts[1].isEmpty))
        else { throw .invalidDecimal(text) }
        let whole = parts[0].isEmpty ? "0" : String(parts[0])
        let fraction = parts.count == 2 ? String(parts[1]) : ""
        guard fraction.count <= 6, whole.count <= 12, let w = Int64(whole) else { throw .invalidDecimal(text) }
        let padded = fraction + String(repeating: "0", count: 6 - fraction.count)
        guard let f = Int64(padded) else { throw .invalidDecimal(text) }
        return w * 1_000_000 + f
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs (Core does not import Foundation).
    package var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" || c == "\r" || c == "\n" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" || c == "\n" { s.removeLast() }
        return String(s)
    }
}
