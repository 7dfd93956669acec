/// Where the proxy records calls. `LedgerStore.LedgerWriter` implements it over SQLite; tests may use a fake.
package protocol UsageRecorder: Sendable {
    /// A fresh call id, unique in this ledger, to send as `x-ledger-call-id` before the call is recorded.
    func reserveCallID() -> Int64

    /// Records one call and returns only once its row is durably committed: acknowledged means recorded.
    func record(_ event: UsageEvent) async throws
}

/// What the proxy needs to know about prices: whether a model is priced, and at what (for metrics and checks).
package protocol PriceLookup: Sendable {
    /// The price in effect at `micros` for `model` on the `kind` list, or nil when none is.
    func price(model: String, kind: ProviderKind, atMicros micros: Int64) -> ModelPrice?
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

/// Checks client bearer secrets (`hsl-…`). LedgerStore implements it over the `api_key` table.
package protocol ClientKeyVerifier: Sendable {
    /// The identity of a valid, unrevoked secret; nil otherwise. Compares hashes in constant time.
    func verify(secret: String) async -> ClientIdentity?
}
