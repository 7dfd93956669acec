package import LedgerCore
import GRDB
package import Logging
package import ServiceLifecycle
import Synchronization

/// Records calls into the ledger: `UsageRecorder` for the proxy, `Service` for the server's service group.
///
/// INTERIM: inserts each call in its own transaction. The store work replaces the internals with a group-commit
/// queue (STYLE.md §6) without changing this API.
package final class LedgerWriter: UsageRecorder, Service {
    private let database: LedgerDatabase
    private let logger: Logger
    private let nextID: Mutex<Int64>

    /// - Parameters:
    ///   - database: the open ledger.
    ///   - logger: where the writer logs (never call contents).
    package init(database: LedgerDatabase, logger: Logger) throws {
        self.database = database
        self.logger = logger
        let maxID = try database.writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM call") ?? 0
        }
        self.nextID = Mutex(maxID + 1)
    }

    package func reserveCallID() -> Int64 {
        nextID.withLock { id in
            defer { id += 1 }
            return id
        }
    }

    package func record(_ event: UsageEvent) async throws {
        try database.insert([event])
    }

    /// Runs until graceful shutdown, then drains what is queued.
    package func run() async throws {
        try await gracefulShutdown()
    }
}
