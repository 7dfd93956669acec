/// Which price list a price belongs to.
package enum ProviderKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// The provider's own list price (OpenAI, Anthropic, Google, DeepSeek).
    case official
    /// The HolySheep relay's price.
    case holysheep
}

/// A model's price: whole micro-USD per million tokens.
///
/// $0.0672 per million tokens is `67_200`, so HolySheep's default (official × 0.16) is exact for every shipped model.
package struct ModelPrice: Sendable, Hashable, Codable {
    package var inputMicroUSDPerMTok: Int64
    package var cachedInputMicroUSDPerMTok: Int64
    package var outputMicroUSDPerMTok: Int64

    package init(input: Int64, cachedInput: Int64, output: Int64) {
        self.inputMicroUSDPerMTok = input
        self.cachedInputMicroUSDPerMTok = cachedInput
        self.outputMicroUSDPerMTok = output
    }

    /// Scales every rate by `numerator / denominator` exactly; fails when the result is not a whole micro-USD.
    package func scaled(numerator: Int64, denominator: Int64) throws(CostError) -> ModelPrice {
        func scale(_ value: Int64) throws(CostError) -> Int64 {
            let product = Int128(value) * Int128(numerator)
            guard product % Int128(denominator) == 0 else { throw .inexactScaledPrice(value, numerator, denominator) }
            return Int64(product / Int128(denominator))
        }
        return ModelPrice(
            input: try scale(inputMicroUSDPerMTok),
            cachedInput: try scale(cachedInputMicroUSDPerMTok),
            output: try scale(outputMicroUSDPerMTok)
        )
    }
}
