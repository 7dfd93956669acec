import Foundation
import GRDB
import LedgerCore
import LedgerStore
import LedgerTestSupport
import Logging
import ServiceLifecycle
import Testing

@Suite(.timeLimit(.minutes(1))) struct LedgerWriterTests {
    static func event(_ id: Int64, model: String = "gpt-4.1", at micros: Int64 = 1_000) -> UsageEvent {
        UsageEvent(
            id: id, startedAtMicros: micros, finishedAtMicros: micros + 10, endpoint: "/v1/chat/completions",
            model: model, provider: "holysheep", providerKind: .holysheep, status: .ok,
            usage: TokenUsage(promptTokens: 100, completionTokens: id), latencyMicros: 10)
    }

    private func ids(_ ledger: LedgerDatabase) throws -> [Int64] {
        try ledger.writer.read { try Int64.fetchAll($0, sql: "SELECT id FROM call ORDER BY id") }
    }

    /// Runs the writer while `body` records, then stops it (graceful shutdown through a ServiceGroup).
    private func withRunningWriter(
        _ writer: LedgerWriter, _ body: @Sendable (LedgerWriter) async throws -> Void
    ) async throws {
        let group = ServiceGroup(services: [writer], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await body(writer)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test func recordReturnsAfterTheRowIsCommitted() async throws {
        let ledger = try LedgerDatabase(DatabaseQueue())
        let writer = try LedgerWriter(database: ledger, logger: Logger(label: "test"))
        try await withRunningWriter(writer) { writer in
            let id = writer.reserveCallID()
            try await writer.record(Self.event(id))
            // Visible to a fresh read right away: committed, not merely queued.
            #expect(try self.ids(ledger) == [id])
        }
    }

    @Test func textColumnsKeepEmptyStringsNonASCIIAndNULLsApart() async throws {
        let ledger = try LedgerDatabase(DatabaseQueue())
        let writer = try LedgerWriter(database: ledger, logger: Logger(label: "test"))
        try await withRunningWriter(writer) { writer in
            var event = Self.event(writer.reserveCallID(), model: "gpt-4.1-ünï-模型")
            event.tags = ""
            event.team = "équipe"
            event.errorType = nil
            try await writer.record(event)
            // A second row through the same prepared statements: nothing of the first one's bindings is left.
            var second = Self.event(writer.reserveCallID())
            second.team = nil
            try await writer.record(second)
        }
        let rows = try ledger.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT model, tags, team, error_type FROM call ORDER BY id")
        }
        #expect(rows.count == 2)
        #expect(rows[0]["model"] as String? == "gpt-4.1-ünï-模型")
        #expect(rows[0]["tags"] as String? == "")
        #expect(rows[0]["team"] as String? == "équipe")
        #expect(rows[0]["error_type"] as String? == nil)
        #expect(rows[1]["model"] as String? == "gpt-4.1")
        #expect(rows[1]["team"] as String? == nil)
    }

    @Test func loneCallsEachCommitBeforeRecordReturns() async throws {
        let temp = TemporaryLedgerPath("lone")
        defer { temp.remove() }
        let ledger = try LedgerDatabase(path: temp.path)
        let writer = try LedgerWriter(database: ledger, logger: Logger(label: "test"))
        try await withRunningWriter(writer) { writer in
            for _ in 0..<5 {
                let id = writer.reserveCallID()
                try await writer.record(Self.event(id))
                #expect(try self.ids(ledger).last == id)
            }
        }
        #expect(try ids(ledger) == Array(1...5))
        let statistics = writer.statistics
        #expect(statistics.rows == 5)
        // One at a time: each call is its own transaction, none waits for a batch to fill.
        #expect(statistics.commits == 5)
    }

    @Test func onlyACallWithoutCompanyCommitsItselfACallWithCompanyGoesToADrain() async throws {
        let temp = TemporaryLedgerPath("company")
        defer { temp.remove() }
        let ledger = try LedgerDatabase(path: temp.path)
        let writer = try LedgerWriter(database: ledger, logger: Logger(label: "test"))
        try await withRunningWriter(writer) { writer in
            try await writer.record(Self.event(writer.reserveCallID()))
            while !writer.isIdle { await Task.yield() }
            let before = writer.statistics
            let alone = writer.reserveCallID()
            _ = try await writer.recordCosted(Self.event(alone), othersInProgress: false)
            #expect(writer.statistics.callerCommits == before.callerCommits + 1)
            while !writer.isIdle { await Task.yield() }
            // The writer is idle, but the call has company: its row is queued for a drain (where rows arriving
            // together share a transaction), still committed before record returns.
            let accompanied = writer.reserveCallID()
            _ = try await writer.recordCosted(Self.event(accompanied), othersInProgress: true)
            #expect(try self.ids(ledger).last == accompanied)
            #expect(writer.statistics.callerCommits == before.callerCommits + 1)
            #expect(writer.statistics.commits == before.commits + 2)
        }
    }

    @Test func aCallFindingTheWriteLockHeldElsewhereWaitsInADrainAndCommitsOnceItIsFree() async throws {
        let temp = TemporaryLedgerPath("busy")
        defer { temp.remove() }
        let ledger = try LedgerDatabase(path: temp.path)
        let writer = try LedgerWriter(database: ledger, logger: Logger(label: "test"))
        // Another connection (as a `keys create` in another process would) takes the write lock and keeps it, on a
        // thread of its own, until `release` is signalled.
        let other = try DatabaseQueue(path: temp.path)
        let taken = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let holder = DispatchQueue(label: "lock-holder")
        try await withRunningWriter(writer) { writer in
            let first = writer.reserveCallID()
            try await writer.record(Self.event(first))
            // The writer is running now (the first call may have come before it did, and waited for the first drain):
            // once that drain has ended, a call commits itself.
            while !writer.isIdle { await Task.yield() }
            let callerCommitsBefore = writer.statistics.callerCommits
            let warm = writer.reserveCallID()
            try await writer.record(Self.event(warm))
            #expect(writer.statistics.callerCommits == callerCommitsBefore + 1)
            holder.async {
                try? other.writeWithoutTransaction { db in
                    try db.execute(sql: "BEGIN IMMEDIATE")
                    taken.signal()
                    release.wait()
                    try db.execute(sql: "COMMIT")
                }
            }
            await withCheckedContinuation { done in DispatchQueue.global().async { taken.wait(); done.resume() } }
            let second = writer.reserveCallID()
            let recording = Task { try await writer.record(Self.event(second)) }
            // The call does not wait for the lock on its own thread (nor fail): its row goes to a drain.
            while writer.statistics.lockWaits == 0 { await Task.yield() }
            #expect(writer.statistics.failedCommits == 0)
            #expect(try self.ids(ledger) == [first, warm])
            release.signal()
            try await recording.value
            #expect(try self.ids(ledger) == [first, warm, second])
            // Committed by the drain, not by the call: it did not wait for the lock on a cooperative thread.
            #expect(writer.statistics.callerCommits == callerCommitsBefore + 1)
            // Once the lock is free and that drain has ended, the next call commits itself again.
            while !writer.isIdle { await Task.yield() }
            try await writer.record(Self.event(writer.reserveCallID()))
            #expect(writer.statistics.callerCommits == callerCommitsBefore + 2)
        }
        let statistics = writer.statistics
        #expect(statistics.commits == 4)
        #expect(statistics.lockWaits == 1)
        #expect(statistics.failedCommits == 0)
    }

    @Test func concurrentProducersAreGroupCommittedWithoutLoss() async throws {
        let temp = TemporaryLedgerPath("writer")
        defer { temp.remove() }
        let ledger = try LedgerDatabase(path: temp.path)
        let writer = try LedgerWriter(database: ledger, logger: Logger(label: "test"))
        try await withRunningWriter(writer) { writer in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        for _ in 0..<50 { try await writer.record(Self.event(writer.reserveCallID())) }
                    }
                }
                try await group.waitForAll()
            }
        }
        #expect(try ids(ledger) == Array(1...800))
        let costs = try await ledger.writer.read {
            try Int64.fetchOne($0, sql: "SELECT sum(cost_holysheep_pusd) FROM call") ?? 0
        }
        // 100 prompt tokens x 320_000 + id completion tokens x 1_280_000, summed over ids 1...800.
        #expect(costs == 800 * 100 * 320_000 + (800 * 801 / 2) * 1_280_000)
    }

    @Test func gracefulShutdownDrainsTheQueueThenRefusesNewCalls() async throws {
        let ledger = try LedgerDatabase(DatabaseQueue())
        let writer = try LedgerWriter(database: ledger, logger: Logger(label: "test"))
        let group = ServiceGroup(services: [writer], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let acknowledged = try await withThrowingTaskGroup(of: Int64?.self) { producers in
                for _ in 0..<200 {
                    producers.addTask {
                        let id = writer.reserveCallID()
                        do {
                            try await writer.record(Self.event(id))
                            return id
                        } catch LedgerStoreError.writerStopped {
                            return nil  // arrived after the drain finished: refused, never silently dropped
                        }
                    }
                }
                // Shut down while calls are still being queued: every acknowledged one must be in the ledger.
                await group.triggerGracefulShutdown()
                return try await producers.reduce(into: [Int64]()) { if let id = $1 { $0.append(id) } }
            }
            try await tasks.waitForAll()
            #expect(try ids(ledger) == acknowledged.sorted())
        }
        await #expect(throws: LedgerStoreError.writerStopped) { try await writer.record(Self.event(999)) }
    }

    @Test func aBadRowFailsOnlyItsOwnCaller() async throws {
        let ledger = try LedgerDatabase(DatabaseQueue())
        try ledger.insert([Self.event(5)])
        let writer = try LedgerWriter(database: ledger, logger: Logger(label: "test"))
        #expect(writer.reserveCallID() == 6)
        try await withRunningWriter(writer) { writer in
            let outcomes = try await withThrowingTaskGroup(of: (Int64, Bool).self) { group in
                for id in [Int64(6), 5, 7] {  // 5 already exists: a primary key violation
                    group.addTask {
                        do {
                            try await writer.record(Self.event(id))
                            return (id, true)
                        } catch { return (id, false) }
                    }
                }
                return try await group.reduce(into: [Int64: Bool]()) { $0[$1.0] = $1.1 }
            }
            #expect(outcomes == [5: false, 6: true, 7: true])
        }
        #expect(try ids(ledger) == [5, 6, 7])
    }

    @Test func aSecondWriterOnTheSameFileIsRefused() throws {
        let temp = TemporaryLedgerPath("lock")
        defer { temp.remove() }
        let first = try LedgerWriter(database: try LedgerDatabase(path: temp.path), logger: Logger(label: "test"))
        #expect(throws: LedgerStoreError.writerLocked(path: temp.path, lockPath: temp.path + "-writer.lock")) {
            try LedgerWriter(database: try LedgerDatabase(path: temp.path), logger: Logger(label: "test"))
        }
        withExtendedLifetime(first) {}
    }

    @Test func aPriceSetByAnotherProcessIsPickedUpByTheRunningWriter() async throws {
        let temp = TemporaryLedgerPath("reload")
        defer { temp.remove() }
        let ledger = try LedgerDatabase(path: temp.path)
        let writer = try LedgerWriter(database: ledger, logger: Logger(label: "test"))
        let dec1 = UTCDate.micros(parsing: "2026-12-01")!
        try await withRunningWriter(writer) { writer in
            try await writer.record(Self.event(writer.reserveCallID(), at: dec1))  // loads and caches the price book
            // Another connection (as `prices set` in another process would) adds a price for the same day.
            let cli = try LedgerDatabase(path: temp.path)
            try cli.addPrices(
                [
                    PriceBookEntry(
                        kind: .holysheep, model: "gpt-4.1", price: ModelPrice(input: 0, cachedInput: 0, output: 0),
                        effectiveFromMicros: dec1, source: "free day")
                ],
                nowMicros: 1)
            try await writer.record(Self.event(writer.reserveCallID(), at: dec1))
            // And a price changed through the writer's own database value.
            try ledger.addPrices(
                [
                    PriceBookEntry(
                        kind: .holysheep, model: "gpt-4.1", price: ModelPrice(input: 0, cachedInput: 0, output: 1),
                        effectiveFromMicros: dec1 + 1, source: "one")
                ],
                nowMicros: 2)
            try await writer.record(Self.event(writer.reserveCallID(), at: dec1 + 1))
        }
        let costs = try await ledger.writer.read {
            try Int64.fetchAll($0, sql: "SELECT cost_holysheep_pusd FROM call ORDER BY id")
        }
        // 100 prompt tokens x 320_000 + 1 completion token x 1_280_000; then free; then 3 tokens x 1.
        let expected: [Int64] = [33_280_000, 0, 3]
        #expect(costs == expected)
    }

    @Test func theWALIsCheckpointedBesideTheWriterNotInsideCommits() async throws {
        let temp = TemporaryLedgerPath("checkpoint")
        defer { temp.remove() }
        let ledger = try LedgerDatabase(path: temp.path)
        let writer = try LedgerWriter(database: ledger, logger: Logger(label: "test"))
        func mainFileSize() throws -> Int {
            try FileManager.default.attributesOfItem(atPath: temp.path)[.size] as? Int ?? 0
        }
        let initialSize = try mainFileSize()
        let clock = ContinuousClock()
        try await withRunningWriter(writer) { writer in
            // One call at a time: every commit appends a few pages to the WAL, crossing the checkpoint threshold.
            var recorded = 0
            let deadline = clock.now.advanced(by: .seconds(30))
            while writer.statistics.checkpoints == 0 && clock.now < deadline {
                for _ in 0..<100 { try await writer.record(Self.event(writer.reserveCallID())) }
                recorded += 100
            }
            #expect(writer.statistics.checkpoints >= 1, "no checkpoint after \(recorded) commits")
        }
        // The rows reached the main file (copied by the checkpointer) and all are there.
        #expect(try mainFileSize() > initialSize + 100_000)
        let count = try await ledger.writer.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM call") ?? 0 }
        #expect(count == writer.statistics.rows)
    }
}
