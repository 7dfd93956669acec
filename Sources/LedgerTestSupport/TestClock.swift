import Synchronization

/// A clock that moves only when told (shared by the routing and proxy tests). In `.manual` mode sleepers wait until `advance(by:)` passes their deadline;
/// in `.autoAdvance` mode a sleep returns at once after moving time to its deadline (and is recorded), so retry
/// backoffs cost no real time. Shape of hummingbird's `MockClock`.
package final class TestClock: Clock, Sendable {
    package struct Instant: InstantProtocol {
        package var offset: Duration

        package func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        package func duration(to other: Instant) -> Duration { other.offset - offset }
        package static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    package enum Mode: Sendable {
        case manual
        case autoAdvance
    }

    private struct Sleeper {
        var id: Int
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Sleeper] = []
        var sleeps: [Duration] = []
        var nextID = 0
    }

    package let mode: Mode
    private let state = Mutex(State())

    package init(_ mode: Mode = .manual) { self.mode = mode }

    package var now: Instant { state.withLock { $0.now } }
    package var minimumResolution: Duration { .nanoseconds(1) }

    /// Every sleep asked for, in order (its deadline minus the time it was asked).
    package var recordedSleeps: [Duration] { state.withLock { $0.sleeps } }
    /// Sleepers waiting for `advance(by:)`.
    package var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    package func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        if mode == .autoAdvance {
            state.withLock { state in
                state.sleeps.append(state.now.duration(to: deadline))
                if state.now < deadline { state.now = deadline }
            }
            return
        }
        let id = state.withLock { state in
            state.sleeps.append(state.now.duration(to: deadline))
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    if deadline <= state.now { return .success(()) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and wakes every sleeper whose deadline has come.
    package func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}
