/// Why a cost or price could not be computed.
package enum CostError: Error, Sendable, Equatable, CustomStringConvertible {
    case negativeTokens(field: String, value: Int64)
    case cachedExceedsPrompt(cached: Int64, prompt: Int64)
    case audioExceedsCompletion(audio: Int64, completion: Int64)
    case negativePrice(field: String, value: Int64)
    case overflow
    case inexactScaledPrice(Int64, Int64, Int64)
    case invalidDecimal(String)

    package var description: String {
        switch self {
        case .negativeTokens(let field, let value): "\(field) must not be negative (got \(value))"
        case .cachedExceedsPrompt(let cached, let prompt):
            "cached, cache-write and audio prompt tokens (\(cached)) exceed prompt tokens (\(prompt))"
        case .audioExceedsCompletion(let audio, let completion):
            "audio completion tokens (\(audio)) exceed completion tokens (\(completion))"
        case .negativePrice(let field, let value): "price \(field) must not be negative (got \(value))"
        case .overflow: "cost overflows"
        case .inexactScaledPrice(let value, let numerator, let denominator):
            "\(value) × \(numerator)/\(denominator) is not a whole micro-USD"
        case .invalidDecimal(let text): "'\(text)' is not a plain decimal number"
        }
    }
}
