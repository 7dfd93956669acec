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
    var cacheWrite5mTokens: Int64
    var cacheWrite1hTokens: Int64
    var audioPromptTokens: Int64
    var audioCompletionTokens: Int64
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
        cacheWrite5mTokens = row[16]
        cacheWrite1hTokens = row[17]
        audioPromptTokens = row[18]
        audioCompletionTokens = row[19]
        if let i: Int64 = row[10], let c: Int64 = row[11], let o: Int64 = row[12] {
            official = ModelPrice(
                input: i, cachedInput: c, output: o, cacheWriteInput: row[20], cacheWrite1hInput: row[21],
                inputAudio: row[22], outputAudio: row[23])
        }
        if let i: Int64 = row[13], let c: Int64 = row[14], let o: Int64 = row[15] {
            holysheep = ModelPrice(
                input: i, cachedInput: c, output: o, cacheWriteInput: row[24], cacheWrite1hInput: row[25],
                inputAudio: row[26], outputAudio: row[27])
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
        f.cacheWrite5mTokens = cacheWrite5mTokens
        f.cacheWrite1hTokens = cacheWrite1hTokens
        f.audioInputTokens = audioPromptTokens
        f.audioOutputTokens = audioCompletionTokens
        f.latencySumMicros = Int128(latencySumMicros)
        guard priceStatus != "no_usage" else {
            f.noUsageCalls = calls
            return f
        }
        if priceStatus == "unpriced" {
            // At least one of the three costs is missing (migrations/0004: each list is costed on its own).
            f.unpricedCalls = calls
            f.unpricedTokens = promptTokens + completionTokens
        }
        let paidPrice = providerKind == "official" ? official : holysheep
        if let official, let paidPrice {
            let usage = TokenUsage(
                promptTokens: promptTokens, cachedPromptTokens: cachedPromptTokens, completionTokens: completionTokens,
                cacheWrite5mTokens: cacheWrite5mTokens, cacheWrite1hTokens: cacheWrite1hTokens,
                audioPromptTokens: audioPromptTokens, audioCompletionTokens: audioCompletionTokens)
            f.official = try CostCalculator.cost(for: usage, price: official)
            f.paid = providerKind == "official" ? f.official : try CostCalculator.cost(for: usage, price: paidPrice)
        } else {
            // A cost known on one list only stays out of both sums, so savings never compare it with a missing one;
            // the calls are counted per missing cost instead, never summed as zero.
            if official == nil { f.missingOfficialCalls = calls }
            if paidPrice == nil { f.missingPaidCalls = calls }
        }
        return f
    }
}
