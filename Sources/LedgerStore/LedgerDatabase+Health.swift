import GRDB

extension LedgerDatabase {
    /// True when the ledger can take the write lock right now (for `/healthz`): `BEGIN IMMEDIATE` then rollback,
    /// so nothing is written.
    package func isWritable() -> Bool {
        do {
            try writer.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                try db.execute(sql: "ROLLBACK")
            }
            return true
        } catch {
            return false
        }
    }
}
