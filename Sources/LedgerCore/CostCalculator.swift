/// Prices token usage exactly. Pure: no I/O, no clocks.
package enum CostCalculator {
    /// The cost of `usage` at `price`, in pico-USD.
    ///
    /// Each kind of token at its own rate and never at two: uncached text input at the input rate, cache reads at the
    /// cached rate, 5-minute and 1-hour cache writes and audio input at theirs (the input rate when the row has none),
    /// text output (reasoning included) at the output rate, audio output at its rate (the output rate when none).
    package static func cost(for usage: TokenUsage, price: ModelPrice) throws(CostError) -> Money {
        // The OR of the counts is negative exactly when one of them is (the sign bit), and likewise for the rates:
        // the lists naming them are made only then, for the error (this runs for each list on every call row).
        let counts =
            usage.promptTokens | usage.cachedPromptTokens | usage.completionTokens | usage.reasoningTokens
            | usage.cacheWrite5mTokens | usage.cacheWrite1hTokens | usage.audioPromptTokens
            | usage.audioCompletionTokens
        if counts < 0 {
            for (field, value) in [
                ("prompt_tokens", usage.promptTokens), ("cached_prompt_tokens", usage.cachedPromptTokens),
                ("completion_tokens", usage.completionTokens), ("reasoning_tokens", usage.reasoningTokens),
                ("cache_write_5m_tokens", usage.cacheWrite5mTokens),
                ("cache_write_1h_tokens", usage.cacheWrite1hTokens), ("audio_prompt_tokens", usage.audioPromptTokens),
                ("audio_completion_tokens", usage.audioCompletionTokens),
            ] where value < 0 {
                throw .negativeTokens(field: field, value: value)
            }
        }
        // The subsets are added in Int128 so absurd counts cannot wrap before the comparison.
        let inputParts =
            Int128(usage.cachedPromptTokens) + Int128(usage.cacheWrite5mTokens) + Int128(usage.cacheWrite1hTokens)
            + Int128(usage.audioPromptTokens)
        guard inputParts <= Int128(usage.promptTokens) else {
            throw .cachedExceedsPrompt(cached: Int64(clamping: inputParts), prompt: usage.promptTokens)
        }
        guard usage.audioCompletionTokens <= usage.completionTokens else {
            throw .audioExceedsCompletion(audio: usage.audioCompletionTokens, completion: usage.completionTokens)
        }
        let rates =
            price.inputMicroUSDPerMTok | price.cachedInputMicroUSDPerMTok | price.outputMicroUSDPerMTok
            | (price.cacheWriteInputMicroUSDPerMTok ?? 0) | (price.cacheWrite1hInputMicroUSDPerMTok ?? 0)
            | (price.inputAudioMicroUSDPerMTok ?? 0) | (price.outputAudioMicroUSDPerMTok ?? 0)
        if rates < 0 {
            for (field, value) in price.dimensions {
                if let value, value < 0 { throw .negativePrice(field: field, value: value) }
            }
        }
        let input = price.inputMicroUSDPerMTok
        let output = price.outputMicroUSDPerMTok
        // tokens × (µUSD per 1e6 tokens) = tokens × µUSD / 1e6 = pico-USD × 1: exact.
        var pico = Int128(usage.uncachedPromptTokens) * Int128(input)
        pico += Int128(usage.cachedPromptTokens) * Int128(price.cachedInputMicroUSDPerMTok)
        pico += Int128(usage.cacheWrite5mTokens) * Int128(price.cacheWriteInputMicroUSDPerMTok ?? input)
        pico += Int128(usage.cacheWrite1hTokens) * Int128(price.cacheWrite1hInputMicroUSDPerMTok ?? input)
        pico += Int128(usage.audioPromptTokens) * Int128(price.inputAudioMicroUSDPerMTok ?? input)
        pico += Int128(usage.textCompletionTokens) * Int128(output)
        pico += Int128(usage.audioCompletionTokens) * Int128(price.outputAudioMicroUSDPerMTok ?? output)
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
    /// The string without leading and trailing spaces, tabs, CRs and LFs (Core does not import Foundation). Scans
    /// the UTF-8 bytes (no grapheme breaking: it runs on every request's headers) and returns `self` untouched when
    /// there is nothing to trim.
    package var trimmingSpaces: String {
        let bytes = utf8
        var start = bytes.startIndex
        var end = bytes.endIndex
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
        while start < end, isSpace(bytes[start]) { start = bytes.index(after: start) }
        while start < end, isSpace(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
        if start == bytes.startIndex && end == bytes.endIndex { return self }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
