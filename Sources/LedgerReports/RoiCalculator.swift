package import LedgerCore

/// The migration guide's ROI calculator, exact: tokens a month split by a model mix, priced from the price book.
///
/// savings = official − HolySheep; ROI % = savings ÷ HolySheep × 100; annual savings = monthly × 12.
/// Token counts and shares are decimals with at most 6 places, held as integers; every figure is rounded once.
package struct RoiCalculator: Sendable {
    /// One model of the mix.
    package struct Line: Sendable, Hashable {
        package var model: String
        /// Share × 1e6.
        package var shareMicros: Int64
        /// Exact cost in units of 1e-24 USD.
        package var official: Int128
        package var holysheep: Int128
    }

    /// Millions of tokens a month × 1e6.
    package var tokensMicroMillions: Int64
    /// Share of tokens priced at input prices × 1e6 (0 by default: all at output prices, as the guide does).
    package var inputShareMicros: Int64
    package var lines: [Line]

    /// 1e-24 USD per cent.
    static let unitsPerCent: Int128 = 10_000_000_000_000_000_000_000  // 1e22: 1e-24 USD units per cent

    package var official: Int128 { lines.reduce(0) { $0 + $1.official } }
    package var holysheep: Int128 { lines.reduce(0) { $0 + $1.holysheep } }
    package var savings: Int128 { official - holysheep }

    /// Whole cents, rounded once, half-even.
    package var officialCents: Int128 { Money.divideHalfEven(official, by: Self.unitsPerCent) }
    package var holysheepCents: Int128 { Money.divideHalfEven(holysheep, by: Self.unitsPerCent) }
    package var monthlySavingsCents: Int128 { Money.divideHalfEven(savings, by: Self.unitsPerCent) }
    package var annualSavingsCents: Int128 { Money.divideHalfEven(savings * 12, by: Self.unitsPerCent) }
    /// ROI in tenths of a percent (5250 = 525.0%); nil when HolySheep costs nothing.
    package var roiTenthsPercent: Int128? {
        holysheep == 0 ? nil : Money.divideHalfEven(savings * 1000, by: holysheep)
    }

    /// - Parameters:
    ///   - tokens: millions of tokens a month, e.g. "50".
    ///   - mix: "gpt-4.1=0.4,deepseek-v3.2=0.4,gemini-2.5-flash=0.2"; shares must sum to exactly 1.
    ///   - inputShare: share of tokens priced at input prices, e.g. "0.7"; nil prices all at output prices.
    ///   - prices: the price book; `atMicros` picks the rows in effect.
    package init(
        tokens: String, mix: String, inputShare: String?, prices: some PriceLookup, knownModels: [String],
        atMicros: Int64
    ) throws(ReportError) {
        let tokensMicroMillions = try Self.decimalMicros(tokens, what: "--tokens")
        var inputShareMicros: Int64 = 0
        if let text = inputShare {
            inputShareMicros = try Self.decimalMicros(text, what: "--input-share")
            guard inputShareMicros <= 1_000_000 else {
                throw .invalidDecimal(text, reason: "--input-share must be between 0 and 1")
            }
        }
        self.tokensMicroMillions = tokensMicroMillions
        self.inputShareMicros = inputShareMicros
        var lines: [Line] = []
        var sum: Int64 = 0
        for part in mix.split(separator: ",", omittingEmptySubsequences: false) {
            let pair = part.split(separator: "=", omittingEmptySubsequences: false)
            guard pair.count == 2, !pair[0].isEmpty else { throw .invalidMix(mix) }
            let model = String(pair[0]).trimmingSpaces
            let share = try Self.decimalMicros(String(pair[1]), what: "the share of \(model)")
            guard !lines.contains(where: { $0.model == model }) else { throw .invalidMix(mix) }
            guard let official = prices.price(model: model, kind: .official, atMicros: atMicros),
                let relay = prices.price(model: model, kind: .holysheep, atMicros: atMicros)
            else { throw .unknownModel(model, known: knownModels.sorted()) }
            sum += share
            let t = Int128(tokensMicroMillions) * Int128(share)
            func cost(_ p: ModelPrice) -> Int128 {
                t
                    * (Int128(inputShareMicros) * Int128(p.inputMicroUSDPerMTok)
                        + Int128(1_000_000 - inputShareMicros) * Int128(p.outputMicroUSDPerMTok))
            }
            lines.append(Line(model: model, shareMicros: share, official: cost(official), holysheep: cost(relay)))
        }
        guard sum == 1_000_000 else {
            throw .mixDoesNotSumToOne(Money.trimmed(Int128(sum), scale: 6))
        }
        self.lines = lines
    }

    /// A plain non-negative decimal with at most 6 places, × 1e6.
    static func decimalMicros(_ text: String, what: String) throws(ReportError) -> Int64 {
        do {
            return try CostCalculator.microUSD(parsing: text)
        } catch {
            throw .invalidDecimal(text, reason: "\(what) must be a plain decimal with at most 6 places")
        }
    }
}
