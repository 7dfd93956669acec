import Dispatch
import Foundation
import Synchronization

/// `ledger-bench handoff`: what one round trip of an awaiting task through another thread costs, with no SQLite:
/// the hand-off every "commit off the cooperative pool" design adds to a lone call (a commit thread woken from a
/// semaphore, as LedgerWriter had; a serial dispatch queue, as LedgerWriter has and GRDB's async API uses), beside
/// `Task.yield()` (one re-enqueue on the pool) for scale. Wall time, CPU time and context switches per round trip.
enum HandoffBenchmark {
    /// A thread parked on a semaphore that resumes whatever continuations were queued when it is signalled.
    private final class ParkedThread: @unchecked Sendable {
        private let wakeUp = DispatchSemaphore(value: 0)
        private let queue = Mutex<[UnsafeContinuation<Void, Never>]>([])

        init() {
            let thread = Thread { [self] in
                while true {
                    wakeUp.wait()
                    let jobs = queue.withLock { queued in
                        defer { queued.removeAll() }
                        return queued
                    }
                    for job in jobs { job.resume() }
                }
            }
            thread.name = "handoff-bench"
            thread.start()
        }

        func roundTrip() async {
            await withUnsafeContinuation { continuation in
                queue.withLock { $0.append(continuation) }
                wakeUp.signal()
            }
        }
    }

    static func run(_ arguments: [String]) async throws {
        var count = 50_000
        if let i = arguments.firstIndex(of: "--count"), i + 1 < arguments.count, let n = Int(arguments[i + 1]) {
            count = n
        }
        let thread = ParkedThread()
        let queue = DispatchQueue(label: "handoff-bench", qos: .userInitiated)
        print("\(count) round trips per run, one awaiting task on the cooperative pool")
        print("mode                         wall/trip   CPU/trip   context switches/trip")
        for _ in 1...3 {
            for mode in Mode.allCases {
                // A task of the cooperative pool, as the proxy's calls and the writer benchmark's producers are
                // (this function runs on the main actor).
                let (before, after) = await Task.detached {
                    await measure(mode, count: count, thread: thread, queue: queue)
                }.value
                let n = Double(count)
                print(
                    mode.rawValue.padding(toLength: 28, withPad: " ", startingAt: 0)
                        + String(
                            format: " %6.1f us  %6.1f us   %5.2f", (after.wall - before.wall) * 1e6 / n,
                            (after.cpu - before.cpu) * 1e6 / n, Double(after.switches - before.switches) / n))
            }
        }
    }

    private enum Mode: String, CaseIterable {
        case yield = "Task.yield()"
        case thread = "thread on a semaphore"
        case queue = "serial dispatch queue"
    }

    private static func measure(
        _ mode: Mode, count: Int, thread: ParkedThread, queue: DispatchQueue
    ) async -> (Usage, Usage) {
        let before = Usage.now()
        for _ in 0..<count {
            switch mode {
            case .yield:
                await Task.yield()
            case .thread:
                await thread.roundTrip()
            case .queue:
                await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                    queue.async { continuation.resume() }
                }
            }
        }
        return (before, Usage.now())
    }

    private struct Usage: Sendable {
        var wall: Double
        var cpu: Double
        var switches: Int

        static func now() -> Usage {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
                + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
            let wall = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
            return Usage(wall: wall, cpu: cpu, switches: usage.ru_nvcsw + usage.ru_nivcsw)
        }
    }
}
