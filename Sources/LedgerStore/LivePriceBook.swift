import GRDB
package import LedgerCore
import Synchronization

/// The price book as the ledger holds it now, for a process that keeps running while prices change (`serve`): the
/// proxy's model check, `/v1/models` and anything else that asks read it, and a `prices set` or `prices import`
/// from any process applies within ``refreshInterval`` (well under a second).
///
/// A caller that finds the book older than ``refreshInterval`` reads `PRAGMA data_version` on this object's own
/// read-only connection (it changes when another connection commits; one cheap statement) and reloads the book
/// only when it moved, or when a price was changed through this `LedgerDatabase`. One caller refreshes at a time;
/// the others keep reading the book they have. The book is a value behind a lock, swapped whole.
///
/// Costs are not computed from this book: the ledger writer prices each row inside its own transaction, and the
/// proxy's metrics take the cost the writer recorded.
package final class LivePriceBook: PriceLookup {
    private struct State {
        var book: PriceBook
        var dataVersion: Int
        var localChanges: Int
        var checkedAt: ContinuousClock.Instant
    }

    /// The longest a change from another process can go unseen.
    package static let refreshInterval = Duration.milliseconds(250)

    private let database: LedgerDatabase
    /// Nil for an in-memory ledger (no file for a second connection): local changes are then the only ones.
    private let reader: DatabaseQueue?
    private let state: Mutex<State>
    private let refreshing = Atomic<Bool>(false)

    /// - Throws: `LedgerStoreError.database` when the ledger cannot be opened read-only or its prices read.
    package init(database: LedgerDatabase) throws {
        self.database = database
        let path = database.writer.path
        do {
            if path.isEmpty || path == ":memory:" || path.hasPrefix("file::memory:") {
                reader = nil
            } else {
                var configuration = Configuration()
                configuration.readonly = true
                configuration.label = "holysheep-ledger.prices"
                reader = try DatabaseQueue(path: path, configuration: configuration)
            }
            let local = database.priceChanges.current
            let (version, book) = try Self.read(reader: reader, database: database, knownVersion: nil)
            state = Mutex(State(book: book ?? PriceBook(rows: []), dataVersion: version, localChanges: local, checkedAt: .now))
        } catch let error as DatabaseError {
            throw LedgerStoreError.database("cannot read the price book: \(error.message ?? "\(error.resultCode)")")
        }
    }

    /// The book now (refreshed first if it is older than ``refreshInterval``).
    package var current: PriceBook {
        refreshIfStale()
        return state.withLock { $0.book }
    }

    package func price(model: String, kind: ProviderKind, atMicros micros: Int64) -> ModelPrice? {
        current.price(model: model, kind: kind, atMicros: micros)
    }

    package func models(atMicros micros: Int64) -> [String] {
        current.models(atMicros: micros)
    }

    private func refreshIfStale() {
        let now = ContinuousClock.now
        let (stale, known, local) = state.withLock { s in
            (now - s.checkedAt >= Self.refreshInterval, s.dataVersion, s.localChanges)
        }
        let changedHere = database.priceChanges.current != local
        guard stale || changedHere else { return }
        guard refreshing.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return }
        defer { refreshing.store(false, ordering: .releasing) }
        let localNow = database.priceChanges.current
        do {
            let (version, book) = try Self.read(
                reader: reader, database: database, knownVersion: changedHere ? nil : known)
            state.withLock { s in
                s.checkedAt = now
                s.dataVersion = version
                s.localChanges = localNow
                if let book { s.book = book }
            }
        } catch {
            // Keep the book we have; the next caller after the interval tries again.
            state.withLock { $0.checkedAt = now }
        }
    }

    /// The connection's data version and, unless it equals `knownVersion`, the whole book.
    private static func read(reader: DatabaseQueue?, database: LedgerDatabase, knownVersion: Int?) throws
        -> (Int, PriceBook?)
    {
        guard let reader else {
            return (0, try database.writer.read { try PriceBook.load($0) })
        }
        return try reader.inDatabase { db in
            let version = try Int.fetchOne(db, sql: "PRAGMA data_version") ?? 0
            if let knownVersion, knownVersion == version { return (version, nil) }
            return (version, try PriceBook.load(db))
        }
    }
}

extension PriceBook {
    /// Every model with a price in effect at `micros` on either list, sorted.
    package func models(atMicros micros: Int64) -> [String] {
        models.filter { model in
            row(model: model, kind: .official, atMicros: micros) != nil
                || row(model: model, kind: .holysheep, atMicros: micros) != nil
        }.sorted()
    }
}
