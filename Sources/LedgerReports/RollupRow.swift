import GRDB
import LedgerCore

/// One result row of cost_by_group.sql / cost_by_month.sql: summed tokens and the unit prices they were costed at.
struct RollupRow {
    var priceStatus: String
    var providerKind: String
    var calls: Int64
    var failedCalls: Int64
    var fallbackCalls: Int64
    var promptTokens: Int64
    var cachedPromptTokens: Int64
    var completionTokens: Int64
    var latencySumMicros: Int64
    var official: ModelPrice?
    var holysheep: ModelPrice?

    /// Reads columns 1... of a row whose column 0 is the group (the layout both queries share).
    init(_ row: Row) {
        priceStatus = row[1]
        providerKind = row[2]
        calls = row[3]
        failedCalls = row[4]
        fallbackCalls = row[5]
        promptTokens = row[6]
        cachedPromptTokens = row[7]
        completionTokens = row[8]
        latencySumMicros = row[9]
        if let i: Int64 = row[10], let c: Int64 = row[11], let o: Int64 = row[12] {
            official = ModelPrice(input: i, cachedInput: c, output: o)
        }
        if let i: Int64 = row[13], let c: Int64 = row[14], let o: Int64 = row[15] {
            holysheep = ModelPrice(input: i, cachedInput: c, output: o)
        }
    }

    /// The figures of these calls: summed tokens × each price, in Int128 pico-USD (docs/ARCHITECTURE.md, "Money").
    func figures() throws -> CostFigures {
        var f = CostFigures()
        f.calls = calls
        f.failedCalls = failedCalls
        f.fallbackCalls = fallbackCalls
        f.inputTokens = promptTokens
        f.cachedInputTokens = cachedPromptTokens
        f.outputTokens = completionTokens
        f.latencySumMicros = Int128(latencySumMicros)
        switch priceStatus {
        case "no_usage":
            f.noUsageCalls = calls
        case "unpriced":
            f.unpricedCalls = calls
            f.unpricedTokens = promptTokens + completionTokens
        default:
            if let official, let holysheep {
                let usage = TokenUsage(
                    promptTokens: promptTokens, cachedPromptTokens: cachedPromptTokens,
                    completionTokens: completionTokens)
                f.official = try CostCalculator.cost(for: usage, price: official)
                f.paid = providerKind == "official" ? f.official : try CostCalculator.cost(for: usage, price: holysheep)
            } else {
                f.unpricedCalls = calls
                f.unpricedTokens = promptTokens + completionTokens
            }
        }
        return f
    }
}
