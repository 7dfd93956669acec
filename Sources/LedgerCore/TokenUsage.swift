/// Token counts of one call, as the upstream reported them.
///
/// OpenAI semantics: `cachedPromptTokens` is a subset of `promptTokens`, and `reasoningTokens` a subset of
/// `completionTokens`; neither is billed twice.
package struct TokenUsage: Sendable, Hashable, Codable {
    package var promptTokens: Int64
    package var cachedPromptTokens: Int64
    package var completionTokens: Int64
    package var reasoningTokens: Int64

    package init(promptTokens: Int64, cachedPromptTokens: Int64 = 0, completionTokens: Int64, reasoningTokens: Int64 = 0) {
        self.promptTokens = promptTokens
        self.cachedPromptTokens = cachedPromptTokens
        self.completionTokens = completionTokens
        self.reasoningTokens = reasoningTokens
    }

    package static let zero = TokenUsage(promptTokens: 0, completionTokens: 0)

    /// Prompt tokens billed at the full input rate.
    package var uncachedPromptTokens: Int64 { promptTokens - cachedPromptTokens }
    package var totalTokens: Int64 { promptTokens + completionTokens }
}
