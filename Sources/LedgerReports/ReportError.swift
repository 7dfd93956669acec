/// Why a report, a rate or an export could not be made.
package enum ReportError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidDate(String)
    case emptyRange(from: String, to: String)
    case invalidGrouping(String)
    case invalidFormat(String)
    case invalidCurrency(String)
    case noRate(currency: String, from: String)
    case invalidRate(String)
    case invalidDecimal(String, reason: String)
    case invalidMix(String)
    case mixDoesNotSumToOne(String)
    case unknownModel(String, known: [String])
    case missingQuery(String)
    case zeroCost(String)
    case unknownColumn(String, known: [String])
    case invalidBill(String)
    case invalidQuery(String)

    package var description: String {
        switch self {
        case .invalidDate(let text): "'\(text)' is not a date; use YYYY-MM-DD, e.g. 2026-11-01"
        case .emptyRange(let from, let to): "the range \(from) .. \(to) is empty; --to must be after --from"
        case .invalidGrouping(let text):
            "'\(text)' is not a grouping; use model, provider, team, key, day or tag:NAME"
        case .invalidFormat(let text): "'\(text)' is not a format"
        case .invalidCurrency(let text): "'\(text)' is not a currency code; use three capital letters, e.g. THB"
        case .noRate(let currency, let from):
            "no \(currency) rate covers \(from); add one with `holysheep-ledger rates set \(currency) RATE --from DATE`"
        case .invalidRate(let text): "'\(text)' is not a rate; give units per 1 USD, e.g. 35.50 (at most 6 decimals)"
        case .invalidDecimal(let text, let reason): "'\(text)' is not a valid number: \(reason)"
        case .invalidMix(let text):
            "'\(text)' is not a model mix; use MODEL=SHARE,MODEL=SHARE, e.g. gpt-4.1=0.4,deepseek-v3.2=0.6"
        case .mixDoesNotSumToOne(let sum): "the mix's shares sum to \(sum), not exactly 1"
        case .unknownModel(let model, let known):
            "unknown model '\(model)' (priced models: \(known.joined(separator: ", ")))"
        case .missingQuery(let name): "report query reports/\(name).sql is not embedded in this build"
        case .zeroCost(let what): "\(what) is zero, so the ratio is undefined"
        case .invalidBill(let message): "malformed bill: \(message)"
        case .invalidQuery(let message): message
        case .unknownColumn(let name, let known):
            "unknown column '\(name)'; use all or a comma-separated list of: \(known.joined(separator: ", "))"
        }
    }
}
