import LedgerCore

/// One `ping` probe: a tiny request in the provider's own dialect, sent straight to it (not recorded as usage).
package struct PingTarget: Sendable, Hashable {
    package var provider: ProviderEndpoint
    /// The ledger's model name (what the line prints).
    package var model: String
    /// The request body: one short user message, a few output tokens, not streamed; names the provider's model id.
    package var body: String
    /// The dialect spoken: the provider's own (Anthropic gets Messages, OpenAI-compatible vendors chat).
    package var dialect: WireDialect = .openai
    /// The path after the base URL: "/chat/completions", "/messages" or "/responses".
    package var path: String = "/chat/completions"
}

/// What one probe found, printed as one line.
package struct PingResult: Sendable, Hashable {
    package var provider: ProviderEndpoint
    package var model: String
    package var latencyMicros: Int64
    /// The reply's text (`choices[0].message.content`), on success.
    package var reply: String?
    /// The diagnosis, on failure.
    package var error: RoutingError?

    package init(provider: ProviderEndpoint, model: String, latencyMicros: Int64, reply: String?, error: RoutingError?)
    {
        self.provider = provider
        self.model = model
        self.latencyMicros = latencyMicros
        self.reply = reply
        self.error = error
    }

    /// The result of a provider's answer: its status and body. A 2xx whose body has no reply text is a failure.
    package init(
        provider: ProviderEndpoint, model: String, latencyMicros: Int64, status: Int, body: String,
        dialect: WireDialect = .openai
    ) {
        var reply: String?
        var error: RoutingError?
        if (200..<300).contains(status) {
            reply = PingPlan.replyText(body, dialect: dialect)
            if reply == nil {
                let expected =
                    switch dialect {
                    case .openai: "choices[0].message.content"
                    case .anthropic: "content[0].text"
                    case .responses: "an output_text item"
                    }
                error = .upstreamMalformed(provider: provider.name, baseURL: provider.baseURL, reason: "no \(expected)")
            }
        } else {
            error = ResilientCall<ContinuousClock>.diagnose(.status(status), at: provider, attempts: 1)
        }
        self.init(provider: provider, model: model, latencyMicros: latencyMicros, reply: reply, error: error)
    }

    /// The result of an attempt that got no answer (connect error, timeout).
    package init(provider: ProviderEndpoint, model: String, latencyMicros: Int64, failure: AttemptFailure) {
        self.init(
            provider: provider, model: model, latencyMicros: latencyMicros, reply: nil,
            error: ResilientCall<ContinuousClock>.diagnose(failure, at: provider, attempts: 1)
        )
    }

    package var succeeded: Bool { error == nil }
}

/// Chooses what `holysheep-ledger ping [--provider NAME] [--model M]` sends.
package enum PingPlan {
    /// The model pinged when `--model` is not given.
    package static let defaultModel = "gpt-4.1"

    /// Models a provider is pinged with when `--model` is not given: the first it serves in its own dialect.
    package static let seedModels = [defaultModel, "claude-sonnet-4.5", "gemini-2.5-flash", "deepseek-v3.2"]

    /// One target per configured provider, or only the named one, each in its vendor's own dialect with a model
    /// it serves, under its vendor's name for it.
    /// - Parameter services: what each provider serves (missing: everything, in the OpenAI dialect).
    /// - Throws: ``RoutingError/invalidSetting(key:value:reason:)`` when `only` names no configured provider.
    package static func targets(
        providers: [ProviderEndpoint], only: String? = nil, model: String? = nil,
        services: [String: ProviderService] = [:]
    ) throws(RoutingError) -> [PingTarget] {
        let chosen = only.map { name in providers.filter { $0.name == name } } ?? providers
        guard !chosen.isEmpty else {
            throw .invalidSetting(
                key: "--provider", value: only ?? "",
                reason: "no such provider (configured: \(providers.map(\.name).joined(separator: ", ")))"
            )
        }
        return chosen.map { provider -> PingTarget in
            let service = services[provider.name] ?? ProviderService(dialects: [.openai])
            let dialect = service.primaryDialect
            let ledgerModel =
                model ?? seedModels.first { service.serves(model: $0, dialect: dialect) } ?? defaultModel
            let sent = JSONString.quote(service.upstreamModel(for: ledgerModel))
            let prompt = #""Reply with the word pong.""#
            switch dialect {
            case .openai:
                let body =
                    #"{"model":\#(sent),"messages":[{"role":"user","content":\#(prompt)}],"max_tokens":5,"stream":false}"#
                return PingTarget(provider: provider, model: ledgerModel, body: body, dialect: dialect)
            case .anthropic:
                let body =
                    #"{"model":\#(sent),"max_tokens":5,"messages":[{"role":"user","content":\#(prompt)}]}"#
                return PingTarget(provider: provider, model: ledgerModel, body: body, dialect: dialect, path: "/messages")
            case .responses:
                let body = #"{"model":\#(sent),"input":\#(prompt),"max_output_tokens":16}"#
                return PingTarget(provider: provider, model: ledgerModel, body: body, dialect: dialect, path: "/responses")
            }
        }
    }

    /// The reply's text in `dialect`: `choices[0].message.content` (chat), `content[0].text` (Messages), the first
    /// `output_text` (Responses); nil when there is none.
    package static func replyText(_ body: String, dialect: WireDialect = .openai) -> String? {
        guard let document = try? JSONScanner.parse(body) else { return nil }
        switch dialect {
        case .openai:
            guard case .array(let choices)? = document["choices"], let first = choices.first else { return nil }
            return first["message"]?["content"]?.stringValue
        case .anthropic:
            guard case .array(let content)? = document["content"], let first = content.first else { return nil }
            return first["text"]?.stringValue
        case .responses:
            guard case .array(let output)? = document["output"] else { return nil }
            for item in output {
                guard case .array(let content)? = item["content"] else { continue }
                for part in content where part["type"]?.stringValue == "output_text" {
                    if let text = part["text"]?.stringValue { return text }
                }
            }
            return nil
        }
    }

    /// The process exit status: 0 only when every probe succeeded.
    package static func exitCode(_ results: [PingResult]) -> Int32 {
        results.allSatisfy(\.succeeded) && !results.isEmpty ? 0 : 1
    }
}
