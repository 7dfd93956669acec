import LedgerCore
import LedgerStore

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
    init(_ row: any ReportRow) throws {
        priceStatus = try row.text(1) ?? ""
        providerKind = try row.text(2) ?? ""
        calls = try row.int(3) ?? 0
        failedCalls = try row.int(4) ?? 0
        fallbackCalls = try row.int(5) ?? 0
        promptTokens = try row.int(6) ?? 0
        cachedPromptTokens = try row.int(7) ?? 0
        completionTokens = try row.int(8) ?? 0
        latencySumMicros = try row.int(9) ?? 0
        cacheWrite5mTokens = try row.int(16) ?? 0
        cacheWrite1hTokens = try row.int(17) ?? 0
        audioPromptTokens = try row.int(18) ?? 0
        audioCompletionTokens = try row.int(19) ?? 0
        if let i = try row.int(10), let c = try row.int(11), let o = try row.int(12) {
            official = ModelPrice(
                input: i, cachedInput: c, output: o, cacheWriteInput: try row.int(20),
                cacheWrite1hInput: try row.int(21), inputAudio: try row.int(22), outputAudio: try row.int(23))
        }
        if let i = try row.int(13), let c = try row.int(14), let o = try row.int(15) {
            holysheep = ModelPrice(
                input: i, cachedInput: c, output: o, cacheWriteInput: try row.int(24),
                cacheWrite1hInput: try row.int(25), inputAudio: try row.int(26), outputAudio: try row.int(27))
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
