package import LedgerCore

/// Reads an OpenAI `usage` object into `TokenUsage`.
package enum OpenAIUsage {
    /// The usage in a response or chunk object, or nil when it has none (absent or `null`).
    ///
    /// `prompt_tokens_details.cached_tokens` and `completion_tokens_details.reasoning_tokens` are subsets of the
    /// prompt and completion counts; embeddings report only `prompt_tokens` (completion is then 0).
    package static func parse(_ object: JSONObjectScan, in bytes: [UInt8]) -> TokenUsage? {
        guard let usage = object.object("usage", in: bytes) else { return nil }
        guard let prompt = usage.int64("prompt_tokens", in: bytes) else { return nil }
        let completion = usage.int64("completion_tokens", in: bytes) ?? 0
        let cached = usage.object("prompt_tokens_details", in: bytes)?.int64("cached_tokens", in: bytes) ?? 0
        let reasoning =
            usage.object("completion_tokens_details", in: bytes)?.int64("reasoning_tokens", in: bytes) ?? 0
        return TokenUsage(
            promptTokens: prompt, cachedPromptTokens: cached, completionTokens: completion, reasoningTokens: reasoning)
    }

    /// The usage in a whole response body, or nil.
    package static func parse(body bytes: [UInt8]) -> TokenUsage? {
        guard let object = try? JSONObjectScan(bytes) else { return nil }
        return parse(object, in: bytes)
    }
}
