/// Why a routed upstream call failed, or why routing settings were refused. Messages are for operators and clients:
/// they name the provider and its base URL but never a key, a prompt or a completion.
package enum RoutingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The provider answered 401 or 403: its key or base URL is wrong.
    case upstreamAuthentication(provider: String, baseURL: String, status: Int)
    /// A timeout fired on every attempt allowed at the provider that failed last.
    case upstreamTimeout(provider: String, baseURL: String, kind: TimeoutKind, limit: Duration, attempts: Int)
    /// The provider answered a status that is not retried (400, 404, ...), or retries ran out on one that is.
    case upstreamStatus(provider: String, baseURL: String, status: Int, attempts: Int)
    /// The provider could not be reached on any attempt.
    case upstreamUnreachable(provider: String, baseURL: String, reason: String, attempts: Int)
    /// The provider's reply could not be understood.
    case upstreamMalformed(provider: String, baseURL: String, reason: String)
    /// The reply failed after bytes had reached the client, so it could be neither retried nor fallen back from.
    case failedAfterBytesSent(provider: String, baseURL: String, failure: String)
    /// Every provider in the chain has an open circuit; the earliest reopens in `retryAfter`.
    case circuitOpen(providers: [String], retryAfter: Duration)
    /// The priority queue is full.
    case queueFull(limit: Int, retryAfter: Duration)
    /// The request waited in the priority queue longer than the queue timeout.
    case queueTimeout(waited: Duration, retryAfter: Duration)
    /// The model has no providers to try.
    case emptyChain(model: String)
    /// Providers are configured for the model's chain, but none serves this model in this wire dialect.
    case modelNotServed(model: String, dialect: String, providers: [String])
    /// The client went away (its task was cancelled) before an answer.
    case cancelled
    /// `X-Priority` or `metadata.priority` is not a whole number from 1 to 5.
    case invalidPriority(String)
    /// A routing setting has a value that cannot be used.
    case invalidSetting(key: String, value: String, reason: String)
    /// A routing setting's key is not known (a typo would otherwise be ignored silently).
    case unknownSetting(key: String)
    /// A line of a batch file is not a usable chat request.
    case malformedBatchLine(line: Int, reason: String)

    package var description: String {
        switch self {
        case .upstreamAuthentication(let provider, let baseURL, let status):
            "provider '\(provider)' at \(baseURL) answered \(status) \(status == 401 ? "Unauthorized" : "Forbidden"): "
                + "check the API key configured for '\(provider)' and its base_url"
        case .upstreamTimeout(let provider, let baseURL, let kind, let limit, let attempts):
            "the \(kind.rawValue.replacingUnderscores()) timeout (\(DurationText.format(limit))) fired at provider "
                + "'\(provider)' (\(baseURL)) after \(attempts) attempt\(attempts == 1 ? "" : "s"): "
                + "check the provider's status or raise its \(kind.rawValue) timeout"
        case .upstreamStatus(let provider, let baseURL, let status, let attempts):
            "provider '\(provider)' at \(baseURL) answered \(status) after \(attempts) attempt\(attempts == 1 ? "" : "s")"
        case .upstreamUnreachable(let provider, let baseURL, let reason, let attempts):
            "provider '\(provider)' at \(baseURL) could not be reached after \(attempts) attempt"
                + "\(attempts == 1 ? "" : "s") (\(reason)): check its base_url and the network"
        case .upstreamMalformed(let provider, let baseURL, let reason):
            "provider '\(provider)' at \(baseURL) sent a reply that could not be read: \(reason)"
        case .failedAfterBytesSent(let provider, let baseURL, let failure):
            "provider '\(provider)' at \(baseURL) failed after the reply had started (\(failure)); "
                + "it was not retried because part of it already reached the client"
        case .circuitOpen(let providers, let retryAfter):
            "every provider for this model is temporarily skipped after repeated failures ("
                + providers.joined(separator: ", ") + "); retry in \(DurationText.format(retryAfter))"
        case .queueFull(let limit, let retryAfter):
            "too many requests are waiting for an upstream slot (queue limit \(limit)); "
                + "retry in \(DurationText.format(retryAfter))"
        case .queueTimeout(let waited, let retryAfter):
            "no upstream slot became free within \(DurationText.format(waited)); "
                + "retry in \(DurationText.format(retryAfter))"
        case .emptyChain(let model): "no provider is configured for model '\(model)'"
        case .modelNotServed(let model, let dialect, let providers):
            "no configured provider serves model '\(model)' in the \(dialect) dialect (considered: "
                + (providers.isEmpty ? "none" : providers.joined(separator: ", "))
                + "); each [provider] lists what it serves in `models` and `dialects`, and this proxy does not "
                + "translate between dialects"
        case .cancelled: "the request was cancelled"
        case .invalidPriority(let text): "priority must be a whole number from 1 to 5 (got '\(text)')"
        case .invalidSetting(let key, let value, let reason): "setting \(key) = '\(value)': \(reason)"
        case .unknownSetting(let key): "unknown routing setting '\(key)'"
        case .malformedBatchLine(let line, let reason): "line \(line): \(reason)"
        }
    }

    /// Whole seconds for a `Retry-After` header, when the client should come back later.
    package var retryAfterSeconds: Int? {
        switch self {
        case .circuitOpen(_, let wait), .queueFull(_, let wait), .queueTimeout(_, let wait):
            DurationText.wholeSecondsRoundingUp(wait)
        default: nil
        }
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        String(map { $0 == "_" ? " " : $0 })
    }
}

/// Formats durations for messages ("30 s", "250 ms", "1.5 s") without Foundation.
package enum DurationText {
    /// A short human form: whole seconds as "N s", otherwise milliseconds or tenths of seconds.
    package static func format(_ duration: Duration) -> String {
        let millis = milliseconds(duration)
        if millis % 1000 == 0 { return "\(millis / 1000) s" }
        if millis < 1000 { return "\(millis) ms" }
        let tenths = (millis + 50) / 100
        return "\(tenths / 10).\(tenths % 10) s"
    }

    /// Whole milliseconds, truncated.
    package static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Whole microseconds, truncated (the ledger's unit).
    package static func microseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    /// Whole seconds, rounded up, at least 1: what a `Retry-After` header carries.
    package static func wholeSecondsRoundingUp(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
    }
}
