import GRDB

extension LedgerDatabase {
    /// True when the ledger can take the write lock right now: `BEGIN IMMEDIATE` then rollback, so nothing is
    /// written. Blocks its thread (see ``writeFailure()`` for the async form).
    package func isWritable() -> Bool {
        (try? probeWriteLock()) != nil
    }

    /// Nil when the ledger can take the write lock right now, else SQLite's reason; run off the cooperative pool.
    package func writeFailure() async -> String? {
        do {
            try await SQLiteThread.run { [self] in try probeWriteLock() }
            return nil
        } catch let error as DatabaseError {
            return error.message ?? "\(error.resultCode)"
        } catch {
            return "\(error)"
        }
    }

    private func probeWriteLock() throws {
        try writer.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            try db.execute(sql: "ROLLBACK")
        }
    }
}
