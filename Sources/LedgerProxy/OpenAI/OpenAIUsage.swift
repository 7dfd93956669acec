package import LedgerCore

/// Reads an OpenAI-dialect `usage` object into `TokenUsage`: `ChatUsage` in LedgerCore does the work (OpenAI chat
/// with cached, audio and reasoning details and `service_tier`; DeepSeek cache hits and misses; Gemini's
/// OpenAI-compatible replies). Embeddings report only `prompt_tokens` (completion is then 0).
package enum OpenAIUsage {
    /// The usage in a response or chunk object, or nil when it has none (absent or `null`).
    package static func parse(_ object: JSONObjectScan, in bytes: [UInt8]) -> TokenUsage? {
        ChatUsage.parse(object, in: bytes)
    }

    /// The usage in a whole response body, or nil.
    package static func parse(body bytes: [UInt8]) -> TokenUsage? { ChatUsage.parse(body: bytes) }
}
