package import LedgerCore

/// The exact figures of one report row (a group, a month, or the total): counts, summed tokens, unrounded money.
package struct CostFigures: Sendable, Hashable {
    package var calls: Int64 = 0
    /// Calls whose status is not `ok`.
    package var failedCalls: Int64 = 0
    /// Calls the official fallback served.
    package var fallbackCalls: Int64 = 0
    /// Calls with no usage reported: not priced, never counted as zero cost.
    package var noUsageCalls: Int64 = 0
    /// Calls with usage but no price row for their model: not priced.
    package var unpricedCalls: Int64 = 0
    /// Prompt tokens of all calls with usage (cached included).
    package var inputTokens: Int64 = 0
    package var cachedInputTokens: Int64 = 0
    package var outputTokens: Int64 = 0
    /// Cache writes (5-minute, 1-hour), audio input (all inside `inputTokens`) and audio output (inside
    /// `outputTokens`) of all calls with usage.
    package var cacheWrite5mTokens: Int64 = 0
    package var cacheWrite1hTokens: Int64 = 0
    package var audioInputTokens: Int64 = 0
    package var audioOutputTokens: Int64 = 0
    /// Calls with usage whose official cost, or whose paid cost, is missing (no price row on that list); each
    /// counted on its own and never summed as zero.
    package var missingOfficialCalls: Int64 = 0
    package var missingPaidCalls: Int64 = 0
    /// Prompt plus completion tokens of the unpriced calls (also inside the three counts above).
    package var unpricedTokens: Int64 = 0
    /// Priced calls at the official list price.
    package var official: Money = .zero
    /// Priced calls at what was paid: HolySheep's price, or the official one where the fallback served.
    package var paid: Money = .zero
    package var latencySumMicros: Int128 = 0
    /// Exact nearest-rank p95 of every call's latency; nil when not computed (annual rows) or no calls.
    package var p95LatencyMicros: Int64?

    package init() {}

    /// official − paid, exact.
    package var savings: Money { official - paid }

    package static func + (lhs: CostFigures, rhs: CostFigures) -> CostFigures {
        var s = lhs
        s.calls += rhs.calls
        s.failedCalls += rhs.failedCalls
        s.fallbackCalls += rhs.fallbackCalls
        s.noUsageCalls += rhs.noUsageCalls
        s.unpricedCalls += rhs.unpricedCalls
        s.inputTokens += rhs.inputTokens
        s.cachedInputTokens += rhs.cachedInputTokens
        s.outputTokens += rhs.outputTokens
        s.cacheWrite5mTokens += rhs.cacheWrite5mTokens
        s.cacheWrite1hTokens += rhs.cacheWrite1hTokens
        s.audioInputTokens += rhs.audioInputTokens
        s.audioOutputTokens += rhs.audioOutputTokens
        s.missingOfficialCalls += rhs.missingOfficialCalls
        s.missingPaidCalls += rhs.missingPaidCalls
        s.unpricedTokens += rhs.unpricedTokens
        s.official += rhs.official
        s.paid += rhs.paid
        s.latencySumMicros += rhs.latencySumMicros
        s.p95LatencyMicros = nil
        return s
    }
}
