import LedgerCore

/// One `ping` probe: a tiny chat completion sent straight to one provider (not recorded as usage).
package struct PingTarget: Sendable, Hashable {
    package var provider: ProviderEndpoint
    package var model: String
    /// The request body: one short user message, a few output tokens, not streamed.
    package var body: String
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
    package init(provider: ProviderEndpoint, model: String, latencyMicros: Int64, status: Int, body: String) {
        var reply: String?
        var error: RoutingError?
        if (200..<300).contains(status) {
            reply = PingPlan.replyText(body)
            if reply == nil {
                error = .upstreamMalformed(
                    provider: provider.name, baseURL: provider.baseURL, reason: "no choices[0].message.content"
                )
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

    /// One target per configured provider, or only the named one.
    /// - Throws: ``RoutingError/invalidSetting(key:value:reason:)`` when `only` names no configured provider.
    package static func targets(
        providers: [ProviderEndpoint], only: String? = nil, model: String? = nil
    ) throws(RoutingError) -> [PingTarget] {
        let chosen = only.map { name in providers.filter { $0.name == name } } ?? providers
        guard !chosen.isEmpty else {
            throw .invalidSetting(
                key: "--provider", value: only ?? "",
                reason: "no such provider (configured: \(providers.map(\.name).joined(separator: ", ")))"
            )
        }
        let model = model ?? defaultModel
        let body =
            #"{"model":\#(JSONString.quote(model)),"messages":[{"role":"user","content":"Reply with the word pong."}],"#
            + #""max_tokens":5,"stream":false}"#
        return chosen.map { PingTarget(provider: $0, model: model, body: body) }
    }

    /// `choices[0].message.content` of a chat completion, or nil.
    package static func replyText(_ body: String) -> String? {
        guard let document = try? JSONScanner.parse(body), case .array(let choices)? = document["choices"],
            let first = choices.first
        else { return nil }
        return first["message"]?["content"]?.stringValue
    }

    /// The process exit status: 0 only when every probe succeeded.
    package static func exitCode(_ results: [PingResult]) -> Int32 {
        results.allSatisfy(\.succeeded) && !results.isEmpty ? 0 : 1
    }
}
