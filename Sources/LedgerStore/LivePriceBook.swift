import GRDB
package import LedgerCore
import Synchronization

/// The price book as the ledger holds it now, for a process that keeps running while prices change (`serve`): the
/// proxy's model check, `/v1/models` and anything else that asks read it, and a `prices set` or `prices import`
/// from any process applies within ``refreshInterval`` (well under a second).
///
/// A caller that finds the book older than ``refreshInterval`` reads `PRAGMA data_version` on this object's own
/// read-only connection (it changes when another connection commits; one cheap statement). The ledger writer
/// commits calls all the time, so a moved version only means something was written: the price table's count and
/// highest id (prices are only ever added at run time, so they change exactly when a price does) decide whether
/// the book is reloaded. A price changed through this `LedgerDatabase` reloads it too. One caller refreshes at a time;
/// the others keep reading the book they have. The book is a value behind a lock, swapped whole.
///
/// Costs are not computed from this book: the ledger writer prices each row inside its own transaction, and the
/// proxy's metrics take the cost the writer recorded.
package final class LivePriceBook: PriceLookup {
    private struct State {
        var book: PriceBook
        var stamp: Stamp
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
    private let loads = Atomic<Int>(1)

    /// How many times the whole book has been read (1 at start): a reload only when prices changed.
    package var bookLoads: Int { loads.load(ordering: .relaxed) }

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
            let (stamp, book) = try Self.read(reader: reader, database: database, known: nil)
            state = Mutex(State(book: book ?? PriceBook(rows: []), stamp: stamp, localChanges: local, checkedAt: .now))
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
            (now - s.checkedAt >= Self.refreshInterval, s.stamp, s.localChanges)
        }
        let changedHere = database.priceChanges.current != local
        guard stale || changedHere else { return }
        guard refreshing.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return }
        defer { refreshing.store(false, ordering: .releasing) }
        let localNow = database.priceChanges.current
        do {
            let (stamp, book) = try Self.read(reader: reader, database: database, known: changedHere ? nil : known)
            state.withLock { s in
                s.checkedAt = now
                s.stamp = stamp
                s.localChanges = localNow
                if let book {
                    s.book = book
                    loads.add(1, ordering: .relaxed)
                }
            }
        } catch {
            // Keep the book we have; the next caller after the interval tries again.
            state.withLock { $0.checkedAt = now }
        }
    }

    /// What tells whether the prices moved: the connection's data version (any commit), then the price table's
    /// row count and highest id.
    private struct Stamp: Equatable {
        var dataVersion: Int
        var rows: Int64
        var lastID: Int64
    }

    /// The ledger's stamp now and, unless its prices match `known`'s, the whole book.
    private static func read(reader: DatabaseQueue?, database: LedgerDatabase, known: Stamp?) throws
        -> (Stamp, PriceBook?)
    {
        guard let reader else {
            return (Stamp(dataVersion: 0, rows: 0, lastID: 0), try database.writer.read { try PriceBook.load($0) })
        }
        return try reader.inDatabase { db in
            // Cached statements: this runs every `refreshInterval` under traffic, and preparing the aggregate anew
            // each time cost ~80,000 instructions (bench/callgrind.py).
            let version = try Int.fetchOne(db.cachedStatement(sql: "PRAGMA data_version")) ?? 0
            if let known, known.dataVersion == version { return (known, nil) }
            let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT count(*), coalesce(max(id), 0) FROM price"))
            let stamp = Stamp(dataVersion: version, rows: row?[0] ?? 0, lastID: row?[1] ?? 0)
            if let known, known.rows == stamp.rows, known.lastID == stamp.lastID { return (stamp, nil) }
            return (stamp, try PriceBook.load(db))
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
