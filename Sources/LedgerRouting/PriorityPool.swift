import Synchronization

/// Limits on concurrent upstream calls and on the queue of calls waiting for one.
package struct PoolPolicy: Sendable, Hashable {
    /// Upstream calls in flight at once, over all providers.
    package var maxConcurrent: Int
    /// Upstream calls in flight at once at one provider, unless `providerLimits` names it.
    package var maxConcurrentPerProvider: Int
    /// Per-provider overrides of `maxConcurrentPerProvider`.
    package var providerLimits: [String: Int]
    /// Calls that may wait for a slot; one more is refused at once (429).
    package var maxQueued: Int
    /// A call that waited this long without a slot is refused (429).
    package var queueTimeout: Duration
    /// What a refused call is told to wait (`Retry-After`).
    package var retryAfter: Duration

    package init(
        maxConcurrent: Int = 64, maxConcurrentPerProvider: Int = 64, providerLimits: [String: Int] = [:],
        maxQueued: Int = 1024, queueTimeout: Duration = .seconds(30), retryAfter: Duration = .seconds(1)
    ) {
        self.maxConcurrent = maxConcurrent
        self.maxConcurrentPerProvider = maxConcurrentPerProvider
        self.providerLimits = providerLimits
        self.maxQueued = maxQueued
        self.queueTimeout = queueTimeout
        self.retryAfter = retryAfter
    }

    /// The concurrency limit for one provider.
    package func limit(for provider: String) -> Int {
        providerLimits[provider] ?? maxConcurrentPerProvider
    }
}

/// A slot for one upstream call. Hand it back with ``PriorityPool/release(_:)`` (releasing twice is harmless).
package struct PoolLease: Sendable, Hashable {
    package let id: UInt64
    package let provider: String
    package let priority: RequestPriority
    /// Time spent in the queue (zero when a slot was free at once): the ledger's `queue_wait_us`.
    package let queueWait: Duration
    /// Upstream calls already in flight, over all providers, when this one was admitted (not counting itself).
    package let inFlightAtAdmission: Int
}

/// The pool observed at a moment, for /metrics.
package struct PoolSnapshot: Sendable, Hashable {
    package var inFlight: Int
    package var inFlightByProvider: [String: Int]
    package var queued: Int
    /// Waiting calls per priority 1...5.
    package var queuedByPriority: [Int: Int]
    package var admitted: Int
    package var rejectedQueueFull: Int
    package var rejectedQueueTimeout: Int
    package var cancelledWhileQueued: Int
}

// The pool's state, outside the generic class: times are durations since the pool's origin (see
// ``PriorityPool``), so nothing under the lock needs generic metadata at run time.

private enum PoolResolution {
    case granted(PoolLease)
    case failed(RoutingError)
}

private struct PoolWaiter {
    var provider: String
    var priority: RequestPriority
    var enqueuedAt: Duration
    var continuation: CheckedContinuation<PoolLease, any Error>?
    /// Decided before the waiting task attached its continuation.
    var resolution: PoolResolution?
    var isQueued: Bool { resolution == nil }
}

private struct PoolState {
    var nextID: UInt64 = 1
    var inFlight = 0
    var inFlightByProvider: [String: Int] = [:]
    var leases: [UInt64: String] = [:]
    var waiters: [UInt64: PoolWaiter] = [:]
    /// Waiter ids per priority, index 0 = priority 1, in arrival order.
    var queues: [[UInt64]] = Array(repeating: [], count: 5)
    var queued = 0
    var admitted = 0
    var rejectedQueueFull = 0
    var rejectedQueueTimeout = 0
    var cancelledWhileQueued = 0
}

private enum PoolStep {
    case granted(PoolLease)
    case refused
    case queued(UInt64)
}

private typealias PoolWakeup = (CheckedContinuation<PoolLease, any Error>, PoolResolution)

/// Admits upstream calls under a global and a per-provider concurrency limit. Calls that find no slot wait in a
/// bounded queue: higher priority first, first come first served within a priority.
///
/// Cancellation-safe: a cancelled waiter leaves the queue at once, and a slot granted to a caller that was cancelled
/// before it could take it is handed back, so no slot leaks. Built on a `Mutex` and continuations; the only tasks are
/// the structured child tasks of a call that has to wait (its wait and its queue timer).
package final class PriorityPool<C: Clock>: Sendable where C.Duration == Duration {
    package let policy: PoolPolicy
    private let clock: C
    /// The instant the pool's times count from.
    private let origin: C.Instant
    private let state: Mutex<PoolState>

    package init(policy: PoolPolicy = PoolPolicy(), clock: C) {
        self.policy = policy
        self.clock = clock
        self.origin = clock.now
        self.state = Mutex(PoolState())
    }

    /// Now, as a duration since `origin`.
    private var now: Duration { origin.duration(to: clock.now) }

    /// Waits for a slot at `provider`.
    /// - Throws: ``RoutingError/queueFull(limit:retryAfter:)``, ``RoutingError/queueTimeout(waited:retryAfter:)``,
    ///   or ``RoutingError/cancelled`` when the calling task is cancelled while it waits.
    package func acquire(provider: String, priority: RequestPriority) async throws -> PoolLease {
        guard !Task.isCancelled else { throw RoutingError.cancelled }
        let now = self.now
        let step = state.withLock { state -> PoolStep in
            if canAdmit(provider, in: state) {
                return .granted(admit(provider: provider, priority: priority, enqueuedAt: now, now: now, in: &state))
            }
            guard state.queued < policy.maxQueued, .zero < policy.queueTimeout else {
                state.rejectedQueueFull += 1
                return .refused
            }
            let id = state.nextID
            state.nextID += 1
            state.waiters[id] = PoolWaiter(provider: provider, priority: priority, enqueuedAt: now)
            state.queues[priority.value - 1].append(id)
            state.queued += 1
            return .queued(id)
        }
        let id: UInt64
        switch step {
        case .granted(let lease): return lease
        case .refused: throw RoutingError.queueFull(limit: policy.maxQueued, retryAfter: policy.retryAfter)
        case .queued(let queuedID): id = queuedID
        }

        let lease = try await withThrowingTaskGroup(of: PoolLease?.self) { group in
            group.addTask { try await self.wait(id) }
            group.addTask {
                do { try await self.clock.sleep(for: self.policy.queueTimeout) } catch { return nil }
                self.expire(id)
                return nil
            }
            while let next = try await group.next() {
                if let lease = next {
                    group.cancelAll()
                    return lease
                }
            }
            throw RoutingError.cancelled
        }
        if Task.isCancelled {
            release(lease)
            throw RoutingError.cancelled
        }
        return lease
    }

    /// Runs `body` holding a slot, and always hands the slot back.
    package func withLease<T>(
        provider: String, priority: RequestPriority, isolation: isolated (any Actor)? = #isolation,
        _ body: (PoolLease) async throws -> T
    ) async throws -> T {
        let lease = try await acquire(provider: provider, priority: priority)
        defer { release(lease) }
        return try await body(lease)
    }

    /// Hands a slot back and admits whoever may now go.
    package func release(_ lease: PoolLease) {
        let now = self.now
        let wakeups = state.withLock { state -> [PoolWakeup] in
            guard let provider = state.leases.removeValue(forKey: lease.id) else { return [] }
            free(provider, in: &state)
            return dispatch(in: &state, now: now)
        }
        resume(wakeups)
    }

    /// Counts for /metrics.
    package func snapshot() -> PoolSnapshot {
        state.withLock { state in
            var byPriority: [Int: Int] = [:]
            for (index, queue) in state.queues.enumerated() where !queue.isEmpty { byPriority[index + 1] = queue.count }
            return PoolSnapshot(
                inFlight: state.inFlight, inFlightByProvider: state.inFlightByProvider.filter { $0.value > 0 },
                queued: state.queued, queuedByPriority: byPriority, admitted: state.admitted,
                rejectedQueueFull: state.rejectedQueueFull, rejectedQueueTimeout: state.rejectedQueueTimeout,
                cancelledWhileQueued: state.cancelledWhileQueued
            )
        }
    }

    // MARK: - Waiting

    private func wait(_ id: UInt64) async throws -> PoolLease {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<PoolLease, any Error>) in
                let decided = state.withLock { state -> PoolResolution? in
                    guard var waiter = state.waiters[id] else { return .failed(.cancelled) }
                    if let resolution = waiter.resolution {
                        state.waiters[id] = nil
                        return resolution
                    }
                    if Task.isCancelled {
                        unqueue(id, waiter, in: &state)
                        state.waiters[id] = nil
                        state.cancelledWhileQueued += 1
                        return .failed(.cancelled)
                    }
                    waiter.continuation = continuation
                    state.waiters[id] = waiter
                    return nil
                }
                if let decided { resume([(continuation, decided)]) }
            }
        } onCancel: {
            cancelWaiter(id)
        }
    }

    /// The queue timer fired: refuse the waiter if it is still queued.
    private func expire(_ id: UInt64) {
        let now = self.now
        let wakeups = state.withLock { state -> [PoolWakeup] in
            guard let waiter = state.waiters[id], waiter.isQueued else { return [] }
            unqueue(id, waiter, in: &state)
            state.rejectedQueueTimeout += 1
            let error = RoutingError.queueTimeout(
                waited: now - waiter.enqueuedAt, retryAfter: policy.retryAfter
            )
            return settle(id, waiter, .failed(error), in: &state)
        }
        resume(wakeups)
    }

    /// The waiting task was cancelled: leave the queue, or hand back a slot granted but not yet taken.
    private func cancelWaiter(_ id: UInt64) {
        let now = self.now
        let wakeups = state.withLock { state -> [PoolWakeup] in
            guard let waiter = state.waiters[id] else { return [] }
            switch waiter.resolution {
            case nil:
                unqueue(id, waiter, in: &state)
                state.cancelledWhileQueued += 1
                return settle(id, waiter, .failed(.cancelled), in: &state)
            case .granted(let lease):
                // Granted while its continuation was not attached yet: take the slot back.
                if let provider = state.leases.removeValue(forKey: lease.id) { free(provider, in: &state) }
                state.waiters[id]?.resolution = .failed(.cancelled)
                return dispatch(in: &state, now: now)
            case .failed:
                return []
            }
        }
        resume(wakeups)
    }

    // MARK: - PoolState changes (called with the lock held)

    private func canAdmit(_ provider: String, in state: PoolState) -> Bool {
        state.inFlight < policy.maxConcurrent
            && state.inFlightByProvider[provider, default: 0] < policy.limit(for: provider)
    }

    private func admit(
        provider: String, priority: RequestPriority, enqueuedAt: Duration, now: Duration, in state: inout PoolState
    ) -> PoolLease {
        let id = state.nextID
        state.nextID += 1
        let lease = PoolLease(
            id: id, provider: provider, priority: priority, queueWait: now - enqueuedAt,
            inFlightAtAdmission: state.inFlight
        )
        state.inFlight += 1
        state.inFlightByProvider[provider, default: 0] += 1
        state.leases[id] = provider
        state.admitted += 1
        return lease
    }

    private func free(_ provider: String, in state: inout PoolState) {
        state.inFlight -= 1
        state.inFlightByProvider[provider, default: 1] -= 1
    }

    private func unqueue(_ id: UInt64, _ waiter: PoolWaiter, in state: inout PoolState) {
        let index = waiter.priority.value - 1
        if let position = state.queues[index].firstIndex(of: id) {
            state.queues[index].remove(at: position)
            state.queued -= 1
        }
    }

    /// Records a waiter's fate: wakes it if it is waiting, or leaves the resolution for it to pick up.
    private func settle(_ id: UInt64, _ waiter: PoolWaiter, _ resolution: PoolResolution, in state: inout PoolState) -> [PoolWakeup] {
        if let continuation = waiter.continuation {
            state.waiters[id] = nil
            return [(continuation, resolution)]
        }
        state.waiters[id]?.resolution = resolution
        return []
    }

    /// Admits queued waiters, highest priority first and FIFO within one, while slots are free. A waiter whose
    /// provider is full is passed over (its turn is kept) so other providers' calls are not held up behind it.
    private func dispatch(in state: inout PoolState, now: Duration) -> [PoolWakeup] {
        var wakeups: [PoolWakeup] = []
        for index in stride(from: state.queues.count - 1, through: 0, by: -1) {
            var position = 0
            while position < state.queues[index].count {
                guard state.inFlight < policy.maxConcurrent else { return wakeups }
                let id = state.queues[index][position]
                guard let waiter = state.waiters[id], canAdmit(waiter.provider, in: state) else {
                    position += 1
                    continue
                }
                state.queues[index].remove(at: position)
                state.queued -= 1
                let lease = admit(
                    provider: waiter.provider, priority: waiter.priority, enqueuedAt: waiter.enqueuedAt, now: now,
                    in: &state
                )
                wakeups += settle(id, waiter, .granted(lease), in: &state)
            }
        }
        return wakeups
    }

    private func resume(_ wakeups: [PoolWakeup]) {
        for (continuation, resolution) in wakeups {
            switch resolution {
            case .granted(let lease): continuation.resume(returning: lease)
            case .failed(let error): continuation.resume(throwing: error)
            }
        }
    }
}
