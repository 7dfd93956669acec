import GRDB
package import LedgerCore

/// A ledger as the commands see it: the SQLite file (`LedgerDatabase`) or a PostgreSQL database
/// (`LedgerPostgres.PostgresBackend`). Keys, prices and rates administration and every report go through this
/// protocol (reports through `ReportStore`), so no command, report or renderer knows which store it has.
/// The proxy's hot path (recording, key checks, prices) goes through LedgerCore's `UsageRecorder`,
/// `ClientKeyVerifier` and `PriceLookup`, which both stores implement.
package protocol LedgerBackend: ReportStore {
    /// Where the ledger is, safe to print and log (a PostgreSQL password is never part of it).
    var location: String { get }

    /// Creates a client key; its secret exists only in the return value.
    func createKey(name: String, team: String?, nowMicros: Int64, admin: Bool) async throws -> (
        key: KeyStore.Key, secret: String
    )
    /// Every key, oldest first, without secrets.
    func listKeys() async throws -> [KeyStore.Key]
    /// Revokes a key from `nowMicros` (refused from the next request on, in every process using the ledger).
    func revokeKey(id: Int64, nowMicros: Int64) async throws
    /// Whether `secret` is an unrevoked admin key: nil when it is no valid key at all.
    func isAdmin(secret: String) async -> Bool?

    /// The whole price book.
    func loadPriceBook() async throws -> PriceBook
    /// Adds price rows, all or none; a row whose series already starts at its date fails the whole call.
    @discardableResult
    func addPrices(_ entries: [PriceBookEntry], nowMicros: Int64) async throws -> [Int64]
    /// Imports a price CSV (`PriceCSV`), all or none.
    @discardableResult
    func importPrices(csv text: String, nowMicros: Int64) async throws -> [PriceBookEntry]
}

extension LedgerBackend {
    /// The rows in effect at `micros` (the latest of each list, model, threshold and tier), or every row with
    /// `history`, in `prices list` order.
    package func priceRows(atMicros micros: Int64, history: Bool) async throws -> [PriceBook.Row] {
        let book = try await loadPriceBook()
        return PriceBook.listOrder(history ? book.allRows : book.rowsInEffect(atMicros: micros))
    }
}

extension PriceBook {
    /// `prices list` order: model, list, tier, threshold, date.
    package static func listOrder(_ rows: [Row]) -> [Row] {
        rows.sorted {
            ($0.model, $0.kind.rawValue, $0.serviceTier ?? "", $0.minPromptTokens, $0.effectiveFromMicros)
                < ($1.model, $1.kind.rawValue, $1.serviceTier ?? "", $1.minPromptTokens, $1.effectiveFromMicros)
        }
    }
}

extension LedgerDatabase: LedgerBackend {
    package var location: String { writer.path }

    package func createKey(name: String, team: String?, nowMicros: Int64, admin: Bool) throws -> (
        key: KeyStore.Key, secret: String
    ) {
        try KeyStore(database: self).create(name: name, team: team, nowMicros: nowMicros, admin: admin)
    }

    package func listKeys() throws -> [KeyStore.Key] { try KeyStore(database: self).list() }

    package func revokeKey(id: Int64, nowMicros: Int64) throws {
        try KeyStore(database: self).revoke(id: id, nowMicros: nowMicros)
    }

    package func isAdmin(secret: String) async -> Bool? { await KeyStore(database: self).isAdmin(secret: secret) }
}
