import LedgerCore

/// The outcome of one batch line, written as one JSONL output line in input order.
package struct BatchResult: Sendable, Hashable {
    package var line: Int
    package var customID: String?
    package var requestedModel: String?
    /// The model after routing.
    package var model: String?
    package var provider: String?
    package var httpStatus: Int?
    package var attempts: Int
    package var fallbackUsed: Bool
    package var latencyMicros: Int64?
    /// The ledger row's id, when the call was recorded.
    package var callID: Int64?
    /// The upstream reply's JSON, embedded as is (as a string if it is not valid JSON).
    package var responseJSON: String?
    /// Nil on success.
    package var errorMessage: String?
    package var errorCode: String?
    /// Why a line never reached the router (malformed input, cancelled): the CLI names its wire code.
    package var failure: RoutingError?

    package init(
        line: Int, customID: String? = nil, requestedModel: String? = nil, model: String? = nil,
        provider: String? = nil, httpStatus: Int? = nil, attempts: Int = 0, fallbackUsed: Bool = false,
        latencyMicros: Int64? = nil, callID: Int64? = nil, responseJSON: String? = nil, errorMessage: String? = nil,
        errorCode: String? = nil
    ) {
        self.line = line
        self.customID = customID
        self.requestedModel = requestedModel
        self.model = model
        self.provider = provider
        self.httpStatus = httpStatus
        self.attempts = attempts
        self.fallbackUsed = fallbackUsed
        self.latencyMicros = latencyMicros
        self.callID = callID
        self.responseJSON = responseJSON
        self.errorMessage = errorMessage
        self.errorCode = errorCode
    }

    /// A failed line that never reached the router (malformed input).
    package init(line: Int, error: RoutingError) {
        self.init(line: line, errorMessage: error.description)
        self.failure = error
    }

    package var succeeded: Bool { errorMessage == nil }
}
