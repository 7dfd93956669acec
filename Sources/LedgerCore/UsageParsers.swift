/// Reads the `usage` of an OpenAI chat-completions (or completions, embeddings) reply or stream chunk, including
/// the vendors that speak that dialect: DeepSeek and Gemini's OpenAI-compatible endpoint. Pure: bytes in, usage out.
///
/// - OpenAI: `prompt_tokens` is the whole input; `prompt_tokens_details.cached_tokens` and `.audio_tokens` are inside
///   it; `completion_tokens_details.reasoning_tokens` and `.audio_tokens` are inside `completion_tokens`;
///   `service_tier` is a member of the reply object (not of `usage`).
/// - DeepSeek: `prompt_cache_hit_tokens` + `prompt_cache_miss_tokens` = `prompt_tokens`; the hits are cache reads
///   (used when `prompt_tokens_details.cached_tokens` is absent, so a hit is never counted twice).
/// - Gemini (OpenAI-compatible): thinking tokens may be left out of `completion_tokens` and appear only in
///   `total_tokens`; when `total_tokens` exceeds prompt + completion the excess is output (reasoning) Google bills, so
///   it is added to the completion and reasoning counts.
package enum ChatUsage {
    /// The usage in a reply or chunk object, or nil when it has none (absent or `null`).
    ///
    /// One pass over the `usage` object and its two `_details` objects, keys compared as bytes, nothing built (it
    /// runs on every reply and on a stream's last chunk): the same answer as looking each member up, where the last
    /// of duplicate members counts and a member of the wrong type reads as absent.
    package static func parse(_ object: JSONObjectScan, in bytes: [UInt8]) -> TokenUsage? {
        guard let member = object.member("usage"), bytes[member.valueRange.lowerBound] == UInt8(ascii: "{") else {
            return nil
        }
        let reader = JSONReader(bytes: bytes, end: member.valueRange.upperBound)
        var promptTokens: Int64?, completionTokens: Int64?, totalTokens: Int64?, hit: Int64?, miss: Int64?
        var cachedTokens: Int64?, audioPrompt: Int64?, reasoningTokens: Int64?, audioCompletion: Int64?
        func integer(_ value: Range<Int>) -> Int64? { JSONObjectScan.integer(bytes[value]) }
        /// The two integers of a `_details` object (nil each when it is not an object or lacks them).
        func details(_ value: Range<Int>, _ first: StaticString, _ second: StaticString) -> (Int64?, Int64?) {
            guard bytes[value.lowerBound] == UInt8(ascii: "{") else { return (nil, nil) }
            var a: Int64?, b: Int64?
            _ = try? reader.visitMembers(value.lowerBound, depth: 1) { key, escaped, value in
                if reader.key(key, escaped: escaped, is: first) {
                    a = integer(value)
                } else if reader.key(key, escaped: escaped, is: second) {
                    b = integer(value)
                }
            }
            return (a, b)
        }
        do {
            _ = try reader.visitMembers(member.valueRange.lowerBound, depth: 0) { key, escaped, value in
                if reader.key(key, escaped: escaped, is: "prompt_tokens") {
                    promptTokens = integer(value)
                } else if reader.key(key, escaped: escaped, is: "completion_tokens") {
                    completionTokens = integer(value)
                } else if reader.key(key, escaped: escaped, is: "total_tokens") {
                    totalTokens = integer(value)
                } else if reader.key(key, escaped: escaped, is: "prompt_tokens_details") {
                    (cachedTokens, audioPrompt) = details(value, "cached_tokens", "audio_tokens")
                } else if reader.key(key, escaped: escaped, is: "completion_tokens_details") {
                    (reasoningTokens, audioCompletion) = details(value, "reasoning_tokens", "audio_tokens")
                } else if reader.key(key, escaped: escaped, is: "prompt_cache_hit_tokens") {
                    hit = integer(value)
                } else if reader.key(key, escaped: escaped, is: "prompt_cache_miss_tokens") {
                    miss = integer(value)
                }
            }
        } catch {
            return nil
        }
        let prompt: Int64
        if let promptTokens {
            prompt = promptTokens
        } else if let hit, let miss, case let (sum, overflow) = hit.addingReportingOverflow(miss), !overflow {
            prompt = sum
        } else {
            return nil
        }
        var completion = completionTokens ?? 0
        let cached = cachedTokens ?? hit ?? 0
        var reasoning = reasoningTokens ?? 0
        // In Int128: counts from a provider are not trusted not to wrap (the cost calculator refuses absurd ones).
        if let total = totalTokens, Int128(total) > Int128(prompt) + Int128(completion),
            let unlisted = Int64(exactly: Int128(total) - Int128(prompt) - Int128(completion)),
            case let (newCompletion, o1) = completion.addingReportingOverflow(unlisted), !o1,
            case let (newReasoning, o2) = reasoning.addingReportingOverflow(unlisted), !o2
        {
            completion = newCompletion
            reasoning = newReasoning
        }
        return TokenUsage(
            promptTokens: prompt, cachedPromptTokens: cached, completionTokens: completion, reasoningTokens: reasoning,
            audioPromptTokens: audioPrompt ?? 0, audioCompletionTokens: audioCompletion ?? 0,
            serviceTier: object.string("service_tier", in: bytes))
    }

    /// The usage in a whole reply body, or nil.
    package static func parse(body bytes: [UInt8]) -> TokenUsage? {
        guard let object = try? JSONObjectScan(bytes) else { return nil }
        return parse(object, in: bytes)
    }
}

/// Reads Anthropic Messages usage. Anthropic's `input_tokens` EXCLUDES cache reads and writes, so the whole prompt is
/// `input_tokens + cache_read_input_tokens + cache_creation_input_tokens`. Cache writes are split by
/// `cache_creation.ephemeral_5m_input_tokens` / `ephemeral_1h_input_tokens`; without that split the whole
/// `cache_creation_input_tokens` is a 5-minute write (Anthropic's default lifetime).
package enum AnthropicUsage {
    /// A `usage` object (of a Message, or of a `message_start` / `message_delta` stream event).
    package static func parse(usage: JSONObjectScan, in bytes: [UInt8], serviceTier: String? = nil) -> TokenUsage? {
        guard let input = usage.int64("input_tokens", in: bytes) else { return nil }
        let read = usage.int64("cache_read_input_tokens", in: bytes) ?? 0
        let creation = usage.int64("cache_creation_input_tokens", in: bytes) ?? 0
        var write5m = creation
        var write1h: Int64 = 0
        if let split = usage.object("cache_creation", in: bytes) {
            let m5 = split.int64("ephemeral_5m_input_tokens", in: bytes)
            let h1 = split.int64("ephemeral_1h_input_tokens", in: bytes)
            if m5 != nil || h1 != nil {
                write5m = m5 ?? 0
                write1h = h1 ?? 0
            }
        }
        return TokenUsage(
            promptTokens: input + read + write5m + write1h, cachedPromptTokens: read,
            completionTokens: usage.int64("output_tokens", in: bytes) ?? 0, cacheWrite5mTokens: write5m,
            cacheWrite1hTokens: write1h, serviceTier: usage.string("service_tier", in: bytes) ?? serviceTier)
    }

    /// The usage of a whole (non-streamed) Message reply body, or nil.
    package static func parse(body bytes: [UInt8]) -> TokenUsage? {
        guard let object = try? JSONObjectScan(bytes), let usage = object.object("usage", in: bytes) else {
            return nil
        }
        return parse(usage: usage, in: bytes)
    }

    /// Usage of a Messages stream, fed each event's `data` JSON: the input side from `message_start`
    /// (`message.usage`), the output from `message_delta` (`usage.output_tokens`, cumulative: the last one counts; input
    /// fields a delta carries replace the start's). `usage` stays nil until `message_start` arrived, and
    /// `complete` turns true at `message_stop`.
    package struct Stream: Sendable {
        package private(set) var usage: TokenUsage?
        package private(set) var complete = false

        package init() {}

        package mutating func consume(event bytes: [UInt8]) {
            guard let object = try? JSONObjectScan(bytes) else { return }
            switch object.string("type", in: bytes) {
            case "message_start":
                if let message = object.object("message", in: bytes), let u = message.object("usage", in: bytes) {
                    usage = AnthropicUsage.parse(usage: u, in: bytes)
                }
            case "message_delta":
                guard var current = usage, let u = object.object("usage", in: bytes) else { return }
                if let output = u.int64("output_tokens", in: bytes) { current.completionTokens = output }
                if u.int64("input_tokens", in: bytes) != nil,
                    var input = AnthropicUsage.parse(usage: u, in: bytes, serviceTier: current.serviceTier)
                {
                    // A delta that repeats the cache-write total without its 5m/1h split keeps the start's split
                    // (else 1-hour writes would be priced as 5-minute ones).
                    if u.object("cache_creation", in: bytes) == nil,
                        input.cacheWrite5mTokens == current.cacheWrite5mTokens + current.cacheWrite1hTokens
                    {
                        input.cacheWrite5mTokens = current.cacheWrite5mTokens
                        input.cacheWrite1hTokens = current.cacheWrite1hTokens
                    }
                    current = input
                }
                usage = current
            case "message_stop":
                complete = true
            default:
                break
            }
        }
    }
}

/// Reads OpenAI Responses API usage: `input_tokens` (whole input) with `input_tokens_details.cached_tokens` inside
/// it, `output_tokens` with `output_tokens_details.reasoning_tokens` inside it, `service_tier` on the response.
package enum ResponsesUsage {
    /// The usage of a Response object, or nil when it has none.
    package static func parse(response: JSONObjectScan, in bytes: [UInt8]) -> TokenUsage? {
        guard let usage = response.object("usage", in: bytes),
            let input = usage.int64("input_tokens", in: bytes)
        else { return nil }
        return TokenUsage(
            promptTokens: input,
            cachedPromptTokens: usage.object("input_tokens_details", in: bytes)?.int64("cached_tokens", in: bytes) ?? 0,
            completionTokens: usage.int64("output_tokens", in: bytes) ?? 0,
            reasoningTokens: usage.object("output_tokens_details", in: bytes)?.int64("reasoning_tokens", in: bytes)
                ?? 0,
            serviceTier: response.string("service_tier", in: bytes))
    }

    /// The usage of a whole (non-streamed) Response body, or nil.
    package static func parse(body bytes: [UInt8]) -> TokenUsage? {
        guard let object = try? JSONObjectScan(bytes) else { return nil }
        return parse(response: object, in: bytes)
    }

    /// The usage a stream event carries: only the final `response.completed` (or `response.incomplete`) event has
    /// it, in its `response` member; any other event gives nil.
    package static func parse(event bytes: [UInt8]) -> TokenUsage? {
        guard let object = try? JSONObjectScan(bytes) else { return nil }
        let type = object.string("type", in: bytes)
        guard type == "response.completed" || type == "response.incomplete",
            let response = object.object("response", in: bytes)
        else { return nil }
        return parse(response: response, in: bytes)
    }
}
