import Hummingbird
package import LedgerRouting

/// `holysheep-ledger ping`: one tiny request straight to a provider in its own dialect (chat completion, Anthropic
/// Message or Response) with its own auth, outside the pool and the ledger.
package enum ProviderPing {
    /// Sends `target` to `provider` and describes what came back (reply and latency, or a diagnosis).
    package static func send(
        _ target: PingTarget, provider: ProviderConfiguration, upstream: some UpstreamClient
    ) async -> PingResult {
        guard let key = provider.apiKey else {
            return PingResult(
                provider: target.provider, model: target.model, latencyMicros: 0, reply: nil,
                error: .invalidSetting(
                    key: provider.keyVariables, value: "",
                    reason: "no API key for provider '\(provider.name)': set this environment variable"))
        }
        let start = ContinuousClock.now
        func elapsed() -> Int64 { DurationText.microseconds(ContinuousClock.now - start) }
        do {
            let response = try await upstream.send(
                UpstreamRequest(
                    method: "POST", url: provider.baseURL + target.path,
                    headers: headers(provider, key: key, dialect: target.dialect),
                    body: ByteBuffer(string: target.body), connectTimeout: provider.connectTimeout,
                    totalTimeout: provider.timeout))
            let body = try await response.collectBody(upTo: 1 << 20)
            return PingResult(
                provider: target.provider, model: target.model, latencyMicros: elapsed(), status: response.status,
                body: String(buffer: body), dialect: target.dialect)
        } catch let error as UpstreamError {
            return PingResult(
                provider: target.provider, model: target.model, latencyMicros: elapsed(),
                failure: attemptFailure(error))
        } catch {
            return PingResult(
                provider: target.provider, model: target.model, latencyMicros: elapsed(),
                failure: AttemptFailure(.connect("\(error)")))
        }
    }

    /// The provider's auth, the JSON content type and, for Messages, the API version.
    static func headers(_ provider: ProviderConfiguration, key: String, dialect: WireDialect) -> [(
        name: String, value: String
    )] {
        var configured = provider
        configured.apiKey = key
        var headers = ProxyController.authHeaders(configured, dialect: dialect)
        headers.append(("Content-Type", "application/json"))
        if dialect == .anthropic { headers.append(("anthropic-version", MessagesAdapter.defaultVersion)) }
        return headers
    }

    /// An upstream client error as routing sees it.
    package static func attemptFailure(_ error: UpstreamError) -> AttemptFailure {
        switch error {
        case .connectFailed(_, let detail): AttemptFailure(.connect(detail))
        case .connectTimeout(_, let after): AttemptFailure(.timeout(.connect, limit: after))
        case .timeout(_, let after): AttemptFailure(.timeout(.total, limit: after))
        case .idleTimeout(_, let after): AttemptFailure(.timeout(.idle, limit: after))
        case .interrupted(_, let detail): AttemptFailure(.connect("connection broken: \(detail)"))
        case .bodyTooLarge(let limit): AttemptFailure(.malformedResponse("the reply exceeds \(limit) bytes"))
        case .cancelled, .curl, .shutDown: AttemptFailure(.connect("\(error)"))
        }
    }
}
