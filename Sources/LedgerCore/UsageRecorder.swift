/// Where the proxy records calls. `LedgerStore.LedgerWriter` implements it over SQLite; tests may use a fake.
package protocol UsageRecorder: Sendable {
    /// A fresh call id, unique in this ledger, to send as `x-ledger-call-id` before the call is recorded.
    func reserveCallID() -> Int64

    /// Records one call and returns only once its row is durably committed: acknowledged means recorded.
    func record(_ event: UsageEvent) async throws

    /// Records one call like ``record(_:)`` and returns the paid cost the ledger computed for its row (pico-USD;
    /// nil when the row is unpriced or has no usage), so metrics never cost a call differently from the ledger.
    func recordCosted(_ event: UsageEvent) async throws -> Int64?

    /// Records like ``recordCosted(_:)``, told whether other calls are in progress in this process (the proxy's
    /// count of calls between their request and their record). A recorder may commit a lone call at once on the
    /// caller's thread, and queue one with company so it shares a transaction with theirs.
    func recordCosted(_ event: UsageEvent, othersInProgress: Bool) async throws -> Int64?

    /// Nil while the ledger commits; otherwise why its last commit failed. While it fails the proxy refuses new
    /// calls before any upstream request. Asking may probe the ledger (rate-limited), so the answer turns nil by
    /// itself once space or permissions come back.
    func commitFailure() async -> String?
}

extension UsageRecorder {
    /// Records without a cost: recorders that do not price rows.
    package func recordCosted(_ event: UsageEvent) async throws -> Int64? {
        try await record(event)
        return nil
    }

    /// Recorders that commit every row the same way, alone or not.
    package func recordCosted(_ event: UsageEvent, othersInProgress: Bool) async throws -> Int64? {
        try await recordCosted(event)
    }

    /// Recorders that cannot fail to commit.
    package func commitFailure() async -> String? { nil }
}

/// What the proxy needs to know about prices: whether a model is priced, and at what (for metrics and checks).
package protocol PriceLookup: Sendable {
    /// The price in effect at `micros` for `model` on the `kind` list, or nil when none is.
    func price(model: String, kind: ProviderKind, atMicros micros: Int64) -> ModelPrice?

    /// Every model with a price on either list at `micros` (for `/v1/models`).
    func models(atMicros micros: Int64) -> [String]
}

/// Who is calling: the ledger's client key a bearer secret belongs to.
package struct ClientIdentity: Sendable, Hashable {
    package var keyID: Int64
    package var name: String
    package var team: String?

    package init(keyID: Int64, name: String, team: String?) {
        self.keyID = keyID
        self.name = name
        self.team = team
    }
}

/// What a key check found.
package enum KeyVerdict: Sendable, Equatable {
    case valid(ClientIdentity)
    /// Unknown, revoked or wrong: the client's 401.
    case invalid
    /// The key could not be looked up (the ledger's server unreachable): not a wrong key, the ledger's 503, whatever
    /// the ledger's state by the time the caller looks (a server back a moment later must not turn it into a 401).
    case unverifiable(reason: String)

    /// The verdict of a lookup that completed: valid with the key's identity, invalid without one.
    package init(found identity: ClientIdentity?) {
        self = identity.map { .valid($0) } ?? .invalid
    }
}

/// Checks client bearer secrets (`hsl-…`). LedgerStore implements it over the `api_key` table.
package protocol ClientKeyVerifier: Sendable {
    /// The identity of a valid, unrevoked secret; nil otherwise. Compares hashes in constant time.
    func verify(secret: String) async -> ClientIdentity?
    /// As `verify`, telling a key that could not be looked up from a wrong one. The default calls `verify` (a
    /// verifier whose lookups cannot fail on their own).
    func check(secret: String) async -> KeyVerdict
}

extension ClientKeyVerifier {
    package func check(secret: String) async -> KeyVerdict {
        KeyVerdict(found: await verify(secret: secret))
    }
}
