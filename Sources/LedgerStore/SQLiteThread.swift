import Dispatch

/// Runs blocking SQLite work off Swift's cooperative thread pool: GRDB's synchronous `read`/`write` block their
/// calling thread until the connection's queue has run them, and a blocked cooperative thread is one of the few
/// (one per core) that every task of the process shares.
package enum SQLiteThread {
    private static let queue = DispatchQueue(label: "holysheep-ledger.sqlite", qos: .userInitiated, attributes: .concurrent)

    /// Runs `body` on a dispatch thread and returns its result to the awaiting task.
    package static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withUnsafeThrowingContinuation { continuation in
            queue.async {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
        }
    }
}

/// A task executor that runs its jobs one at a time on a dedicated dispatch queue (so on a thread outside the
/// cooperative pool): the ledger writer's commit loop runs on one, so its synchronous SQLite transactions never
/// occupy a cooperative thread while other tasks wait for one.
package final class DedicatedTaskExecutor: TaskExecutor {
    private let queue: DispatchQueue

    package init(label: String) {
        queue = DispatchQueue(label: label, qos: .userInitiated)
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
