/// A wire dialect: the request and reply shapes of one family of endpoints. The proxy never translates between
/// dialects; a call goes only to providers that accept its dialect.
package enum WireDialect: String, Sendable, Hashable, CaseIterable, Comparable {
    /// OpenAI chat completions, completions, embeddings and models (also DeepSeek, Gemini's OpenAI-compatible
    /// endpoint and Anthropic's OpenAI-compatible chat endpoint).
    case openai
    /// The OpenAI Responses API (`/v1/responses`).
    case responses
    /// Anthropic Messages (`/v1/messages`).
    case anthropic

    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What one provider serves: the dialects it accepts, the models it serves (patterns with `*`), and the names its
/// vendor uses for some of them (`claude-sonnet-4.5` is `claude-sonnet-4-5` at Anthropic).
package struct ProviderService: Sendable, Hashable {
    package var dialects: Set<WireDialect>
    /// Glob patterns (`*` matches any run of characters); `["*"]` serves every model.
    package var models: [String]
    /// Ledger model name → the provider's model id. Models not in the map keep their name.
    package var modelMap: [String: String]
    /// The vendor's own dialect, the first one listed (what `ping` speaks to it).
    package var primaryDialect: WireDialect

    package init(
        dialects: Set<WireDialect> = Set(WireDialect.allCases), models: [String] = ["*"],
        modelMap: [String: String] = [:], primaryDialect: WireDialect? = nil
    ) {
        self.primaryDialect = primaryDialect ?? (dialects.contains(.openai) ? .openai : dialects.sorted().first ?? .openai)
        self.dialects = dialects
        self.models = models
        self.modelMap = modelMap
    }

    /// Serves everything in every dialect (a provider configured without `models` and `dialects`).
    package static let everything = ProviderService()

    /// Whether `model` (the ledger's name) is served in `dialect`.
    package func serves(model: String, dialect: WireDialect) -> Bool {
        dialects.contains(dialect) && models.contains { Self.matches(pattern: $0, model) }
    }

    /// The model id to send this provider.
    package func upstreamModel(for model: String) -> String { modelMap[model] ?? model }

    /// Glob match with `*` only, case-sensitive (model ids are).
    package static func matches(pattern: String, _ text: String) -> Bool {
        // The shapes configs use, without allocating: "*", "exact", "prefix*".
        if pattern == "*" { return true }
        let stars = pattern.utf8.reduce(0) { $0 + ($1 == UInt8(ascii: "*") ? 1 : 0) }
        if stars == 0 { return pattern == text }
        if stars == 1, pattern.utf8.last == UInt8(ascii: "*") { return text.utf8.starts(with: pattern.utf8.dropLast()) }
        let p = Array(pattern.utf8)
        let t = Array(text.utf8)
        var pi = 0
        var ti = 0
        var star = -1
        var mark = 0
        while ti < t.count {
            if pi < p.count && p[pi] != UInt8(ascii: "*") && p[pi] == t[ti] {
                pi += 1
                ti += 1
            } else if pi < p.count && p[pi] == UInt8(ascii: "*") {
                star = pi
                mark = ti
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }

    /// Parses a `dialects` value: "anthropic, openai" (in order: the first is the vendor's own).
    package static func dialects(parsing text: String) throws(RoutingError) -> [WireDialect] {
        var result: [WireDialect] = []
        for item in text.split(separator: ",") {
            let name = String(item).trimmingSpaces().lowercased()
            guard let dialect = WireDialect(rawValue: name) else {
                throw .invalidSetting(
                    key: "dialects", value: text,
                    reason: "'\(name)' is not a dialect (\(WireDialect.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if !result.contains(dialect) { result.append(dialect) }
        }
        guard !result.isEmpty else { throw .invalidSetting(key: "dialects", value: text, reason: "must list one") }
        return result
    }

    /// Parses a `models` value: "claude-*, my-model".
    package static func models(parsing text: String) throws(RoutingError) -> [String] {
        let items = text.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
        guard !items.isEmpty else { throw .invalidSetting(key: "models", value: text, reason: "must list a pattern") }
        return items
    }

    /// Parses a `model_map` value: "claude-sonnet-4.5=claude-sonnet-4-5, deepseek-v3.2=deepseek-chat".
    package static func modelMap(parsing text: String) throws(RoutingError) -> [String: String] {
        var map: [String: String] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces() }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw .invalidSetting(
                    key: "model_map", value: text, reason: "each entry is 'ledger-model=provider-model' ('\(item)' is not)")
            }
            map[parts[0]] = parts[1]
        }
        return map
    }
}
