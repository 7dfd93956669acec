import GRDB
import GRDBSQLite
package import LedgerCore
import Synchronization

/// Verifies client secrets on the proxy's request path: KeyStore's check (indexed lookup by prefix, salted SHA-256,
/// constant-time compare, revoked keys refused) on a dedicated read-only SQLite connection with one prepared
/// statement, through the C API.
///
/// Every verification reads the table (no cache), so a `keys revoke` from any process takes effect on the next
/// request. Through GRDB's pool the same read cost ~55 us per call at concurrency 1 and ~18 us at 64 on a 2-core VM
/// (ProxyBench under perf: the pool's dispatch queue, row decoding and the read transaction's BEGIN/COMMIT); one
/// statement in autocommit is one implicit read transaction.
///
/// The salted SHA-256 of a secret is computed once per key and secret: a secret that matched a key's digest is
/// remembered with that key's salt and digest, and the next request with the same secret, whose row (still read on
/// every request) has the same salt and digest, is compared with it in constant time instead of hashed again
/// (~12,000 instructions per call, bench/callgrind.py). A revoked key has no row, so it fails as before.
///
/// An in-memory ledger (tests) has no file to open a second connection on: it is verified through `KeyStore`.
package final class KeyVerifier: ClientKeyVerifier {
    private let lookup: Lookup?
    private let fallback: KeyStore
    private let verified = Mutex<[Int64: Verified]>([:])

    /// A secret that matched a key's salted digest.
    private struct Verified {
        var secret: [UInt8]
        var salt: [UInt8]
        var digest: [UInt8]
    }

    /// At most this many keys are remembered (then the memory starts over): a bound on what wrong guesses cannot
    /// grow anyway (only a secret that matched is remembered, one per key).
    static let rememberedKeys = 4096

    /// - Throws: `LedgerStoreError.database` when the ledger file cannot be opened read-only.
    package init(database: LedgerDatabase) throws {
        fallback = KeyStore(database: database)
        let path = database.writer.path
        if path.isEmpty || path == ":memory:" || path.hasPrefix("file::memory:") {
            lookup = nil
        } else {
            lookup = try Lookup(path: path)
        }
    }

    package func verify(secret: String) async -> ClientIdentity? {
        guard let lookup else { return await fallback.verify(secret: secret) }
        guard let prefix = KeyStore.lookupPrefix(of: secret), let row = lookup.find(prefix: prefix) else { return nil }
        let identity = ClientIdentity(keyID: row.id, name: row.name, team: row.team)
        let bytes = Array(secret.utf8)
        let known = verified.withLock { verified -> Bool in
            guard let entry = verified[row.id], entry.salt == row.salt, entry.digest == row.digest else { return false }
            return SHA256.constantTimeEqual(entry.secret, bytes)
        }
        if known { return identity }
        guard SHA256.constantTimeEqual(SHA256.hash(row.salt + bytes), row.digest) else { return nil }
        verified.withLock { verified in
            if verified.count >= Self.rememberedKeys { verified.removeAll() }
            verified[row.id] = Verified(secret: bytes, salt: row.salt, digest: row.digest)
        }
        return identity
    }

    /// The connection and its prepared statement, used one caller at a time (its lock): the one unchecked-Sendable
    /// type here, for the C pointers.
    private final class Lookup: @unchecked Sendable {
        struct Row {
            var id: Int64
            var name: String
            var team: String?
            var salt: [UInt8]
            var digest: [UInt8]
        }

        private let connection: OpaquePointer
        private let statement: OpaquePointer
        private let lock = Mutex(())

        init(path: String) throws {
            var connection: OpaquePointer?
            let flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
            guard sqlite3_open_v2(path, &connection, flags, nil) == SQLITE_OK, let connection else {
                let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
                sqlite3_close(connection)
                throw LedgerStoreError.database("cannot open the ledger to verify keys: \(message)")
            }
            sqlite3_busy_timeout(connection, 1000)
            var statement: OpaquePointer?
            guard sqlite3_prepare_v3(connection, KeyStore.lookupSQL, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
                == SQLITE_OK, let statement
            else {
                let message = String(cString: sqlite3_errmsg(connection))
                sqlite3_close(connection)
                throw LedgerStoreError.database("cannot prepare the key lookup: \(message)")
            }
            self.connection = connection
            self.statement = statement
        }

        deinit {
            sqlite3_finalize(statement)
            sqlite3_close(connection)
        }

        /// The unrevoked key with this lookup prefix, if any (a database error reads as no key).
        func find(prefix: String) -> Row? {
            lock.withLock { _ in findLocked(prefix: prefix) }
        }

        private func findLocked(prefix: String) -> Row? {
            defer {
                sqlite3_reset(statement)
                sqlite3_clear_bindings(statement)
            }
            guard sqlite3_bind_text(statement, 1, prefix, -1, StatementBinder.transient) == SQLITE_OK,
                sqlite3_step(statement) == SQLITE_ROW
            else { return nil }
            return Row(
                id: sqlite3_column_int64(statement, 0), name: text(1) ?? "", team: text(2), salt: blob(3),
                digest: blob(4))
        }

        private func text(_ column: Int32) -> String? {
            guard sqlite3_column_type(statement, column) != SQLITE_NULL, let bytes = sqlite3_column_text(statement, column)
            else { return nil }
            return String(cString: bytes)
        }

        private func blob(_ column: Int32) -> [UInt8] {
            let count = Int(sqlite3_column_bytes(statement, column))
            guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return [] }
            return Array(UnsafeRawBufferPointer(start: bytes, count: count))
        }
    }
}
