/// Token counts of one call, as the upstream reported them, normalised to one shape for every dialect and vendor.
///
/// `promptTokens` is the call's whole input: uncached text, cache reads, cache writes and audio input. The kinds
/// inside it are disjoint subsets, so each input token is billed at exactly one rate:
/// - `cachedPromptTokens`: cache reads (OpenAI `cached_tokens`, Anthropic `cache_read_input_tokens`, DeepSeek
///   `prompt_cache_hit_tokens`);
/// - `cacheWrite5mTokens` / `cacheWrite1hTokens`: cache writes of 5-minute and 1-hour lifetime (Anthropic);
/// - `audioPromptTokens`: audio input (OpenAI `prompt_tokens_details.audio_tokens`);
/// - the rest (`uncachedPromptTokens`) is uncached text input.
///
/// `completionTokens` is the whole output; `reasoningTokens` (billed as output, counted for reports) and
/// `audioCompletionTokens` (billed at the audio output rate) are inside it. Anthropic's `input_tokens`, which excludes
/// cache reads and writes, is therefore added up by its parser, never stored as `promptTokens` directly.
package struct TokenUsage: Sendable, Hashable, Codable {
    package var promptTokens: Int64
    package var cachedPromptTokens: Int64
    package var completionTokens: Int64
    package var reasoningTokens: Int64
    package var cacheWrite5mTokens: Int64
    package var cacheWrite1hTokens: Int64
    package var audioPromptTokens: Int64
    package var audioCompletionTokens: Int64
    /// The service tier as the reply reports it ("default", "flex", "priority", ...); nil when it says none.
    package var serviceTier: String?

    package init(
        promptTokens: Int64, cachedPromptTokens: Int64 = 0, completionTokens: Int64, reasoningTokens: Int64 = 0,
        cacheWrite5mTokens: Int64 = 0, cacheWrite1hTokens: Int64 = 0, audioPromptTokens: Int64 = 0,
        audioCompletionTokens: Int64 = 0, serviceTier: String? = nil
    ) {
        self.promptTokens = promptTokens
        self.cachedPromptTokens = cachedPromptTokens
        self.completionTokens = completionTokens
        self.reasoningTokens = reasoningTokens
        self.cacheWrite5mTokens = cacheWrite5mTokens
        self.cacheWrite1hTokens = cacheWrite1hTokens
        self.audioPromptTokens = audioPromptTokens
        self.audioCompletionTokens = audioCompletionTokens
        self.serviceTier = serviceTier
    }

    package static let zero = TokenUsage(promptTokens: 0, completionTokens: 0)

    /// Text input billed at the full input rate: the prompt minus cache reads, cache writes and audio.
    package var uncachedPromptTokens: Int64 {
        promptTokens - cachedPromptTokens - cacheWrite5mTokens - cacheWrite1hTokens - audioPromptTokens
    }
    /// Output billed at the text output rate (reasoning included).
    package var textCompletionTokens: Int64 { completionTokens - audioCompletionTokens }
    package var totalTokens: Int64 { promptTokens + completionTokens }
}
