import LedgerCore
import Testing

/// Each vendor's usage shape, from replies written after the vendor's API reference, parsed into `TokenUsage` and
/// costed in pico-USD. Every token kind is billed once.
@Suite struct UsageParsersTests {
    private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
    private func officialPrice(_ model: String) throws -> ModelPrice {
        try #require(DefaultPrices.entries.first { $0.model == model && $0.kind == .official && $0.minPromptTokens == 0 && $0.serviceTier == nil }).price
    }

    @Test func openAIChatWithCachedReasoningAndServiceTier() throws {
        let reply = """
            {"id":"chatcmpl-1","object":"chat.completion","created":1741569952,"model":"gpt-4.1-2025-04-14",
             "choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":2000,"completion_tokens":300,"total_tokens":2300,
                      "prompt_tokens_details":{"cached_tokens":1500,"audio_tokens":0},
                      "completion_tokens_details":{"reasoning_tokens":100,"audio_tokens":0,
                          "accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},
             "service_tier":"priority"}
            """
        let usage = try #require(ChatUsage.parse(body: bytes(reply)))
        #expect(usage == TokenUsage(promptTokens: 2000, cachedPromptTokens: 1500, completionTokens: 300,
                                    reasoningTokens: 100, serviceTier: "priority"))
        // 500 × 2.00 + 1500 × 0.50 + 300 × 8.00 (µUSD/MTok × tokens = pico-USD)
        #expect(try CostCalculator.cost(for: usage, price: officialPrice("gpt-4.1")).picoUSD == 4_150_000_000)
    }

    @Test func openAIChatAudioTokensAtTheAudioRates() throws {
        let reply = """
            {"object":"chat.completion","model":"gpt-4o-audio-preview","choices":[],
             "usage":{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500,
                      "prompt_tokens_details":{"cached_tokens":0,"audio_tokens":600},
                      "completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":400}}}
            """
        let usage = try #require(ChatUsage.parse(body: bytes(reply)))
        #expect(usage.audioPromptTokens == 600 && usage.audioCompletionTokens == 400)
        #expect(usage.uncachedPromptTokens == 400 && usage.textCompletionTokens == 100)
        let price = ModelPrice(
            input: 2_500_000, cachedInput: 1_250_000, output: 10_000_000, inputAudio: 40_000_000,
            outputAudio: 80_000_000)
        // 400 × 2.50 + 600 × 40.00 + 100 × 10.00 + 400 × 80.00
        #expect(try CostCalculator.cost(for: usage, price: price).picoUSD == 58_000_000_000)
        // Without audio rates the audio is billed at the text rates, still once.
        let plain = ModelPrice(input: 2_500_000, cachedInput: 1_250_000, output: 10_000_000)
        #expect(try CostCalculator.cost(for: usage, price: plain).picoUSD == 2_500_000_000 + 5_000_000_000)
    }

    @Test func deepSeekCacheHitsAreCacheReads() throws {
        let reply = """
            {"id":"x","object":"chat.completion","model":"deepseek-chat","choices":[],
             "usage":{"completion_tokens":100,"prompt_tokens":1000,"prompt_cache_hit_tokens":600,
                      "prompt_cache_miss_tokens":400,"total_tokens":1100,
                      "completion_tokens_details":{"reasoning_tokens":0}}}
            """
        let usage = try #require(ChatUsage.parse(body: bytes(reply)))
        #expect(usage == TokenUsage(promptTokens: 1000, cachedPromptTokens: 600, completionTokens: 100))
        // 400 × 0.28 + 600 × 0.028 + 100 × 0.42 = 0.0001708 USD (the issue's figure)
        let cost = try CostCalculator.cost(for: usage, price: officialPrice("deepseek-v3.2"))
        #expect(cost.picoUSD == 170_800_000)
        // Both fields present (DeepSeek's newer replies): the hits count once.
        let both = """
            {"usage":{"prompt_tokens":1000,"completion_tokens":100,"total_tokens":1100,"prompt_cache_hit_tokens":600,
                      "prompt_cache_miss_tokens":400,"prompt_tokens_details":{"cached_tokens":600}}}
            """
        #expect(ChatUsage.parse(body: bytes(both)) == usage)
    }

    @Test func geminiThinkingTokensOnlyInTotalAreBilledAsOutput() throws {
        let reply = """
            {"id":"g","object":"chat.completion","model":"gemini-2.5-flash","choices":[],
             "usage":{"completion_tokens":50,"prompt_tokens":100,"total_tokens":250}}
            """
        let usage = try #require(ChatUsage.parse(body: bytes(reply)))
        // 250 - 100 - 50 = 100 thinking tokens, billed as output.
        #expect(usage == TokenUsage(promptTokens: 100, completionTokens: 150, reasoningTokens: 100))
        // 100 × 0.30 + 150 × 2.50
        #expect(try CostCalculator.cost(for: usage, price: officialPrice("gemini-2.5-flash")).picoUSD == 405_000_000)
    }

    @Test func anthropicMessageWithCacheReadsAndSplitWrites() throws {
        let reply = """
            {"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5",
             "content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,
             "usage":{"input_tokens":2000,"cache_creation_input_tokens":3000,"cache_read_input_tokens":10000,
                      "cache_creation":{"ephemeral_5m_input_tokens":1000,"ephemeral_1h_input_tokens":2000},
                      "output_tokens":500,"service_tier":"standard"}}
            """
        let usage = try #require(AnthropicUsage.parse(body: bytes(reply)))
        #expect(usage == TokenUsage(promptTokens: 15_000, cachedPromptTokens: 10_000, completionTokens: 500,
                                    cacheWrite5mTokens: 1000, cacheWrite1hTokens: 2000, serviceTier: "standard"))
        #expect(usage.uncachedPromptTokens == 2000)
        // 2000 × 3.00 + 10000 × 0.30 + 1000 × 3.75 + 2000 × 6.00 + 500 × 15.00
        #expect(try CostCalculator.cost(for: usage, price: officialPrice("claude-sonnet-4.5")).picoUSD == 32_250_000_000)
    }

    @Test func anthropicCacheCreationWithoutSplitIsFiveMinute() throws {
        let reply = """
            {"type":"message","usage":{"input_tokens":2000,"cache_creation_input_tokens":3000,
                                       "cache_read_input_tokens":10000,"output_tokens":500}}
            """
        let usage = try #require(AnthropicUsage.parse(body: bytes(reply)))
        #expect(usage.cacheWrite5mTokens == 3000 && usage.cacheWrite1hTokens == 0 && usage.promptTokens == 15_000)
        // 2000 × 3.00 + 10000 × 0.30 + 3000 × 3.75 + 500 × 15.00
        #expect(try CostCalculator.cost(for: usage, price: officialPrice("claude-sonnet-4.5")).picoUSD == 27_750_000_000)
    }

    @Test func anthropicStreamTakesInputFromStartAndOutputFromTheLastDelta() throws {
        var stream = AnthropicUsage.Stream()
        stream.consume(event: bytes(#"{"type":"ping"}"#))
        #expect(stream.usage == nil)
        stream.consume(event: bytes("""
            {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],
             "model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,
             "usage":{"input_tokens":25,"cache_creation_input_tokens":100,"cache_read_input_tokens":400,
                      "cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":100},
                      "output_tokens":1}}}
            """))
        stream.consume(event: bytes(#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#))
        stream.consume(event: bytes(#"{"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":7}}"#))
        stream.consume(event: bytes(#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#))
        #expect(!stream.complete)
        stream.consume(event: bytes(#"{"type":"message_stop"}"#))
        #expect(stream.complete)
        #expect(stream.usage == TokenUsage(promptTokens: 525, cachedPromptTokens: 400, completionTokens: 15,
                                           cacheWrite1hTokens: 100))
    }

    @Test func anthropicDeltaRepeatingInputWithoutTheSplitKeepsTheStartsSplit() throws {
        var stream = AnthropicUsage.Stream()
        stream.consume(event: bytes("""
            {"type":"message_start","message":{"usage":{"input_tokens":25,"cache_creation_input_tokens":100,
             "cache_read_input_tokens":400,"cache_creation":{"ephemeral_5m_input_tokens":40,
             "ephemeral_1h_input_tokens":60},"output_tokens":1}}}
            """))
        stream.consume(event: bytes("""
            {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":25,
             "cache_creation_input_tokens":100,"cache_read_input_tokens":400,"output_tokens":15}}
            """))
        stream.consume(event: bytes(#"{"type":"message_stop"}"#))
        #expect(stream.usage == TokenUsage(promptTokens: 525, cachedPromptTokens: 400, completionTokens: 15,
                                           cacheWrite5mTokens: 40, cacheWrite1hTokens: 60))
    }

    @Test func responsesBodyAndCompletedEvent() throws {
        let response = """
            {"id":"resp_1","object":"response","created_at":1741476542,"status":"completed","model":"gpt-4.1",
             "output":[],"service_tier":"default",
             "usage":{"input_tokens":328,"input_tokens_details":{"cached_tokens":128},"output_tokens":52,
                      "output_tokens_details":{"reasoning_tokens":20},"total_tokens":380}}
            """
        let usage = try #require(ResponsesUsage.parse(body: bytes(response)))
        #expect(usage == TokenUsage(promptTokens: 328, cachedPromptTokens: 128, completionTokens: 52,
                                    reasoningTokens: 20, serviceTier: "default"))
        // 200 × 2.00 + 128 × 0.50 + 52 × 8.00
        #expect(try CostCalculator.cost(for: usage, price: officialPrice("gpt-4.1")).picoUSD == 880_000_000)
        #expect(ResponsesUsage.parse(event: bytes(#"{"type":"response.completed","sequence_number":9,"response":\#(response)}"#)) == usage)
        #expect(ResponsesUsage.parse(event: bytes(#"{"type":"response.output_text.delta","delta":"Hi","usage":{"input_tokens":1}}"#)) == nil)
        #expect(ResponsesUsage.parse(event: bytes(#"{"type":"response.created","response":{"usage":null}}"#)) == nil)
    }

    @Test func longContextTierPricesTheWholeCall() throws {
        let tier = try #require(DefaultPrices.entries.first {
            $0.model == "claude-sonnet-4.5" && $0.kind == .official && $0.minPromptTokens == 200_000
        })
        let usage = TokenUsage(promptTokens: 250_000, completionTokens: 1000)
        // 250000 × 6.00 + 1000 × 22.50 = 1.5225 USD (the issue's figure)
        #expect(try CostCalculator.cost(for: usage, price: tier.price).picoUSD == 1_522_500_000_000)
    }

    @Test func inputKindsBeyondThePromptAreRefused() {
        let price = ModelPrice(input: 1, cachedInput: 1, output: 1)
        #expect(throws: CostError.self) {
            try CostCalculator.cost(
                for: TokenUsage(promptTokens: 10, cachedPromptTokens: 5, completionTokens: 0, cacheWrite5mTokens: 6),
                price: price)
        }
        #expect(throws: CostError.audioExceedsCompletion(audio: 3, completion: 2)) {
            try CostCalculator.cost(
                for: TokenUsage(promptTokens: 0, completionTokens: 2, audioCompletionTokens: 3), price: price)
        }
    }
}

/// `ChatUsage.parse` reads the usage in one pass with keys compared as bytes; this is the member-by-member reading it
/// replaced, kept as the reference it must agree with on any usage object.
private func referenceChatUsage(_ object: JSONObjectScan, in bytes: [UInt8]) -> TokenUsage? {
    guard let usage = object.object("usage", in: bytes) else { return nil }
    let hit = usage.int64("prompt_cache_hit_tokens", in: bytes)
    let miss = usage.int64("prompt_cache_miss_tokens", in: bytes)
    let prompt: Int64
    if let p = usage.int64("prompt_tokens", in: bytes) {
        prompt = p
    } else if let hit, let miss {
        prompt = hit + miss
    } else {
        return nil
    }
    var completion = usage.int64("completion_tokens", in: bytes) ?? 0
    let promptDetails = usage.object("prompt_tokens_details", in: bytes)
    let completionDetails = usage.object("completion_tokens_details", in: bytes)
    let cached = promptDetails?.int64("cached_tokens", in: bytes) ?? hit ?? 0
    var reasoning = completionDetails?.int64("reasoning_tokens", in: bytes) ?? 0
    if let total = usage.int64("total_tokens", in: bytes), total > prompt + completion {
        let unlisted = total - prompt - completion
        completion += unlisted
        reasoning += unlisted
    }
    return TokenUsage(
        promptTokens: prompt, cachedPromptTokens: cached, completionTokens: completion, reasoningTokens: reasoning,
        audioPromptTokens: promptDetails?.int64("audio_tokens", in: bytes) ?? 0,
        audioCompletionTokens: completionDetails?.int64("audio_tokens", in: bytes) ?? 0,
        serviceTier: object.string("service_tier", in: bytes))
}

@Suite struct ChatUsageOnePassTests {
    /// A small deterministic generator (the same objects on every run).
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    /// A member value of any JSON type, integers mostly; an object holds `_details`-like members with scalars.
    static func value(_ g: inout Generator, nested: Bool = false) -> String {
        switch g.next(nested ? 8 : 9) {
        case 0: return "null"
        case 1: return #""12""#
        case 2: return "1.5"
        case 3: return "-\(g.next(1000))"
        case 4: return "[1,2]"
        case 5: return "\(g.next(1_000_000_000_000))"
        case 8:
            let names = ["cached_tokens", "audio_tokens", "reasoning_tokens", "x"]
            return "{" + (0..<g.next(4)).map { _ in member(&g, names, nested: true) }.joined(separator: ",") + "}"
        default: return "\(g.next(100_000))"
        }
    }

    static func member(_ g: inout Generator, _ names: [String], nested: Bool) -> String {
        var name = names[g.next(names.count)]
        if g.next(8) == 0, let underscore = name.firstIndex(of: "_") {
            name.replaceSubrange(underscore...underscore, with: #"\u005f"#)  // the same key, escaped
        }
        return "\"\(name)\": \(value(&g, nested: nested))"
    }

    @Test func agreesWithTheMemberByMemberReadingOnGeneratedUsage() throws {
        let names = [
            "prompt_tokens", "completion_tokens", "total_tokens", "prompt_cache_hit_tokens", "prompt_cache_miss_tokens",
            "prompt_tokens_details", "completion_tokens_details", "other", "prompt_tokens_detail", "Prompt_tokens",
        ]
        let details = ["cached_tokens", "audio_tokens", "reasoning_tokens", "x"]
        var g = Generator(state: 20_261_204)
        var compared = 0
        for _ in 0..<4000 {
            var members: [String] = []
            for _ in 0..<g.next(9) {
                let name = names[g.next(names.count)]
                if name.hasSuffix("_details") && g.next(3) > 0 {
                    let inner = (0..<g.next(5)).map { _ in
                        "\"\(details[g.next(details.count)])\": \(g.next(4) == 0 ? "null" : String(g.next(5000)))"
                    }
                    members.append("\"\(name)\": {\(inner.joined(separator: ", "))}")
                } else {
                    members.append(Self.member(&g, [name], nested: false))
                }
            }
            let usage = g.next(10) == 0 ? "null" : "{\(members.joined(separator: ", "))}"
            let text = #"{"id":"x","usage":"# + usage + (g.next(2) == 0 ? #","service_tier":"flex"}"# : "}")
            let bytes = Array(text.utf8)
            let object = try JSONObjectScan(bytes)
            #expect(ChatUsage.parse(object, in: bytes) == referenceChatUsage(object, in: bytes), "\(text)")
            compared += 1
        }
        #expect(compared == 4000)
    }

    /// Counts that would wrap an Int64 when added do not trap: the usage is read without the sum.
    @Test func countsThatWouldWrapDoNotTrap() throws {
        let max = Int64.max
        let hitAndMiss = Array(#"{"usage":{"prompt_cache_hit_tokens":\#(max),"prompt_cache_miss_tokens":1}}"#.utf8)
        #expect(ChatUsage.parse(body: hitAndMiss) == nil)
        let total = Array(#"{"usage":{"prompt_tokens":-\#(max),"completion_tokens":1,"total_tokens":\#(max)}}"#.utf8)
        let usage = try #require(ChatUsage.parse(body: total))
        #expect(usage.completionTokens == 1)
    }
}
