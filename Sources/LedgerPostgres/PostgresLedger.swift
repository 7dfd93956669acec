package import LedgerCore
package import LedgerStore
package import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// A PostgreSQL ledger that many `serve` replicas share: records calls (group commit), verifies client keys and
/// looks up prices, over one postgres-nio connection pool. Run it as a service (`run()`) for as long as it is used.
///
/// Recording: `record` queues the call and returns once its row is committed (the server's `synchronous_commit` is
/// forced on for every connection). `writers` writer tasks, each on a connection of its own, take everything queued
/// (up to `maxBatch` calls; while another batch is in flight, only once `overlapBatch` calls wait) and write it as
/// ONE prepared statement (`PostgresCallBatch`): the calls and their sums as pending `call_rollup` rows, so `call`
/// and `call_rollup` change in the same commit. Batches never update a shared row, so the writers' commits overlap
/// (the server flushes concurrent commits together); batches are one call when idle and grow only under load. A lost
/// connection is retried (bounded by `retryWindow`) with the idempotent statement (`ON CONFLICT (id) DO NOTHING`),
/// so a retried batch whose first commit did land counts each call exactly once. `run()` also folds the pending
/// rollup rows into the totals every `foldInterval` (`call_rollup_fold()`, migrations/postgres/0008; one fold at a
/// time across replicas).
///
/// Call ids: see migrations/postgres/0001_ledger.sql (`call_id_block`): each instance owns 2^32-id blocks taken
/// from a sequence, so replicas never coordinate per call and never collide.
///
/// Keys and prices are shared by all replicas: every `verify` reads `api_key` (a revoke applies on the next
/// request), and the price book is re-read every `priceRefreshInterval`.
package final class PostgresLedger: UsageRecorder, ClientKeyVerifier, PriceLookup, Service {
    /// Bits of a call id numbered inside one block.
    package static let idBlockBits = 32
    /// The largest batch (one array per column, so the bind-parameter limit no longer applies).
    package static let maxBatch = 1_000
    /// Writer tasks (and connections) per process: enough to keep the server's commits overlapping.
    package static let defaultWriters = 4
    /// The smallest batch a second writer starts while one is in flight (`Queue.ready`).
    package static let defaultOverlapBatch = 16
    /// How often `run()` folds pending rollup rows into the totals.
    package static let foldInterval = Duration.milliseconds(200)

    package let settings: PostgresSettings
    private let logger: Logger
    private let client: PostgresClient
    /// The writers' own pool: one connection per writer task, generic plans for the batch statement.
    private let writerClient: PostgresClient
    /// Writer tasks that `run()` starts.
    package let writers: Int
    private let queue: Mutex<Queue>
    private let ids: Mutex<IDBlocks>
    private let book: Mutex<PriceBook>
    /// The batch row types' ids in this database (migrations/postgres/0010).
    private let rowTypes: PostgresCallBatch.RowTypes
    private let stats = Mutex(BatchStats())
    private let failure = Mutex(Failure())

    /// Why commits fail now (nil while they succeed), and when the server was last probed.
    private struct Failure {
        var message: String?
        var lastProbe: ContinuousClock.Instant?
    }

    /// The shortest time between two probes of a failing server (as the SQLite writer's).
    static let probeInterval = Duration.milliseconds(100)
    /// How long a batch is retried while the server is unreachable before its calls fail.
    package let retryWindow: Duration
    /// How often the price book is re-read (a `prices set` anywhere applies within this).
    package let priceRefreshInterval: Duration

    private struct Pending {
        var event: UsageEvent
        var costing: CallRecord.Costing
        var done: CheckedContinuation<Void, any Error>
    }

    private struct Queue {
        var pending: [Pending] = []
        /// Idle writer tasks, woken one per queued call (all on stop).
        var waiters: [CheckedContinuation<Void, Never>] = []
        var stopping = false
        var stopped = false
        /// Writer tasks writing a batch now.
        var busy = 0
        /// The smallest batch a writer starts while another writer's batch is in flight.
        let overlapBatch: Int

        init(overlapBatch: Int) { self.overlapBatch = overlapBatch }

        /// Whether a free writer should take the queue now: at once when no batch is in flight (an idle ledger
        /// commits each call at once), otherwise only once `overlapBatch` calls wait. Each batch costs the server
        /// a fixed amount beyond its rows, so a free writer that took the one or two calls queued behind a commit in
        /// flight would double the transactions without adding throughput; the waiting calls are taken as soon as
        /// either enough have queued or the batch in flight is done.
        var ready: Bool { !pending.isEmpty && (busy == 0 || stopping || pending.count >= overlapBatch) }
    }

    private struct IDBlocks {
        var next: Int64
        var end: Int64
        var spare: Int64?
        var refilling = false
    }

    /// Batches written and rows in them, for benchmarks and tests.
    package struct BatchStats: Sendable {
        package var batches = 0
        package var rows = 0
        package var largest = 0
    }

    private init(
        settings: PostgresSettings, logger: Logger, blocks: [Int64], book: PriceBook,
        rowTypes: PostgresCallBatch.RowTypes, retryWindow: Duration, priceRefreshInterval: Duration, writers: Int,
        overlapBatch: Int
    ) {
        self.settings = settings
        self.rowTypes = rowTypes
        self.writers = max(1, writers)
        queue = Mutex(Queue(overlapBatch: max(1, overlapBatch)))
        writerClient = PostgresClient(
            configuration: settings.writerClientConfiguration(connections: self.writers), backgroundLogger: logger)
        self.retryWindow = retryWindow
        self.priceRefreshInterval = priceRefreshInterval
        self.logger = logger
        client = PostgresClient(configuration: settings.clientConfiguration, backgroundLogger: logger)
        let first = blocks[0] << Self.idBlockBits
        let spare = blocks.count > 1 ? blocks[1] : nil
        ids = Mutex(IDBlocks(next: first == 0 ? 1 : first, end: first + (Int64(1) << Self.idBlockBits), spare: spare))
        self.book = Mutex(book)
    }

    /// Connects, checks the schema is current (refused otherwise: run `migrate`), takes two id blocks and loads the
    /// price book. Throws `PostgresLedgerError` (one line naming host:port and the cause when it cannot connect).
    package static func open(
        _ settings: PostgresSettings, logger: Logger, retryWindow: Duration = .seconds(10),
        priceRefreshInterval: Duration = .milliseconds(500), writers: Int = defaultWriters,
        overlapBatch: Int = defaultOverlapBatch
    ) async throws -> PostgresLedger {
        try await settings.withConnection(logger: logger) { connection in
            do {
                try await PostgresMigrations.checkCompatible(connection, logger: logger, requireCurrent: true)
                let blocks = try await claimBlocks(2, connection, logger: logger)
                let book = try await PostgresPriceBook.load(connection, logger: logger)
                let rowTypes = try await Self.rowTypes(connection, logger: logger)
                return PostgresLedger(
                    settings: settings, logger: logger, blocks: blocks, book: book, rowTypes: rowTypes,
                    retryWindow: retryWindow, priceRefreshInterval: priceRefreshInterval, writers: writers,
                    overlapBatch: overlapBatch)
            } catch let error as PostgresLedgerError {
                throw error
            } catch {
                throw PostgresLedgerError.query(PostgresSettings.cause(of: error))
            }
        }
    }

    private static func rowTypes(_ connection: PostgresConnection, logger: Logger) async throws
        -> PostgresCallBatch.RowTypes
    {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: PostgresCallBatch.RowTypes.sql), logger: logger)
        for try await (call, rollup) in rows.decode((Int64, Int64).self) {
            return PostgresCallBatch.RowTypes(
                call: PostgresDataType(UInt32(call)), rollup: PostgresDataType(UInt32(rollup)))
        }
        throw PostgresLedgerError.query("the batch row types of migrations/postgres/0010 are missing")
    }

    private static func claimBlocks(_ count: Int, _ connection: PostgresConnection, logger: Logger) async throws
        -> [Int64]
    {
        let rows = try await connection.query(
            "SELECT nextval('call_id_block') FROM generate_series(1, \(count))", logger: logger)
        var blocks: [Int64] = []
        for try await block in rows.decode(Int64.self) { blocks.append(block) }
        return blocks
    }

    // MARK: UsageRecorder

    package func reserveCallID() -> Int64 {
        ids.withLock { ids in
            if ids.next >= ids.end {
                // 2^32 ids per block: the spare is taken again within a second of being used (run()).
                // Both blocks used up and no new one taken yet (the server unreachable for that long): no id is
                // handed out that another replica could own; `record` refuses the call, so it fails closed.
                guard let spare = ids.spare else { return Self.noCallID }
                ids.next = spare << Self.idBlockBits
                ids.end = ids.next + (Int64(1) << Self.idBlockBits)
                ids.spare = nil
            }
            defer { ids.next += 1 }
            return ids.next
        }
    }

    /// What `reserveCallID` returns when it has no id block: never a valid row id.
    static let noCallID: Int64 = -1

    package func record(_ event: UsageEvent) async throws {
        _ = try await recordCosted(event)
    }

    /// Records like ``record(_:)`` and returns the paid cost of the row as committed (pico-USD; nil when it is
    /// unpriced or has no usage): the cost metrics and budgets settle with, so they never disagree with the ledger.
    package func recordCosted(_ event: UsageEvent) async throws -> Int64? {
        guard event.id > 0 else {
            throw PostgresLedgerError.query("no call-id block could be taken from the server; the call is not recorded")
        }
        let costing = try CallRecord.costing(event, book: book.withLock { $0 })
        try await enqueue(event, costing: costing)
        return costing.paid
    }

    private func enqueue(_ event: UsageEvent, costing: CallRecord.Costing) async throws {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            let (wake, refused) = queue.withLock { q -> (CheckedContinuation<Void, Never>?, Bool) in
                if q.stopped { return (nil, true) }
                q.pending.append(Pending(event: event, costing: costing, done: done))
                return (q.ready ? q.waiters.popLast() : nil, false)
            }
            if refused { done.resume(throwing: PostgresLedgerError.query("the ledger writer has stopped")) }
            wake?.resume()
        }
    }

    package var batchStats: BatchStats { stats.withLock { $0 } }

    // MARK: PriceLookup

    package func price(model: String, kind: ProviderKind, atMicros micros: Int64) -> ModelPrice? {
        book.withLock { $0.price(model: model, kind: kind, atMicros: micros) }
    }

    package func models(atMicros micros: Int64) -> [String] {
        book.withLock { $0.models(atMicros: micros) }
    }

    package var priceBook: PriceBook { book.withLock { $0 } }

    /// Re-reads `price` now (also done every `priceRefreshInterval` while running).
    package func refreshPrices() async throws {
        let fresh = Mutex<PriceBook?>(nil)
        try await withDeadline(ContinuousClock.now + Self.lookupWindow) { [client, logger] in
            let loaded = try await client.withConnection { try await PostgresPriceBook.load($0, logger: logger) }
            fresh.withLock { $0 = loaded }
        }
        if let loaded = fresh.withLock({ $0 }) { book.withLock { $0 = loaded } }
    }

    // MARK: ClientKeyVerifier

    package func verify(secret: String) async -> ClientIdentity? {
        if case .valid(let identity) = await check(secret: secret) { return identity }
        return nil
    }

    package func check(secret: String) async -> KeyVerdict {
        guard let prefix = Self.lookupPrefix(of: secret) else { return .invalid }
        // Bounded: the pool waits for a connection without limit while the server is down. A server that comes back
        // within the bound (a restart: its connections are cut, new ones refused a moment) only delays the call;
        // the lookup is retried until then (`lookupWindow`).
        let deadline = ContinuousClock.now + Self.lookupWindow
        var delay = Duration.milliseconds(20)
        while true {
            do {
                // Each attempt bounded on its own (a lookup stuck on a connection a restart left hanging is retried
                // on another within the window).
                let identity = try await lookUp(
                    secret: secret, prefix: prefix, deadline: min(deadline, ContinuousClock.now + Self.attemptTimeout))
                return KeyVerdict(found: identity)
            } catch {
                if ContinuousClock.now + delay < deadline, (try? await Task.sleep(for: delay)) != nil {
                    delay = min(delay * 2, .milliseconds(500))
                    continue
                }
                // The ledger cannot be read, so it cannot commit either: later calls are refused (503) up front.
                noteFailure(error)
                let cause = PostgresSettings.cause(of: error)
                logger.error("key lookup failed", metadata: ["cause": "\(cause)"])
                return .unverifiable(reason: "the client key could not be looked up: \(cause)")
            }
        }
    }

    /// One lookup of the unrevoked key with `prefix`, compared in constant time.
    private func lookUp(secret: String, prefix: String, deadline: ContinuousClock.Instant) async throws
        -> ClientIdentity?
    {
        let found = Mutex<ClientIdentity?>(nil)
        try await withDeadline(deadline) { [client, logger] in
            let rows = try await client.query(
                """
                SELECT id, name, team, salt, secret_sha256 FROM api_key
                WHERE lookup_prefix = \(prefix) AND revoked_at_us IS NULL
                """, logger: logger)
            for try await (id, name, team, salt, digest) in rows.decode(
                (Int64, String, String?, ByteBuffer, ByteBuffer).self)
            {
                let hash = SHA256.hash(Array(salt.readableBytesView) + Array(secret.utf8))
                guard SHA256.constantTimeEqual(hash, Array(digest.readableBytesView)) else { return }
                found.withLock { $0 = ClientIdentity(keyID: id, name: name, team: team) }
                return
            }
        }
        return found.withLock { $0 }
    }

    /// How long a key lookup (and a price refresh, an id-block claim) waits for the server: as long as a batch
    /// is retried, so a restart that is slow under load still only delays calls.
    static let lookupWindow = Duration.seconds(10)
    /// The longest one attempt at writing a batch may take before it is abandoned and retried.
    static let attemptTimeout = Duration.seconds(2)

    /// The lookup prefix of a well-formed secret (`hsl-` + 8 characters, at most 256 bytes), as in the SQLite store.
    static func lookupPrefix(of secret: String) -> String? {
        guard secret.hasPrefix("hsl-"), secret.utf8.count >= 12, secret.utf8.count <= 256 else { return nil }
        return String(secret.prefix(12))
    }

    // MARK: Fail closed

    /// Nil while batches commit; otherwise why the server cannot take them. While it is set the proxy answers new
    /// calls 503 before any upstream request. Asking probes the server on a fresh connection (at most every
    /// `probeInterval`; connecting is bounded by the connect timeout), so it clears by itself once the server is back.
    package func commitFailure() async -> String? {
        let (message, probe) = failure.withLock { f -> (String?, Bool) in
            guard let message = f.message else { return (nil, false) }
            let now = ContinuousClock.now
            if let last = f.lastProbe, last + Self.probeInterval > now { return (message, false) }
            f.lastProbe = now
            return (message, true)
        }
        guard let message else { return nil }
        guard probe else { return message }
        do {
            try await settings.withConnection(logger: logger) { connection in
                _ = try await connection.query("SELECT 1", logger: logger)
            }
            failure.withLock { $0.message = nil }
            return nil
        } catch {
            return message
        }
    }

    private func noteFailure(_ error: any Error) {
        let message = "the PostgreSQL ledger at \(settings.address) cannot commit: \(PostgresSettings.cause(of: error))"
        failure.withLock { $0.message = message }
    }

    private func noteSuccess() {
        if failure.withLock({ $0.message != nil }) { failure.withLock { $0.message = nil } }
    }

    // MARK: Health

    /// True when the server answers a query (for the proxy's `/health`).
    package func isWritable() async -> Bool {
        do {
            _ = try await client.query("SELECT 1", logger: logger)
            return true
        } catch {
            return false
        }
    }

    // MARK: Running

    /// Runs the pool, the writer and the price refresh until cancelled (or graceful shutdown); then writes what is
    /// still queued, fails later `record` calls, and closes the pool.
    package func run() async throws {
        let pool = Task { await client.run() }
        let writerPool = Task { await writerClient.run() }
        let writerTasks = (0..<writers).map { _ in Task { await writerLoop() } }
        let folder = Task { await foldLoop() }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                while !Task.isCancelled && !queue.withLock({ $0.stopping }) {
                    try? await Task.sleep(for: priceRefreshInterval)
                    if Task.isCancelled { break }
                    await maintain()
                }
            } onCancel: {
                stop()
            }
        } onGracefulShutdown: {
            self.stop()
        }
        for writer in writerTasks { await writer.value }
        folder.cancel()
        await folder.value
        writerPool.cancel()
        await writerPool.value
        pool.cancel()
        await pool.value
    }

    private func stop() {
        let wake = queue.withLock { q -> [CheckedContinuation<Void, Never>] in
            q.stopping = true
            defer { q.waiters = [] }
            return q.waiters
        }
        for waiter in wake { waiter.resume() }
    }

    /// Folds pending rollup rows every `foldInterval` until the writers have stopped, then once more.
    private func foldLoop() async {
        var sinceVacuum = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.foldInterval)
            do {
                let folded = try await foldRollup()
                if folded > 0 { sinceVacuum += 1 }
                // Folded rows leave dead tuples; autovacuum looks only once a minute, so the rollup would grow by a
                // minute of pending rows between its visits. VACUUM skips the pages that did not change.
                if sinceVacuum >= 5 {
                    sinceVacuum = 0
                    try await withDeadline(ContinuousClock.now + Self.lookupWindow) { [client, logger] in
                        _ = try await client.query("VACUUM (SKIP_LOCKED) call_rollup", logger: logger)
                    }
                }
            } catch {
                if Task.isCancelled { break }
                logger.debug("rollup fold failed", metadata: ["cause": "\(PostgresSettings.cause(of: error))"])
            }
        }
    }

    /// Folds the pending rollup rows committed so far into the totals (`call_rollup_fold()`; asynchronous commit:
    /// a fold lost in a crash is all-or-nothing, its pending rows stay). Returns the rows folded, or -1 when another
    /// fold (another replica's, a month close) holds the lock.
    @discardableResult
    package func foldRollup() async throws -> Int64 {
        let result = Mutex<Int64>(0)
        try await withDeadline(ContinuousClock.now + Self.lookupWindow) { [client, logger] in
            let rows = try await client.query(
                "SELECT set_config('synchronous_commit', 'off', true), call_rollup_fold()", logger: logger)
            for try await (_, folded) in rows.decode((String, Int64).self) { result.withLock { $0 = folded } }
        }
        return result.withLock { $0 }
    }

    private func maintain() async {
        do { try await refreshPrices() } catch {
            logger.warning("price refresh failed", metadata: ["cause": "\(PostgresSettings.cause(of: error))"])
        }
        let needsBlock = ids.withLock { ids -> Bool in
            guard ids.spare == nil, !ids.refilling else { return false }
            ids.refilling = true
            return true
        }
        guard needsBlock else { return }
        do {
            let claimed = Mutex<Int64?>(nil)
            try await withDeadline(ContinuousClock.now + Self.lookupWindow) { [client, logger] in
                let blocks = try await client.withConnection { try await Self.claimBlocks(1, $0, logger: logger) }
                claimed.withLock { $0 = blocks.first }
            }
            ids.withLock {
                $0.spare = claimed.withLock { $0 }
                $0.refilling = false
            }
        } catch {
            ids.withLock { $0.refilling = false }
            logger.warning("call-id block claim failed", metadata: ["cause": "\(PostgresSettings.cause(of: error))"])
        }
    }

    private func writerLoop() async {
        while let batch = await nextBatch() {
            defer { queue.withLock { $0.busy -= 1 } }
            do {
                // false: the batch was written row by row and each call already answered.
                guard try await write(batch) else { continue }
                stats.withLock {
                    $0.batches += 1
                    $0.rows += batch.count
                    $0.largest = max($0.largest, batch.count)
                }
                for pending in batch { pending.done.resume() }
            } catch {
                let failure = PostgresLedgerError.query("recording failed: \(PostgresSettings.cause(of: error))")
                logger.error("recording failed", metadata: ["cause": "\(failure)", "calls": "\(batch.count)"])
                for pending in batch { pending.done.resume(throwing: failure) }
            }
        }
    }

    /// Everything queued (up to `maxBatch`) once `Queue.ready`, waiting until then; nil once stopping with nothing
    /// queued.
    private func nextBatch() async -> [Pending]? {
        while true {
            enum Step {
                case batch([Pending])
                case finished
                case wait
            }
            let step = queue.withLock { q -> Step in
                if q.ready {
                    let count = min(q.pending.count, Self.maxBatch)
                    let batch = Array(q.pending.prefix(count))
                    q.pending.removeFirst(count)
                    q.busy += 1
                    return .batch(batch)
                }
                if q.stopping && q.pending.isEmpty {
                    q.stopped = true
                    return .finished
                }
                return .wait
            }
            switch step {
            case .batch(let batch): return batch
            case .finished: return nil
            case .wait:
                await withCheckedContinuation { (wake: CheckedContinuation<Void, Never>) in
                    let ready = queue.withLock { q -> Bool in
                        if q.ready || q.stopping { return true }
                        q.waiters.append(wake)
                        return false
                    }
                    if ready { wake.resume() }
                }
            }
        }
    }

    /// Writes one batch in one statement; retries while the server is unreachable (bounded by `retryWindow`), and
    /// on a deadlock or serialization failure. A batch refused for its data is retried row by row so that only the
    /// bad call fails (then every call is answered here and this returns false).
    private func write(_ batch: [Pending]) async throws -> Bool {
        let rows = batch.lazy.map { ($0.event, $0.costing) }
        // The plain statement first; after any attempt that may have committed (or a duplicate id), only the
        // idempotent one (PostgresCallBatch).
        var first = PostgresCallBatch(rows, count: batch.count, types: rowTypes)
        let retry =
            first?.retry
            ?? PostgresCallBatch.Retry(
                calls: PostgresCallBatch.callRows(rows, count: batch.count, type: rowTypes.call))
        let deadline = ContinuousClock.now + retryWindow
        var delay = Duration.milliseconds(20)
        while true {
            do {
                // Each attempt within its own bound: one stuck on a connection a server restart left hanging is
                // abandoned and retried (idempotently) on another within the window.
                try await withDeadline(min(deadline, ContinuousClock.now + Self.attemptTimeout)) {
                    [writerClient, logger, first] in
                    try await writerClient.withConnection { connection in
                        if let first {
                            _ = try await connection.execute(first, logger: logger)
                        } else {
                            _ = try await connection.execute(retry, logger: logger)
                        }
                    }
                }
                noteSuccess()
                return true
            } catch let error as PSQLError where error.code == .server {
                let state = error.serverInfo?[.sqlState] ?? ""
                // 23505: an id already recorded (a replayed call); the idempotent statement skips it.
                if state == "23505", first != nil {
                    first = nil
                    continue
                }
                // 40001 serialization, 40P01 deadlock, 57P01 admin shutdown.
                if state == "40001" || state == "40P01" || state.hasPrefix("57P"), ContinuousClock.now < deadline {
                    first = nil
                    try await Task.sleep(for: delay)
                    continue
                }
                if batch.count > 1 {
                    logger.warning(
                        "PostgreSQL refused a batch; writing its calls one by one",
                        metadata: ["calls": "\(batch.count)", "cause": "\(PostgresSettings.cause(of: error))"])
                    await writeOneByOne(batch, deadline: max(deadline, ContinuousClock.now + retryWindow))
                    return false
                }
                throw error
            } catch {
                first = nil
                noteFailure(error)
                guard ContinuousClock.now < deadline else { throw error }
                logger.warning(
                    "PostgreSQL unreachable, retrying the batch",
                    metadata: ["server": "\(settings.address)", "cause": "\(PostgresSettings.cause(of: error))"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .milliseconds(500))
            }
        }
    }

    /// `body`, or `PostgresLedgerError.query` once `deadline` passes (the pool's wait for a connection has no limit
    /// of its own while the server is down; cancelling leaves the pool's queue).
    ///
    /// The deadline does not wait for `body` to end: a query on a connection that a server restart left hanging
    /// may ignore cancellation, and a task group (which awaits all its children) then held the caller, and every
    /// call behind it, for good (e2e: PostgreSQL restarted while serving). `body` runs in a task of its own that is
    /// cancelled and left behind at the deadline.
    private func withDeadline(_ deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () async throws -> Void)
        async throws
    {
        let address = settings.address
        let race = DeadlineRace()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                race.start(continuation)
                let timer = Task {
                    try? await Task.sleep(until: deadline)
                    guard !Task.isCancelled else { return }
                    race.finish(
                        .failure(
                            PostgresLedgerError.query("no connection to the server at \(address) before the retry deadline")))
                }
                let work = Task {
                    let result: Result<Void, any Error>
                    do { result = .success(try await body()) } catch { result = .failure(error) }
                    timer.cancel()
                    race.finish(result)
                }
                race.onCancel { work.cancel() }
            }
        } onCancel: {
            race.cancel()
        }
    }

    /// Who settles a ``withDeadline(_:_:)``: the work or the timer, whichever comes first; the caller's cancellation
    /// is passed to the work.
    private final class DeadlineRace: Sendable {
        private struct State {
            var continuation: CheckedContinuation<Void, any Error>?
            var cancelWork: (@Sendable () -> Void)?
            var cancelled = false
        }
        private let state = Mutex(State())

        func start(_ continuation: CheckedContinuation<Void, any Error>) {
            state.withLock { $0.continuation = continuation }
        }

        func onCancel(_ action: @escaping @Sendable () -> Void) {
            let cancelledAlready = state.withLock { s -> Bool in
                s.cancelWork = action
                return s.cancelled
            }
            if cancelledAlready { action() }
        }

        func cancel() {
            let action = state.withLock { s -> (@Sendable () -> Void)? in
                s.cancelled = true
                return s.cancelWork
            }
            action?()
        }

        func finish(_ result: Result<Void, any Error>) {
            let continuation = state.withLock { s -> CheckedContinuation<Void, any Error>? in
                defer { s.continuation = nil }
                return s.continuation
            }
            continuation?.resume(with: result)
        }
    }

    /// Each call of a refused batch alone, within `deadline` (the pool's wait for a connection has no limit of its
    /// own: unbounded, a server coming back from a restart could hold these calls past their clients' timeouts).
    private func writeOneByOne(_ batch: [Pending], deadline: ContinuousClock.Instant) async {
        for pending in batch {
            do {
                let row = PostgresCallBatch.Retry(
                    calls: PostgresCallBatch.callRows(
                        CollectionOfOne((pending.event, pending.costing)), count: 1, type: rowTypes.call))
                try await withDeadline(deadline) { [writerClient, logger] in
                    try await writerClient.withConnection { connection in
                        _ = try await connection.execute(row, logger: logger)
                    }
                }
                pending.done.resume()
            } catch {
                let failure = PostgresLedgerError.query("recording failed: \(PostgresSettings.cause(of: error))")
                pending.done.resume(throwing: failure)
            }
        }
    }
}
