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
}
