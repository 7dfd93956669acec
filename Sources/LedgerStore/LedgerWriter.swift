import Dispatch
import Foundation
import GRDB
import GRDBSQLite
package import LedgerCore
package import Logging
import ServiceLifecycle
import Synchronization

/// Records calls into the ledger with group commit: `UsageRecorder` for the proxy, `Service` for the service group.
///
/// `record(_:)` queues the call and returns once the transaction holding its row has committed. `run()` commits
/// whatever has queued, all in one transaction, as soon as it is idle: no timer window, so a lone call commits at
/// once and batches grow only while a commit is in progress (docs/ARCHITECTURE.md, "Concurrency").
///
/// Batches commit on a serial dispatch queue of their own, so GRDB's synchronous transactions do not hold a thread
/// of Swift's cooperative pool while rows keep coming: a call that finds no commit under way queues a drain there,
/// which commits batch after batch while calls keep arriving and ends when none is queued. Callers suspend on a
/// continuation until their batch commits, which is what lets the proxy commit a call's row before it sends the
/// reply's last byte. A drain per idle period rather than a thread sleeping on a semaphore between calls: the round
/// trip of a lone call through a dispatch queue is cheaper than waking a parked thread and being woken back
/// (`ledger-bench handoff`: 16-29 against 21-41 us on a 2-vCPU VM), and `ledger-bench writer` x1 went from 7,900 to
/// 12,200 rows/s (medians, bench/README.md).
///
/// One exception, the lone call: a call that the proxy says has no company (`othersInProgress` false) and that
/// finds the writer idle commits its own row on its own thread, without waiting for the write lock
/// (``commitAlone(_:)``), which saves the two thread wake-ups of a drain (~3 context switches per call at
/// concurrency 1). Under load every row still goes to a drain, where rows arriving together share a transaction.
///
/// Durability: the pool runs in WAL mode with `synchronous = NORMAL` (GRDB's default for `DatabasePool`). A commit
/// appends the batch to the `-wal` file with `write()` before `record` returns, so an acknowledged row lives in the
/// OS page cache and survives SIGKILL or a crash of this process; only a power loss or kernel crash before the next
/// checkpoint's fsync can lose the last batches. `synchronous = FULL` would fsync every batch and was not chosen.
///
/// One writer per ledger file: `init` takes an advisory `flock` on `<db>-writer.lock`, so a second writer (another
/// `serve` on the same file, in any process) is refused with `LedgerStoreError.writerLocked`. That is what makes
/// `reserveCallID()` unique: ids continue from `max(call.id) + 1` and only the lock holder hands them out.
///
/// WAL checkpoints run beside the writer, off the commit path (`WALCheckpointer`), so no batch waits for an fsync.
///
/// The price book is cached and reloaded when `PRAGMA data_version` shows another connection committed (e.g. a
/// `prices set` from the CLI) or a price was changed through this `LedgerDatabase`.
package final class LedgerWriter: UsageRecorder, Service {
    private let database: LedgerDatabase
    private let logger: Logger
    private let nextID: Mutex<Int64>
    private let state = Mutex(State())
    private let lock: WriterLock?
    private let priceCache = Mutex<CachedPriceBook?>(nil)
    private let counters = Mutex(Statistics())
    private let failure = Mutex<CommitFailure?>(nil)
    /// Where batches commit: a serial dispatch queue, not Swift's cooperative pool (see the type's comment).
    private let commitQueue = DispatchQueue(label: "holysheep-ledger.writer", qos: .userInitiated)
    private let prepared = Mutex<PreparedStatements?>(nil)
    /// The writer connection's busy timeout, restored after a BEGIN that must not wait (``commitAlone(_:)``); nil
    /// when the connection has a busy callback instead, and then every row goes to a drain.
    private let busyTimeoutMilliseconds: Int32?

    /// The statements of every commit, prepared once on the writer connection and held (finalized when `run()`
    /// ends). GRDB's `cachedStatement(sql:)` would find them by hashing their SQL text, about 2,000 characters
    /// together, five times per transaction: ~12,000 instructions of a one-row batch (bench/callgrind.py).
    /// `@unchecked Sendable`: a GRDB `Statement` belongs to its connection, and these are only touched inside the
    /// writer connection's `writeWithoutTransaction`, which GRDB runs one at a time on that connection's queue.
    private final class PreparedStatements: @unchecked Sendable {
        let begin: Statement
        let commit: Statement
        let dataVersion: Statement
        let call: Statement
        let rollup: Statement

        init(_ db: Database) throws {
            begin = try db.makeStatement(sql: "BEGIN IMMEDIATE")
            commit = try db.makeStatement(sql: "COMMIT")
            dataVersion = try db.makeStatement(sql: "PRAGMA data_version")
            call = try db.makeStatement(sql: CallRecord.insertSQL)
            rollup = try db.makeStatement(sql: RollupBatch.upsertSQL)
        }

        var insert: CallRecord.InsertStatements {
            CallRecord.InsertStatements(call: call.sqliteStatement, rollup: rollup.sqliteStatement)
        }
    }

    /// Why commits fail, and the row whose commit failed (what the probe tries to insert, then rolls back).
    private struct CommitFailure {
        var reason: String
        var sample: UsageEvent
        var lastProbe: ContinuousClock.Instant
    }

    /// The shortest time between two probes of a failing ledger.
    static let probeInterval = Duration.milliseconds(100)

    /// What the writer has committed so far (for metrics and the benchmark).
    package struct Statistics: Sendable, Hashable {
        /// Transactions committed (one per batch).
        package var commits = 0
        /// Rows committed.
        package var rows = 0
        /// Of `commits`, those a call made itself on its own thread, having found the writer idle.
        package var callerCommits = 0
        /// Calls that found the writer idle but the write lock held by another connection, and so waited for it in a
        /// drain.
        package var lockWaits = 0
        /// Transactions that took longer than 1 ms (a WAL checkpoint, a slow disk, a descheduled thread).
        package var slowCommits = 0
        /// The longest transaction, in microseconds.
        package var longestCommitMicros: Int64 = 0
        /// Background WAL checkpoints completed.
        package var checkpoints = 0
        /// Transactions that failed to commit (each failed row's caller got an error).
        package var failedCommits = 0
    }

    /// What the writer has committed so far.
    package var statistics: Statistics { counters.withLock { $0 } }

    /// Whether nothing is queued and no drain is queued or running: the next call commits itself.
    package var isIdle: Bool { state.withLock { $0.queue.isEmpty && !$0.draining } }

    // Continuations are `UnsafeContinuation`: each is resumed exactly once, under the rules above (queued ones by
    // `commit`, refused ones at once, the wake-up by whoever takes it out of `State` under the lock). The checked kind
    // validated that in the whole test suite; unchecked, 64 producers commit ~12% more rows/s
    // (`ledger-bench writer`: 155-160k -> 172-186k rows/s on the same quiet machine).
    private struct Pending: Sendable {
        var event: UsageEvent
        var continuation: UnsafeContinuation<Int64?, any Error>
    }

    private enum Phase { case running, draining, stopped }


    private struct State {
        var queue: [Pending] = []
        /// A drain (``LedgerWriter/drain()``) is queued on `commitQueue` or running: it takes whatever is queued.
        var draining = false
        var phase = Phase.running
        /// `run()`'s wait, resumed by the drain that finds the writer draining with nothing queued. Set while `run()`
        /// runs: before it, calls queue and nothing commits; after it, calls are refused.
        var stopped: UnsafeContinuation<Void, Never>?

        /// Whether the caller is to queue a drain (none is queued or running, and `run()` is running).
        mutating func needsDrain() -> Bool {
            guard stopped != nil, !draining else { return false }
            draining = true
            return true
        }

        /// Whether the caller may commit its row itself, now, on its own thread: the writer runs, nothing is queued
        /// and no drain is queued or running. The caller then holds `draining` until ``LedgerWriter/releaseIdleWriter()``.
        mutating func takeIdleWriter() -> Bool {
            phase == .running && queue.isEmpty && needsDrain()
        }
    }

    private struct CachedPriceBook {
        var dataVersion: Int
        var localChanges: Int
        var book: PriceBook
    }

    /// - Parameters:
    ///   - database: the open ledger.
    ///   - logger: where the writer logs (never call contents).
    /// - Throws: `LedgerStoreError.writerLocked` when another writer holds this file.
    package init(database: LedgerDatabase, logger: Logger) throws {
        self.database = database
        self.logger = logger
        self.lock = try WriterLock(databasePath: database.writer.path)
        switch database.writer.configuration.busyMode {
        case .immediateError: busyTimeoutMilliseconds = 0
        case .timeout(let seconds): busyTimeoutMilliseconds = Int32(clamping: Int64((seconds * 1000).rounded()))
        case .callback: busyTimeoutMilliseconds = nil
        }
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

    /// Queues the call and returns once its row is committed. Throws `LedgerStoreError.writerStopped` after the
    /// writer has drained and stopped, or the error that made its row fail (other rows of the batch still commit).
    package func record(_ event: UsageEvent) async throws {
        _ = try await recordCosted(event)
    }

    /// Records like ``record(_:)`` and returns the row's paid cost in pico-USD, as committed.
    package func recordCosted(_ event: UsageEvent) async throws -> Int64? {
        try await recordCosted(event, othersInProgress: false)
    }

    /// Records like ``recordCosted(_:)``. A call alone (`othersInProgress` false) that finds the writer idle commits
    /// its row itself, at once, on its own thread; any other call queues its row for a drain, where rows arriving
    /// together share one transaction.
    package func recordCosted(_ event: UsageEvent, othersInProgress: Bool) async throws -> Int64? {
        if !othersInProgress, state.withLock({ $0.takeIdleWriter() }) {
            if let committed = commitAlone(event) {
                if case .success = committed { counters.withLock { $0.callerCommits += 1 } }
                releaseIdleWriter()
                return try committed.get()
            }
            // The write lock is held elsewhere (another process, a checkpoint restarting the WAL): queue the row for a
            // drain, which waits for the lock off the cooperative pool. This call still holds `draining`, so no drain
            // runs and the phase cannot reach `.stopped` before that drain takes the row.
            counters.withLock { $0.lockWaits += 1 }
            return try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Int64?, any Error>) in
                state.withLock { $0.queue.append(Pending(event: event, continuation: continuation)) }
                commitQueue.async { self.drain() }
            }
        }
        return try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Int64?, any Error>) in
            let (accepted, drain) = state.withLock { s -> (Bool, Bool) in
                guard s.phase != .stopped else { return (false, false) }
                s.queue.append(Pending(event: event, continuation: continuation))
                return (true, s.needsDrain())
            }
            if !accepted { continuation.resume(throwing: LedgerStoreError.writerStopped) }
            if drain { commitQueue.async { self.drain() } }
        }
    }

    /// Commits queued calls until graceful shutdown (or cancellation), then drains the queue and stops.
    /// Calls recorded while draining are still committed; calls recorded after it fail with `writerStopped`.
    package func run() async throws {
        // Without it (in-memory ledger, or it failed to open) SQLite's automatic checkpoint stays: slower, still correct.
        var checkpointer: WALCheckpointer?
        do {
            checkpointer = try WALCheckpointer(writer: database.writer) { _, _ in
                self.counters.withLock { $0.checkpoints += 1 }
            }
            try checkpointer?.install(on: database.writer)
        } catch {
            checkpointer?.uninstall(from: database.writer)
            checkpointer = nil
            logger.warning(
                "ledger WAL checkpointer unavailable; using SQLite's automatic checkpoint",
                metadata: ["ledger.error": "\(error)"])
        }
        let activeCheckpointer = checkpointer
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withTaskGroup(of: Void.self) { group in
                    if let activeCheckpointer { group.addTask { await activeCheckpointer.run() } }
                    await withUnsafeContinuation { (done: UnsafeContinuation<Void, Never>) in
                        let drain = state.withLock { s -> Bool in
                            s.stopped = done
                            return (!s.queue.isEmpty || s.phase != .running) && s.needsDrain()
                        }
                        if drain { commitQueue.async { self.drain() } }
                    }
                    activeCheckpointer?.finish()
                }
            } onCancel: {
                self.beginDraining()
            }
        } onGracefulShutdown: {
            self.beginDraining()
        }
        activeCheckpointer?.uninstall(from: database.writer)
        finalizeStatements()
        lock?.release()
        logger.info("ledger writer drained and stopped")
    }

    private func beginDraining() {
        let drain = state.withLock { s -> Bool in
            if s.phase == .running { s.phase = .draining }
            return s.needsDrain()
        }
        if drain { commitQueue.async { self.drain() } }
    }

    /// Ends a commit made by its caller (``State/takeIdleWriter()``): rows queued meanwhile, or a shutdown begun,
    /// go to a drain, which this call hands `draining` to; otherwise the writer is idle again.
    private func releaseIdleWriter() {
        let drain = state.withLock { s -> Bool in
            if s.queue.isEmpty && s.phase == .running {
                s.draining = false
                return false
            }
            return true
        }
        if drain { commitQueue.async { self.drain() } }
    }

    /// Commits one row on the calling thread, without waiting for the write lock: nil when another connection holds
    /// it (SQLITE_BUSY at BEGIN), else the row's paid cost or why it failed.
    ///
    /// This blocks a thread of Swift's cooperative pool for one lone commit (the row appended to the WAL with
    /// `write()`, ~20 us of CPU in SQLite itself, `ledger-bench writer` "raw SQLite, 1 row/txn"), as the key check
    /// blocks it for one indexed read. In exchange, a call arriving at an idle writer commits with no hand-off: no
    /// dispatch worker woken to commit it and no cooperative thread woken to resume it (two context switches fewer
    /// per call at concurrency 1; bench/README.md). Anything that could wait long goes to a drain instead: the write
    /// lock held elsewhere (here busy_timeout is 0 until BEGIN succeeds) and every row that arrives during a commit;
    /// so does every call with company, whose row is better batched with theirs.
    private func commitAlone(_ event: UsageEvent) -> Result<Int64?, any Error>? {
        do {
            guard let paid = try insert(CollectionOfOne(event), waitForLock: false) else { return nil }
            return .success(paid[0])
        } catch {
            return .failure(Self.storeError(error))
        }
    }

    private enum DrainStep {
        case commit([Pending])
        case yield
        case finish(UnsafeContinuation<Void, Never>?)
    }

    /// Runs on `commitQueue`: commits whatever is queued, batch after batch, until nothing is; then ends (the next
    /// call queues a new drain). When draining for shutdown finds nothing queued, the writer stops.
    private func drain() {
        var spare: [Pending] = []
        var yielded = false
        while true {
            let step = state.withLock { s -> DrainStep in
                if !s.queue.isEmpty {
                    var batch = spare
                    swap(&batch, &s.queue)
                    return .commit(batch)
                }
                // Let the producers just resumed by the last commit run (and queue their next calls) before ending:
                // no timer, and a lone call still commits at once, but a busy writer keeps one drain going.
                if !yielded && s.phase == .running { return .yield }
                s.draining = false
                guard s.phase == .draining, let stopped = s.stopped else { return .finish(nil) }
                s.phase = .stopped
                s.stopped = nil
                return .finish(stopped)
            }
            switch step {
            case .commit(let batch):
                yielded = false
                commit(batch)
                spare = batch
                spare.removeAll(keepingCapacity: true)
            case .yield:
                yielded = true
                sched_yield()
            case .finish(let stopped):
                stopped?.resume()
                return
            }
        }
    }

    /// Commits a batch in one transaction; if it fails, retries each row alone so one bad row fails only its caller.
    private func commit(_ batch: [Pending]) {
        do {
            let paid = try insert(batch.lazy.map { $0.event })
            for (pending, cost) in zip(batch, paid) { pending.continuation.resume(returning: cost) }
        } catch {
            logger.error(
                "ledger batch commit failed; retrying its rows one by one",
                metadata: ["ledger.batch.size": "\(batch.count)", "ledger.error": "\(error)"])
            for pending in batch {
                do {
                    let paid = try insert(CollectionOfOne(pending.event))
                    pending.continuation.resume(returning: paid[0])
                } catch {
                    pending.continuation.resume(throwing: Self.storeError(error))
                }
            }
        }
    }

    /// Inserts `events` in one transaction and counts the commit in `statistics`; returns their paid costs.
    /// A failure marks the ledger failing (see ``commitFailure()``); a success clears that. With `waitForLock`
    /// false, returns nil at once, having written nothing, when another connection holds the write lock.
    private func insert(_ events: some Collection<UsageEvent>) throws -> [Int64?] {
        guard let paid = try insert(events, waitForLock: true) else {
            throw DatabaseError(resultCode: .SQLITE_BUSY, message: "the ledger's write lock was not taken")
        }
        return paid
    }

    private func insert(_ events: some Collection<UsageEvent>, waitForLock: Bool) throws -> [Int64?]? {
        let clock = ContinuousClock()
        let start = clock.now
        var paid: [Int64?] = []
        do {
            guard try transaction(waitForLock: waitForLock, { db, statements in
                paid = try CallRecord.insert(
                    events, book: priceBook(db, dataVersion: statements.dataVersion), db: db,
                    statements: statements.insert)
            }) else { return nil }
        } catch {
            noteFailure(error, sample: events.first)
            throw error
        }
        if failure.withLock({ $0 != nil }) { failure.withLock { $0 = nil } }
        let (seconds, attoseconds) = start.duration(to: clock.now).components
        let micros = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        counters.withLock {
            $0.commits += 1
            $0.rows += events.count
            if micros > 1000 { $0.slowCommits += 1 }
            $0.longestCommitMicros = max($0.longestCommitMicros, micros)
        }
        return paid
    }

    private func noteFailure(_ error: any Error, sample: UsageEvent?) {
        let reason = Self.reason(error)
        counters.withLock { $0.failedCommits += 1 }
        failure.withLock { failure in
            guard let sample = sample ?? failure?.sample else { return }
            failure = CommitFailure(reason: reason, sample: sample, lastProbe: .now)
        }
    }

    /// Nil while commits succeed; otherwise why the last one failed. At most every ``probeInterval`` a caller
    /// probes: the row whose commit failed is inserted again in a transaction that is rolled back (so it checks
    /// that pages can be allocated and the file written, and leaves nothing), and a success clears the failure.
    package func commitFailure() async -> String? {
        let now = ContinuousClock.now
        let probe = failure.withLock { failure -> (sample: UsageEvent?, reason: String?) in
            guard var current = failure else { return (nil, nil) }
            guard now - current.lastProbe >= Self.probeInterval else { return (nil, current.reason) }
            current.lastProbe = now
            failure = current
            return (current.sample, current.reason)
        }
        guard let sample = probe.sample else { return probe.reason }
        do {
            try await SQLiteThread.run { [self] in
                try database.writer.writeWithoutTransaction { db in
                    try db.execute(sql: "BEGIN IMMEDIATE")
                    defer { if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") } }
                    try CallRecord.insert(
                        CollectionOfOne(sample), book: priceBook(db), db: db, statements: .cached(db))
                }
            }
        } catch {
            let reason = Self.reason(error)
            failure.withLock { failure in failure?.reason = reason }
            return reason
        }
        failure.withLock { failure in if failure?.sample.id == sample.id { failure = nil } }
        logger.info("ledger commits again after a failure")
        return nil
    }

    /// Runs `body` in one IMMEDIATE transaction on the writer connection, with the writer's prepared statements.
    /// With `waitForLock` false, BEGIN does not wait for a write lock held by another connection: false then, and
    /// nothing ran. True once committed.
    private func transaction(waitForLock: Bool = true, _ body: (Database, PreparedStatements) throws -> Void) throws
        -> Bool
    {
        try database.writer.writeWithoutTransaction { db in
            try prepared.withLock { holder in
                let statements: PreparedStatements
                if let existing = holder {
                    statements = existing
                } else {
                    statements = try PreparedStatements(db)
                    holder = statements
                }
                if waitForLock {
                    try statements.begin.execute()
                } else if let restoredBusyTimeout = busyTimeoutMilliseconds {
                    let connection = db.sqliteConnection
                    sqlite3_busy_timeout(connection, 0)
                    defer { sqlite3_busy_timeout(connection, restoredBusyTimeout) }
                    do {
                        try statements.begin.execute()
                    } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                        // Cleared here: GRDB resets a statement before running it and would throw this BUSY again
                        // from the drain's BEGIN (sqlite3_reset returns the last step's error).
                        sqlite3_reset(statements.begin.sqliteStatement)
                        return false
                    }
                } else {
                    return false  // a busy callback of the connection's own: let a drain wait for the lock its way
                }
                do {
                    try body(db, statements)
                    try statements.commit.execute()
                } catch {
                    if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
                    throw error
                }
                return true
            }
        }
    }

    /// Finalizes the prepared statements, on the writer connection, before the writer stops.
    private func finalizeStatements() {
        database.writer.writeWithoutTransaction { _ in prepared.withLock { $0 = nil } }
    }

    private func priceBook(_ db: Database, dataVersion: Statement? = nil) throws -> PriceBook {
        let version: Int
        if let statement = dataVersion?.sqliteStatement {
            // Stepped through the C API: GRDB's generic `fetchOne` costs more than the pragma itself.
            defer { sqlite3_reset(statement) }
            guard sqlite3_step(statement) == SQLITE_ROW else {
                throw DatabaseError(message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
            }
            version = Int(sqlite3_column_int64(statement, 0))
        } else {
            version = try Int.fetchOne(db.cachedStatement(sql: "PRAGMA data_version")) ?? 0
        }
        let local = database.priceChanges.current
        if let cached = priceCache.withLock({ $0 }), cached.dataVersion == version, cached.localChanges == local {
            return cached.book
        }
        let book = try PriceBook.load(db)
        priceCache.withLock { $0 = CachedPriceBook(dataVersion: version, localChanges: local, book: book) }
        return book
    }

    /// For `/healthz`: nil when the ledger commits and its write lock can be taken, else why not.
    package func writeFailure() async -> String? {
        if let failure = await commitFailure() { return failure }
        return await database.writeFailure()
    }

    private static func reason(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error.resultCode)" }
        return "\(error)"
    }

    private static func storeError(_ error: any Error) -> any Error {
        if let error = error as? DatabaseError {
            return LedgerStoreError.database(error.message ?? "\(error.resultCode)")
        }
        return error
    }
}
