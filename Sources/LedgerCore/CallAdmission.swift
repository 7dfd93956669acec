/// What the proxy asks before a call goes upstream, and tells after its row is recorded: the seam between the
/// request pipeline (LedgerProxy) and spend budgets. The pipeline knows nothing about budgets; it only calls
/// ``CallAdmission/admit(_:)`` once per call after authentication and routing, before any upstream request, and
/// ``CallAdmission/settle(_:paidPico:)`` once after the call's row committed (whatever its status).
package protocol CallAdmission: Sendable {
    /// Admits the call, holding whatever it reserves, or refuses it (the pipeline answers 429 in the caller's
    /// dialect with the refusal's message, records the call as client_error with that reason, and never goes
    /// upstream).
    func admit(_ request: AdmissionRequest) async throws(AdmissionRefusal) -> Admission

    /// The call's row is committed: `paidPico` is the exact paid cost the ledger computed for it, or nil when its
    /// usage never arrived (a cut stream, an upstream failure before any usage): the implementation decides what
    /// a missing cost means for what it reserved.
    func settle(_ admission: Admission, paidPico: Int64?) async
}

/// One call as admission sees it, before it goes upstream.
package struct AdmissionRequest: Sendable, Hashable {
    package var keyID: Int64
    package var team: String?
    /// The call's tags as recorded (`name=value` pairs, comma-separated, normalised), or nil.
    package var tags: String?
    /// The model the call is priced as (after routing).
    package var model: String
    /// Bytes of the request body: an upper bound for its input tokens.
    package var bodyBytes: Int
    /// The request's output cap (`max_tokens`, `max_completion_tokens`, `max_output_tokens`), when it names one.
    package var maxOutputTokens: Int64?
    /// When the call started (UTC micros since 1970).
    package var atMicros: Int64

    package init(
        keyID: Int64, team: String?, tags: String?, model: String, bodyBytes: Int, maxOutputTokens: Int64?,
        atMicros: Int64
    ) {
        self.keyID = keyID
        self.team = team
        self.tags = tags
        self.model = model
        self.bodyBytes = bodyBytes
        self.maxOutputTokens = maxOutputTokens
        self.atMicros = atMicros
    }
}

/// An admitted call: what it holds (opaque to the pipeline) and the response headers to add.
package struct Admission: Sendable, Hashable {
    /// Opaque to the pipeline; handed back to ``CallAdmission/settle(_:paidPico:)``.
    package var holds: [Int64]
    /// Headers for the client's response (e.g. `x-ledger-budget-remaining-usd`).
    package var headers: [String: String]

    package init(holds: [Int64] = [], headers: [String: String] = [:]) {
        self.holds = holds
        self.headers = headers
    }

    /// Nothing held, nothing to add: what the pipeline uses when no admission is configured.
    package static let open = Admission()
}

/// A refused call: the message names the limit and when it resets.
package struct AdmissionRefusal: Error, Sendable, Hashable {
    package var message: String

    package init(message: String) { self.message = message }
}
