import LedgerCore
import LedgerStore
import Logging
import PostgresNIO

/// Loads the `price` table into the SQLite store's `PriceBook` (LedgerStore): the same value, the same selection
/// rules (base series, long-context and service tiers) and the same costing (`CallRecord.costing`), so a call costs
/// the same to the pico-USD in either store.
package enum PostgresPriceBook {
    static func load(_ connection: PostgresConnection, logger: Logger) async throws -> PriceBook {
        let result = try await connection.query(PostgresQuery(unsafeSQL: PriceBook.selectSQL), logger: logger)
        var all: [PriceBook.Row] = []
        for try await row in result {
            let c = row.makeRandomAccess()
            guard let kind = ProviderKind(rawValue: try c[1].decode(String.self)) else { continue }
            let tier = try c[13].decode(String.self)
            all.append(
                PriceBook.Row(
                    id: try c[0].decode(Int64.self), kind: kind, model: try c[2].decode(String.self),
                    price: ModelPrice(
                        input: try c[3].decode(Int64.self), cachedInput: try c[4].decode(Int64.self),
                        output: try c[5].decode(Int64.self), cacheWriteInput: try c[8].decode(Int64?.self),
                        cacheWrite1hInput: try c[9].decode(Int64?.self), inputAudio: try c[10].decode(Int64?.self),
                        outputAudio: try c[11].decode(Int64?.self)),
                    effectiveFromMicros: try c[6].decode(Int64.self), source: try c[7].decode(String.self),
                    minPromptTokens: try c[12].decode(Int64.self), serviceTier: tier.isEmpty ? nil : tier))
        }
        return PriceBook(rows: all)
    }
}
