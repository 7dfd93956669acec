import Foundation
import LedgerCore
import Testing

@testable import LedgerProxy
import LedgerRouting

@Suite struct OpenAIRequestBodyTests {
    private func body(_ text: String) throws -> OpenAIRequestBody { try OpenAIRequestBody(bytes: Array(text.utf8)) }
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func readsModelStreamAndUsageRequest() throws {
        let parsed = try body(
            #"{"model":"gpt-\u0034.1","stream":true,"stream_options":{"include_usage":true},"messages":[]}"#)
        #expect(parsed.model == "gpt-4.1")
        #expect(parsed.stream)
        #expect(parsed.clientRequestedUsage)
        #expect(parsed.has("messages"))
        #expect(!parsed.has("prompt"))
    }

    @Test(arguments: [
        "", "{", "[1,2]", #"{"model":"a",}"#, #"{"model":"a"} x"#, #"{"a":tru}"#, #"{"a":01}"#, #"{"a":"\x"}"#,
        "{\"a\":\"line\nbreak\"}", #"{"a":[1,2}"#, "null",
    ])
    func refusesMalformedBodies(_ text: String) {
        #expect(throws: JSONScanError.self) { _ = try OpenAIRequestBody(bytes: Array(text.utf8)) }
    }

    @Test func leavesANonStreamedBodyByteForByte() throws {
        let original =
            #"{ "model" : "gpt-4.1", "temperature": 1.50, "x_unknown": {"deep": [1e3, null]} , "messages":[] }"#
        #expect(text(try body(original).upstreamBytes(model: "gpt-4.1")) == original)
        // Nothing to edit: no edited copy, so the client's own buffer goes upstream.
        #expect(try body(original).editedBytes(model: "gpt-4.1") == nil)
        #expect(try body(original).editedBytes(model: "gpt-4.1-mini") != nil)
        #expect(try body(#"{"model":"m","stream":true}"#).editedBytes(model: "m") != nil)
        #expect(try body(#"{"model":"m","stream":true}"#).editedBytes(model: "m", forcingStreamUsage: false) == nil)
        #expect(
            try body(#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#).editedBytes(model: "m")
                == nil)
    }

    @Test func addsStreamOptionsWhenTheClientSentNone() throws {
        let edited = text(try body(#"{"model":"m","stream":true,"x":1.0}"#).upstreamBytes(model: "m"))
        #expect(edited == #"{"model":"m","stream":true,"x":1.0,"stream_options":{"include_usage":true}}"#)
    }

    @Test func forcesIncludeUsageInsideExistingStreamOptions() throws {
        #expect(
            text(try body(#"{"stream":true,"stream_options":{"include_usage":false,"k":2}}"#).upstreamBytes(model: nil))
                == #"{"stream":true,"stream_options":{"include_usage":true,"k":2}}"#)
        #expect(
            text(try body(#"{"stream":true,"stream_options":{"k":2}}"#).upstreamBytes(model: nil))
                == #"{"stream":true,"stream_options":{"include_usage":true,"k":2}}"#)
        #expect(
            text(try body(#"{"stream":true,"stream_options":null}"#).upstreamBytes(model: nil))
                == #"{"stream":true,"stream_options":{"include_usage":true}}"#)
    }

    @Test func replacesOnlyTheModelWhenRouted() throws {
        let edited = text(
            try body(#"{"model":"auto","messages":[{"content":"model"}]}"#).upstreamBytes(model: "deepseek-v3.2"))
        #expect(edited == #"{"model":"deepseek-v3.2","messages":[{"content":"model"}]}"#)
    }

    @Test func parsesUsageWithCachedAndReasoningTokens() throws {
        let json =
            #"{"usage":{"prompt_tokens":100,"completion_tokens":40,"prompt_tokens_details":{"cached_tokens":30},"completion_tokens_details":{"reasoning_tokens":12}}}"#
        #expect(
            OpenAIUsage.parse(body: Array(json.utf8))
                == TokenUsage(promptTokens: 100, cachedPromptTokens: 30, completionTokens: 40, reasoningTokens: 12))
        #expect(OpenAIUsage.parse(body: Array(#"{"usage":null}"#.utf8)) == nil)
        #expect(
            OpenAIUsage.parse(body: Array(#"{"usage":{"prompt_tokens":5,"total_tokens":5}}"#.utf8))
                == TokenUsage(promptTokens: 5, completionTokens: 0))
    }
}

@Suite struct SSEEventSplitterTests {
    @Test func joinsEventsSplitAcrossChunks() {
        var splitter = SSEEventSplitter()
        #expect(splitter.append(Array("data: {\"a\":".utf8)).isEmpty)
        #expect(splitter.append(Array("1}\n".utf8)).isEmpty)
        let events = splitter.append(Array("\ndata: [DONE]\n\nda".utf8))
        #expect(events.map { String(decoding: $0, as: UTF8.self) } == ["data: {\"a\":1}\n\n", "data: [DONE]\n\n"])
        #expect(String(decoding: splitter.remainder, as: UTF8.self) == "da")
    }

    @Test func handlesCRLFAndMultiLineData() {
        var splitter = SSEEventSplitter()
        let events = splitter.append(Array("event: x\r\ndata: a\r\ndata: b\r\n\r\n".utf8))
        #expect(events.count == 1)
        #expect(SSEEventSplitter.data(of: events[0]).map { String(decoding: $0, as: UTF8.self) } == "a\nb")
    }

    @Test func findsOnlyUsageObjects() {
        #expect(ChatStreamRelay.mayHoldUsage(Array(#"{"choices":[],"usage": {"prompt_tokens":1}}"#.utf8)))
        #expect(!ChatStreamRelay.mayHoldUsage(Array(#"{"choices":[{}],"usage":null}"#.utf8)))
    }
}

@Suite struct ProxyConfigurationTests {
    @Test func appliesTheCommentedExampleFile() throws {
        let text = """
            # comment
            [server]
            host = 0.0.0.0 ; inline comment
            port = 9090
            max_body_bytes = 1024
            drain_timeout_seconds = 2.5
            models = my-model, other

            [provider holysheep]
            base_url = http://127.0.0.1:1234/v1/
            timeout_seconds = 3

            [provider backup]
            base_url = http://127.0.0.1:5678/v1
            kind = official
            """
        let configuration = try ProxyConfiguration().applying(file: text)
            .resolvingKeys(from: ["HOLYSHEEP_API_KEY": "k1"])
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 9090)
        #expect(configuration.maxBodyBytes == 1024)
        #expect(configuration.drainTimeout == .milliseconds(2500))
        #expect(configuration.extraModels == ["my-model", "other"])
        #expect(configuration.providers.map(\.name) == ["holysheep", "backup"])
        #expect(configuration.providers[0].baseURL == "http://127.0.0.1:1234/v1")
        #expect(configuration.providers[0].timeout == .seconds(3))
        #expect(configuration.providers[0].apiKey == "k1")
        #expect(configuration.providers[1].apiKeyEnvironment == "BACKUP_API_KEY")
        #expect(configuration.providers[1].apiKey == nil)
        #expect(configuration.providersMissingKeys.map(\.name) == ["backup"])
    }

    @Test func defaultsAreHolySheepThenEachModelsOwnVendor() {
        let configuration = ProxyConfiguration()
        #expect(configuration.providers.map(\.name) == ["holysheep", "official", "anthropic", "gemini", "deepseek"])
        #expect(
            configuration.providers.map(\.baseURL) == [
                "https://api.holysheep.ai/v1", "https://api.openai.com/v1", "https://api.anthropic.com/v1",
                "https://generativelanguage.googleapis.com/v1beta/openai", "https://api.deepseek.com/v1",
            ])
        #expect(configuration.providers.map(\.timeout) == [.seconds(30), .seconds(60), .seconds(60), .seconds(60), .seconds(60)])
        #expect(configuration.providers.map(\.kind) == [.holysheep, .official, .official, .official, .official])
        #expect(configuration.providers[2].auth == .xAPIKey)
        #expect(configuration.providers[2].service.primaryDialect == .anthropic)
        #expect(configuration.providers[4].service.upstreamModel(for: "deepseek-v3.2") == "deepseek-chat")
        #expect(configuration.port == 8080)
        #expect(configuration.maxBodyBytes == 16 << 20)
    }

    @Test func providerSectionsSetDialectsModelsMapAndAuth() throws {
        let text = """
            [provider holysheep]
            base_url = http://127.0.0.1:1/v1
            [provider anthropic]
            base_url = http://127.0.0.1:2/v1/
            kind = official
            api_key_env = ANTHROPIC_API_KEY
            auth = x-api-key
            dialects = anthropic, openai
            models = claude-*, my-claude
            model_map = claude-sonnet-4.5=claude-sonnet-4-5, my-claude=claude-opus-4-1
            [provider official]
            base_url = http://127.0.0.1:3/v1
            """
        let configuration = try ProxyConfiguration().applying(file: text).resolvingKeys(from: [
            "ANTHROPIC_API_KEY": "a", "OFFICIAL_API_KEY": "legacy", "HOLYSHEEP_API_KEY": "",
        ])
        let anthropic = configuration.providers[1]
        #expect(anthropic.baseURL == "http://127.0.0.1:2/v1" && anthropic.auth == .xAPIKey && anthropic.apiKey == "a")
        #expect(anthropic.service.dialects == [.anthropic, .openai] && anthropic.service.primaryDialect == .anthropic)
        #expect(anthropic.service.serves(model: "my-claude", dialect: .openai))
        #expect(!anthropic.service.serves(model: "my-claude", dialect: .responses))
        #expect(anthropic.service.upstreamModel(for: "my-claude") == "claude-opus-4-1")
        // The shipped official provider reads OPENAI_API_KEY, then the older OFFICIAL_API_KEY.
        #expect(configuration.providers[2].apiKey == "legacy")
        #expect(configuration.providers[2].service.serves(model: "gpt-4.1", dialect: .responses))
        #expect(configuration.providers[0].apiKey == nil)
        for bad in ["dialects = grpc", "models = ,", "model_map = x", "auth = basic"] {
            #expect(throws: ProxyConfigurationError.self) {
                _ = try ProxyConfiguration().applying(file: "[provider p]\nbase_url = http://x/v1\n" + bad)
            }
        }
    }

    @Test func theExampleConfigurationIsTheShippedDefaults() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/holysheep-ledger.example.ini")
        let example = try ProxyConfiguration().applying(file: String(contentsOf: url, encoding: .utf8))
        let shipped = ProxyConfiguration()
        #expect(example.providers == shipped.providers)
        #expect(example.routing == shipped.routing)
    }

    @Test func mapsRoutingSectionsOntoRoutingSettings() throws {
        let text = """
            [routing]
            auto_models = auto, smart
            rules = review:deepseek-v3.2
            [retry]
            max_attempts = 2
            initial_backoff = 250ms
            [breaker]
            failure_threshold = 7
            [pool]
            max_concurrent = 8
            provider.official.max_concurrent = 2
            [fallback]
            default_chain = official
            chain.deepseek-v3.2 = holysheep,official
            """
        let routing = try ProxyConfiguration().applying(file: text).routing
        #expect(routing.router.routedModelNames == ["auto", "smart"])
        #expect(routing.router.route(model: "smart", taskType: "code review").routedModel == "deepseek-v3.2")
        #expect(routing.retry.maxAttemptsPerProvider == 2)
        #expect(routing.retry.initialBackoff == .milliseconds(250))
        #expect(routing.breaker.failureThreshold == 7)
        #expect(routing.pool.maxConcurrent == 8)
        #expect(routing.pool.limit(for: "official") == 2)
        #expect(routing.chain(for: "gpt-4.1") == ["official"])
        #expect(routing.chain(for: "deepseek-v3.2") == ["holysheep", "official"])
        #expect(ProxyConfiguration().routing == RoutingConfiguration())
    }

    @Test func namesTheLineOfABadRoutingSetting() {
        #expect(throws: ProxyConfigurationError(line: 3, message: "unknown routing setting 'retry.max_attempt'")) {
            _ = try ProxyConfiguration().applying(file: "[server]\n[retry]\nmax_attempt = 2")
        }
        #expect(throws: ProxyConfigurationError.self) {
            _ = try ProxyConfiguration().applying(file: "[retry]\nstatuses = 401")
        }
    }

    @Test(arguments: ["[server]\nport = x", "[nope]", "[server]\ncolour = red", "port = 1", "[provider x]\nkind = y"])
    func refusesBadFiles(_ text: String) {
        #expect(throws: ProxyConfigurationError.self) { _ = try ProxyConfiguration().applying(file: text) }
    }
}

extension OpenAIRequestBody {
    /// What goes upstream: the edited bytes, or the client's own when no edit applies (as `UpstreamBodies` sends).
    fileprivate func upstreamBytes(model: String?, forcingStreamUsage: Bool = true) -> [UInt8] {
        editedBytes(model: model, forcingStreamUsage: forcingStreamUsage) ?? bytes
    }
}
