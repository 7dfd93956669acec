/// How a call ended.
package enum CallStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// The upstream answered 2xx and the whole reply reached the client.
    case ok
    /// The upstream answered an error status, or could not be reached, after all retries and fallbacks.
    case upstreamError = "upstream_error"
    /// The proxy refused the request: bad JSON, unknown model, bad key, too large, wrong path.
    case clientError = "client_error"
    /// A connect or total timeout fired.
    case timeout
    /// The client went away before the reply was complete.
    case cancelled
    /// The upstream stream ended early (cut mid-way).
    case interrupted
}

/// Where a call's token counts came from.
package enum UsageSource: String, Sendable, Hashable, Codable {
    case upstream
    /// No usage reached the proxy (stream cut, client gone, error): the call is recorded, never priced at zero.
    case missing
}

/// One proxied client call, as the proxy hands it to the ledger. Costs are computed by the ledger from its price book.
package struct UsageEvent: Sendable, Hashable, Codable {
    /// The call's id, reserved before the response starts (sent as `x-ledger-call-id`).
    package var id: Int64
    /// Microseconds since 1970-01-01T00:00:00Z.
    package var startedAtMicros: Int64
    package var finishedAtMicros: Int64
    /// "/v1/chat/completions", "/v1/embeddings", ...
    package var endpoint: String
    package var requestedModel: String?
    /// The model after routing (the one that was priced).
    package var model: String?
    /// The configured provider's name ("holysheep", "official").
    package var provider: String?
    /// The price list that applies to what was paid at `provider`.
    package var providerKind: ProviderKind?
    package var stream: Bool
    package var status: CallStatus
    package var httpStatus: Int?
    package var errorType: String?
    package var attempts: Int
    package var fallbackUsed: Bool
    /// `nil` when the upstream never reported usage (`usage_source = missing`).
    package var usage: TokenUsage?
    package var latencyMicros: Int64
    package var upstreamLatencyMicros: Int64?
    package var timeToFirstTokenMicros: Int64?
    package var queueWaitMicros: Int64?
    package var inflightAtAdmission: Int?
    package var keyID: Int64?
    package var team: String?
    /// "project=atlas,env=prod" as the client sent it in `X-Ledger-Tags`, normalised.
    package var tags: String?
    package var upstreamRequestID: String?
    /// The model id sent upstream (the provider's `model_map` name for the model), nil when the call never went
    /// upstream.
    package var upstreamModel: String? = nil

    package init(
        id: Int64, startedAtMicros: Int64, finishedAtMicros: Int64, endpoint: String, requestedModel: String? = nil,
        model: String? = nil, provider: String? = nil, providerKind: ProviderKind? = nil, stream: Bool = false,
        status: CallStatus, httpStatus: Int? = nil, errorType: String? = nil, attempts: Int = 1,
        fallbackUsed: Bool = false, usage: TokenUsage? = nil, latencyMicros: Int64,
        upstreamLatencyMicros: Int64? = nil, timeToFirstTokenMicros: Int64? = nil, queueWaitMicros: Int64? = nil,
        inflightAtAdmission: Int? = nil, keyID: Int64? = nil, team: String? = nil, tags: String? = nil,
        upstreamRequestID: String? = nil
    ) {
        self.id = id
        self.startedAtMicros = startedAtMicros
        self.finishedAtMicros = finishedAtMicros
        self.endpoint = endpoint
        self.requestedModel = requestedModel
        self.model = model
        self.provider = provider
        self.providerKind = providerKind
        self.stream = stream
        self.status = status
        self.httpStatus = httpStatus
        self.errorType = errorType
        self.attempts = attempts
        self.fallbackUsed = fallbackUsed
        self.usage = usage
        self.latencyMicros = latencyMicros
        self.upstreamLatencyMicros = upstreamLatencyMicros
        self.timeToFirstTokenMicros = timeToFirstTokenMicros
        self.queueWaitMicros = queueWaitMicros
        self.inflightAtAdmission = inflightAtAdmission
        self.keyID = keyID
        self.team = team
        self.tags = tags
        self.upstreamRequestID = upstreamRequestID
    }
}
