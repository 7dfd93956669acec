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
