/// Which timeout fired. The proxy's upstream client knows; the diagnosis names it with its value.
package enum TimeoutKind: String, Sendable, Hashable {
    /// Establishing the TCP/TLS connection to the provider.
    case connect
    /// The whole upstream transfer, from request to last byte.
    case total
    /// Waiting for the first byte of the upstream response.
    case firstByte = "first_byte"
    /// A streamed response's longest silence: before its first byte or between two chunks.
    case idle
}

/// Why one upstream attempt failed, as the proxy observed it.
package enum AttemptFailureKind: Sendable, Hashable {
    /// The provider answered with an HTTP error status.
    case status(Int)
    /// The connection could not be made or was reset before a response arrived.
    case connect(String)
    /// A timeout fired; `limit` is the configured value.
    case timeout(TimeoutKind, limit: Duration)
    /// The provider answered 2xx but the body could not be understood (malformed JSON, cut stream).
    case malformedResponse(String)
}

/// One failed upstream attempt: what went wrong and, for 429/503, how long the provider asked us to wait.
package struct AttemptFailure: Sendable, Hashable, CustomStringConvertible {
    package var kind: AttemptFailureKind
    /// The provider's `Retry-After`, already parsed (see ``RetryAfter/parse(_:nowMicros:)``).
    package var retryAfter: Duration?

    package init(_ kind: AttemptFailureKind, retryAfter: Duration? = nil) {
        self.kind = kind
        self.retryAfter = retryAfter
    }

    /// Shorthand for an HTTP status failure.
    package static func status(_ code: Int, retryAfter: Duration? = nil) -> AttemptFailure {
        AttemptFailure(.status(code), retryAfter: retryAfter)
    }

    /// The HTTP status, when the provider answered one.
    package var httpStatus: Int? {
        if case .status(let code) = kind { return code }
        return nil
    }

    package var description: String {
        switch kind {
        case .status(let code): "HTTP \(code)"
        case .connect(let reason): "connection failed: \(reason)"
        case .timeout(let which, let limit): "\(which.rawValue) timeout (\(DurationText.format(limit))) fired"
        case .malformedResponse(let reason): "malformed response: \(reason)"
        }
    }
}

/// What one call of the proxy's `attempt(provider)` closure reports back to ``ResilientCall``.
///
/// The orchestrator, not the closure, decides whether a failure is retried: ``RetryPolicy`` classifies it, so the
/// retryable statuses stay configurable in one place.
package enum AttemptOutcome<Response: Sendable>: Sendable {
    /// The provider answered successfully; `Response` is whatever the proxy needs to finish the call.
    case success(Response)
    /// Nothing reached the client yet. `response` is the provider's error reply, passed through unchanged if this
    /// failure ends up final (nil for connect errors and timeouts).
    case failure(AttemptFailure, response: Response?)
    /// The attempt failed after at least one byte reached the client: never retried, never fallen back from.
    case failedAfterBytesSent(AttemptFailure, response: Response?)
}
