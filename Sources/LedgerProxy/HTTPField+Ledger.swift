package import HTTPTypes

extension HTTPField.Name {
    /// The call's row id in the ledger.
    package static let ledgerCallID = Self("x-ledger-call-id")!
    /// Milliseconds from the request's arrival to the response head (the header the migration guide reads).
    package static let latencyMilliseconds = Self("x-latency-ms")!
    /// The provider that served the call.
    package static let ledgerProvider = Self("x-ledger-provider")!
    /// Attribution tags: `project=atlas,env=prod`.
    package static let ledgerTags = Self("x-ledger-tags")!
    /// The task type that routes `auto` models ("code", "analysis", "fast", ...).
    package static let xTaskType = Self("x-task-type")!
    /// The request's queue priority, 1 (lowest) to 5.
    package static let xPriority = Self("x-priority")!
}

extension HTTPField.Name {
    /// Anthropic's API version, forwarded upstream.
    package static let anthropicVersion = Self("anthropic-version")!
    /// Anthropic's beta features, forwarded upstream.
    package static let anthropicBeta = Self("anthropic-beta")!
    /// The Anthropic SDK's key header; the proxy accepts a ledger key here too.
    package static let xAPIKey = Self("x-api-key")!
    /// The model id sent to the provider that answered (the row records the model priced).
    package static let ledgerUpstreamModel = Self("x-ledger-upstream-model")!
}

extension HTTPFields {
    /// The first value of `name`, or nil. For single-valued headers on the request path: HTTPFields' subscript
    /// builds the comma-joined string of every value for each present header (about 3,500 instructions per lookup,
    /// bench/callgrind.py), and a repeated single-valued header is no list to join anyway.
    package func first(_ name: HTTPField.Name) -> String? {
        guard let index = firstIndex(where: { $0.name == name }) else { return nil }
        return self[index].value
    }
}
