package import LedgerCore

/// The prices a call's paid cost may be computed at: every row that could price it on every list it could be paid
/// at (the served provider's list: HolySheep, or official when a fallback serves).
package protocol BudgetPrices: Sendable {
    /// The rows in effect at `micros` that could price a call of `model` whose whole input is at most
    /// `promptTokensAtMost` tokens (tier rows included when the bound could reach them). Empty: unpriced.
    func candidatePrices(model: String, atMicros micros: Int64, promptTokensAtMost: Int64) -> [ModelPrice]
}

/// Base prices through any `PriceLookup` (the PostgreSQL ledger's book): the base row of each list.
package struct LookupBudgetPrices<Lookup: PriceLookup>: BudgetPrices {
    package let lookup: Lookup
    package let kinds: [ProviderKind]

    package init(_ lookup: Lookup, kinds: [ProviderKind] = ProviderKind.allCases) {
        self.lookup = lookup
        self.kinds = kinds
    }

    package func candidatePrices(model: String, atMicros micros: Int64, promptTokensAtMost: Int64) -> [ModelPrice] {
        kinds.compactMap { lookup.price(model: model, kind: $0, atMicros: micros) }
    }
}

/// The reservation arithmetic: a call's worst-case paid cost before it goes upstream, exact in pico-USD.
///
/// Input: at most one token per byte of the request body (`bodyBytes`), each at the dearest input rate the call
/// could be billed (uncached, cache write 5m/1h, audio). Output: the request's `max_tokens` (or the configured cap
/// when it names none), each at the dearest output rate (text or audio). Over every candidate row (docs/budgets.md).
package enum WorstCase {
    /// The output tokens reserved for a call that names no cap.
    package static let defaultOutputCap: Int64 = 16_384

    /// Pico-USD, or nil when no candidate row prices the model (a block budget then refuses: it cannot bound it).
    package static func picoUSD(bodyBytes: Int, maxOutputTokens: Int64?, outputCap: Int64, prices: [ModelPrice])
        -> Int64?
    {
        guard !prices.isEmpty else { return nil }
        let input = Int128(max(0, bodyBytes))
        let output = Int128(max(0, maxOutputTokens ?? outputCap))
        var worst: Int128 = 0
        for p in prices {
            let inRate = max(
                p.inputMicroUSDPerMTok, p.cachedInputMicroUSDPerMTok,
                p.cacheWriteInputMicroUSDPerMTok ?? p.inputMicroUSDPerMTok,
                p.cacheWrite1hInputMicroUSDPerMTok ?? p.inputMicroUSDPerMTok,
                p.inputAudioMicroUSDPerMTok ?? p.inputMicroUSDPerMTok)
            let outRate = max(p.outputMicroUSDPerMTok, p.outputAudioMicroUSDPerMTok ?? p.outputMicroUSDPerMTok)
            // tokens x micro-USD per million tokens = pico-USD, exactly (docs/ARCHITECTURE.md, "Money").
            worst = max(worst, input * Int128(max(0, inRate)) + output * Int128(max(0, outRate)))
        }
        return worst > Int128(Int64.max) ? Int64.max : Int64(worst)
    }

    /// The worst case of `request` at `prices`.
    package static func picoUSD(_ request: AdmissionRequest, outputCap: Int64, prices: some BudgetPrices) -> Int64? {
        picoUSD(
            bodyBytes: request.bodyBytes, maxOutputTokens: request.maxOutputTokens, outputCap: outputCap,
            prices: prices.candidatePrices(
                model: request.model, atMicros: request.atMicros, promptTokensAtMost: Int64(request.bodyBytes)))
    }
}
