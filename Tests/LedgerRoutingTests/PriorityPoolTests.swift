import LedgerTestSupport
import Testing

@testable import LedgerRouting

@Suite struct PriorityPoolTests {
    let clock = TestClock()

    private func pool(_ policy: PoolPolicy) -> PriorityPool<TestClock> { PriorityPool(policy: policy, clock: clock) }

    @Test func admitsAtOnceWhileSlotsAreFreeAndReportsTheLoad() async throws {
        let pool = pool(PoolPolicy(maxConcurrent: 4))
        let first = try await pool.acquire(provider: "p", priority: .normal)
        let second = try await pool.acquire(provider: "q", priority: .normal)
        #expect(first.inFlightAtAdmission == 0)
        #expect(second.inFlightAtAdmission == 1)
        #expect(second.queueWait == .zero)
        #expect(pool.snapshot().inFlight == 2)
        #expect(pool.snapshot().inFlightByProvider == ["p": 1, "q": 1])
        pool.release(first)
        pool.release(first)
        #expect(pool.snapshot().inFlight == 1)
    }

    @Test func aSaturatedPoolAdmitsHigherPriorityFirstAndFIFOWithinOne() async throws {
        let pool = pool(PoolPolicy(maxConcurrent: 1))
        let holder = try await pool.acquire(provider: "p", priority: .normal)
        let order = Journal()
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Arrival order: low-a, high-a, mid, high-b, low-b.
            for (name, priority) in [("low-a", 1), ("high-a", 5), ("mid", 3), ("high-b", 5), ("low-b", 1)] {
                let expectedQueued = pool.snapshot().queued + 1
                group.addTask {
                    let lease = try await pool.acquire(provider: "p", priority: try RequestPriority(priority))
                    order.append(name)
                    pool.release(lease)
                }
                #expect(await eventually { pool.snapshot().queued == expectedQueued })
            }
            #expect(pool.snapshot().queuedByPriority == [1: 2, 3: 1, 5: 2])
            pool.release(holder)
            try await group.waitForAll()
        }
        #expect(order.all == ["high-a", "high-b", "mid", "low-a", "low-b"])
        #expect(pool.snapshot().inFlight == 0)
    }

    @Test func aFullProviderDoesNotHoldUpAnotherProvidersCalls() async throws {
        let pool = pool(PoolPolicy(maxConcurrent: 3, maxConcurrentPerProvider: 1))
        let busy = try await pool.acquire(provider: "holysheep", priority: .normal)
        let waiting = Task { try await pool.acquire(provider: "holysheep", priority: .highest) }
        #expect(await eventually { pool.snapshot().queued == 1 })
        let other = try await pool.acquire(provider: "official", priority: .lowest)
        #expect(other.inFlightAtAdmission == 1)
        pool.release(busy)
        let admitted = try await waiting.value
        #expect(admitted.provider == "holysheep")
        pool.release(admitted)
        pool.release(other)
        #expect(pool.snapshot().inFlight == 0)
    }

    @Test func aFullQueueRefusesAtOnceWithRetryAfter() async throws {
        let pool = pool(PoolPolicy(maxConcurrent: 1, maxQueued: 1, retryAfter: .seconds(2)))
        let holder = try await pool.acquire(provider: "p", priority: .normal)
        let queued = Task { try await pool.acquire(provider: "p", priority: .normal) }
        #expect(await eventually { pool.snapshot().queued == 1 })
        await #expect(throws: RoutingError.queueFull(limit: 1, retryAfter: .seconds(2))) {
            try await pool.acquire(provider: "p", priority: .highest)
        }
        #expect(RoutingError.queueFull(limit: 1, retryAfter: .seconds(2)).retryAfterSeconds == 2)
        #expect(pool.snapshot().rejectedQueueFull == 1)
        pool.release(holder)
        pool.release(try await queued.value)
    }

    @Test func aWaitPastTheQueueTimeoutIsRefusedAndLeavesTheQueue() async throws {
        let pool = pool(PoolPolicy(maxConcurrent: 1, queueTimeout: .seconds(5), retryAfter: .seconds(1)))
        let holder = try await pool.acquire(provider: "p", priority: .normal)
        let waiter = Task { try await pool.acquire(provider: "p", priority: .normal) }
        #expect(await eventually { pool.snapshot().queued == 1 && clock.sleeperCount == 1 })
        clock.advance(by: .seconds(4))
        #expect(pool.snapshot().queued == 1)
        clock.advance(by: .seconds(1))
        await #expect(throws: RoutingError.queueTimeout(waited: .seconds(5), retryAfter: .seconds(1))) {
            try await waiter.value
        }
        #expect(pool.snapshot().queued == 0)
        #expect(pool.snapshot().rejectedQueueTimeout == 1)
        pool.release(holder)
        #expect(pool.snapshot().inFlight == 0)
    }

    @Test func queueWaitIsMeasuredOnTheInjectedClock() async throws {
        let pool = pool(PoolPolicy(maxConcurrent: 1, queueTimeout: .seconds(60)))
        let holder = try await pool.acquire(provider: "p", priority: .normal)
        let waiter = Task { try await pool.acquire(provider: "p", priority: .normal) }
        #expect(await eventually { pool.snapshot().queued == 1 && clock.sleeperCount == 1 })
        clock.advance(by: .milliseconds(1500))
        pool.release(holder)
        let lease = try await waiter.value
        #expect(lease.queueWait == .milliseconds(1500))
        #expect(lease.inFlightAtAdmission == 0)
        #expect(await eventually { clock.sleeperCount == 0 })
        pool.release(lease)
    }

    @Test func cancellingAWaiterRemovesItAndLeaksNoSlot() async throws {
        let pool = pool(PoolPolicy(maxConcurrent: 1))
        let holder = try await pool.acquire(provider: "p", priority: .normal)
        let doomed = Task { try await pool.acquire(provider: "p", priority: .highest) }
        let patient = Task { try await pool.acquire(provider: "p", priority: .lowest) }
        #expect(await eventually { pool.snapshot().queued == 2 })
        doomed.cancel()
        await #expect(throws: RoutingError.cancelled) { try await doomed.value }
        #expect(pool.snapshot().queued == 1)
        #expect(pool.snapshot().cancelledWhileQueued == 1)
        pool.release(holder)
        let lease = try await patient.value
        #expect(lease.priority == .lowest)
        pool.release(lease)
        #expect(pool.snapshot().inFlight == 0)
        let again = try await pool.acquire(provider: "p", priority: .normal)
        #expect(again.inFlightAtAdmission == 0)
        pool.release(again)
    }

    @Test func cancellingAnAdmittedCallThroughWithLeaseFreesTheSlot() async throws {
        let pool = pool(PoolPolicy(maxConcurrent: 1))
        let started = Journal()
        let call = Task {
            try await pool.withLease(provider: "p", priority: .normal) { _ in
                started.append("started")
                try await clock.sleep(for: .seconds(3600))
            }
        }
        #expect(await eventually { !started.all.isEmpty && clock.sleeperCount == 1 })
        #expect(pool.snapshot().inFlight == 1)
        call.cancel()
        await #expect(throws: CancellationError.self) { try await call.value }
        #expect(pool.snapshot().inFlight == 0)
    }

    @Test func manyCancelledWaitersNeverLeakSlots() async throws {
        let pool = pool(PoolPolicy(maxConcurrent: 2))
        let holders = [
            try await pool.acquire(provider: "p", priority: .normal),
            try await pool.acquire(provider: "p", priority: .normal),
        ]
        let waiters = (0..<50).map { index in
            Task { () throws -> Bool in
                let lease = try await pool.acquire(provider: "p", priority: try RequestPriority(index % 5 + 1))
                pool.release(lease)
                return true
            }
        }
        #expect(await eventually { pool.snapshot().queued == 50 })
        // Cancel every other waiter while slots are handed out, so grants and cancellations race.
        for (index, waiter) in waiters.enumerated() where index % 2 == 0 { waiter.cancel() }
        for holder in holders { pool.release(holder) }
        var admitted = 0
        for waiter in waiters where (try? await waiter.value) == true { admitted += 1 }
        #expect(admitted == 25)
        #expect(pool.snapshot().inFlight == 0)
        #expect(pool.snapshot().queued == 0)
    }

    @Test func grantsRacingCancellationsNeverLeakOrLoseASlot() async throws {
        let pool = pool(PoolPolicy(maxConcurrent: 3, maxQueued: 1000))
        let holders = [
            try await pool.acquire(provider: "p", priority: .normal),
            try await pool.acquire(provider: "p", priority: .normal),
            try await pool.acquire(provider: "p", priority: .normal),
        ]
        let waiters = (0..<200).map { index in
            Task { () throws -> Bool in
                let lease = try await pool.acquire(provider: "p", priority: try RequestPriority(index % 5 + 1))
                await Task.yield()
                pool.release(lease)
                return true
            }
        }
        #expect(await eventually { pool.snapshot().queued == 200 })
        // Slots start flowing while a third of the waiters are cancelled at the same time.
        async let cancelling: Void = {
            for (index, waiter) in waiters.enumerated() where index % 3 == 0 {
                waiter.cancel()
                await Task.yield()
            }
        }()
        for holder in holders { pool.release(holder) }
        await cancelling
        var admitted = 0
        var refused = 0
        for waiter in waiters {
            if (try? await waiter.value) == true { admitted += 1 } else { refused += 1 }
        }
        #expect(admitted + refused == 200)
        #expect(admitted >= 133)
        #expect(pool.snapshot().inFlight == 0)
        #expect(pool.snapshot().queued == 0)
        let last = try await pool.acquire(provider: "p", priority: .normal)
        #expect(last.inFlightAtAdmission == 0)
        pool.release(last)
    }
}
