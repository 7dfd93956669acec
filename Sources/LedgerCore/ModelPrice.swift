/// Which price list a price belongs to.
package enum ProviderKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// The provider's own list price (OpenAI, Anthropic, Google, DeepSeek).
    case official
    /// The HolySheep relay's price.
    case holysheep
}

/// A model's price: whole micro-USD per million tokens, one rate per billed kind of token.
///
/// $0.0672 per million tokens is `67_200`, so HolySheep's default (official × 0.16) is exact for every shipped model.
/// The optional rates are nil when the provider lists none: cache writes and audio input are then billed at the
/// input rate, audio output at the output rate (what a provider without such a price charges for them).
package struct ModelPrice: Sendable, Hashable, Codable {
    package var inputMicroUSDPerMTok: Int64
    package var cachedInputMicroUSDPerMTok: Int64
    package var outputMicroUSDPerMTok: Int64
    /// Cache writes with a 5-minute lifetime (Anthropic's default cache write).
    package var cacheWriteInputMicroUSDPerMTok: Int64?
    /// Cache writes with a 1-hour lifetime.
    package var cacheWrite1hInputMicroUSDPerMTok: Int64?
    package var inputAudioMicroUSDPerMTok: Int64?
    package var outputAudioMicroUSDPerMTok: Int64?

    package init(
        input: Int64, cachedInput: Int64, output: Int64, cacheWriteInput: Int64? = nil,
        cacheWrite1hInput: Int64? = nil, inputAudio: Int64? = nil, outputAudio: Int64? = nil
    ) {
        self.inputMicroUSDPerMTok = input
        self.cachedInputMicroUSDPerMTok = cachedInput
        self.outputMicroUSDPerMTok = output
        self.cacheWriteInputMicroUSDPerMTok = cacheWriteInput
        self.cacheWrite1hInputMicroUSDPerMTok = cacheWrite1hInput
        self.inputAudioMicroUSDPerMTok = inputAudio
        self.outputAudioMicroUSDPerMTok = outputAudio
    }

    /// Every rate with its column name (optional rates as listed, nil when absent).
    package var dimensions: [(field: String, value: Int64?)] {
        [
            ("input", inputMicroUSDPerMTok), ("cached_input", cachedInputMicroUSDPerMTok),
            ("output", outputMicroUSDPerMTok), ("cache_write_input", cacheWriteInputMicroUSDPerMTok),
            ("cache_write_1h_input", cacheWrite1hInputMicroUSDPerMTok), ("input_audio", inputAudioMicroUSDPerMTok),
            ("output_audio", outputAudioMicroUSDPerMTok),
        ]
    }

    /// Scales every rate by `numerator / denominator` exactly; fails when the result is not a whole micro-USD.
    package func scaled(numerator: Int64, denominator: Int64) throws(CostError) -> ModelPrice {
        func scale(_ value: Int64) throws(CostError) -> Int64 {
            let product = Int128(value) * Int128(numerator)
            guard product % Int128(denominator) == 0 else { throw .inexactScaledPrice(value, numerator, denominator) }
            return Int64(product / Int128(denominator))
        }
        func scaleOptional(_ value: Int64?) throws(CostError) -> Int64? {
            guard let value else { return nil }
            return try scale(value)
        }
        return ModelPrice(
            input: try scale(inputMicroUSDPerMTok),
            cachedInput: try scale(cachedInputMicroUSDPerMTok),
            output: try scale(outputMicroUSDPerMTok),
            cacheWriteInput: try scaleOptional(cacheWriteInputMicroUSDPerMTok),
            cacheWrite1hInput: try scaleOptional(cacheWrite1hInputMicroUSDPerMTok),
            inputAudio: try scaleOptional(inputAudioMicroUSDPerMTok),
            outputAudio: try scaleOptional(outputAudioMicroUSDPerMTok)
        )
    }
}
