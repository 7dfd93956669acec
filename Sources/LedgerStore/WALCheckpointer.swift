import GRDB
import GRDBSQLite
import Synchronization

/// Checkpoints the ledger's WAL off the commit path.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses 1000 WAL pages, copying pages into the main file
/// and fsyncing it: that commit then took 5 to 30 ms, and every call in its batch waited that long (the p99 of
/// `ledger-bench writer`). Instead, while the writer runs, a WAL hook on its connection counts the frames after each
/// commit and wakes this checkpointer, which runs a PASSIVE checkpoint on its own connection, on GRDB's dispatch
/// queue (not the cooperative pool). A PASSIVE checkpoint never takes the write lock, so commits go on meanwhile;
/// once it has copied everything, SQLite restarts the WAL from its beginning at the next commit. When the writer
/// stops, the connection's automatic checkpoint is restored.
final class WALCheckpointer: Sendable {
    /// The WAL size, in frames (pages), that triggers a checkpoint: 16 MB of 4 KiB pages, fewer fsyncs than SQLite's 1000.
    static let thresholdFrames: Int32 = 4000

    private let connection: DatabaseQueue
    private let state = Mutex(State())
    private let onCheckpoint: @Sendable (_ walFrames: Int, _ checkpointedFrames: Int) -> Void

    private struct State {
        var waiter: CheckedContinuation<Void, Never>?
        var pending = false
        var finished = false
    }

    /// Opens the checkpoint connection, or returns nil when `writer` is not a WAL file (in-memory ledgers).
    /// - Parameters:
    ///   - writer: the ledger's writer (its connection gets the WAL hook).
    ///   - onCheckpoint: called after each checkpoint with the WAL's frames and how many were copied.
    init?(writer: any DatabaseWriter, onCheckpoint: @escaping @Sendable (Int, Int) -> Void) throws {
        let path = writer.path
        if path.isEmpty || path == ":memory:" || path.hasPrefix("file::memory:") { return nil }
        let mode = try writer.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        guard mode == "wal" else { return nil }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "ledger.checkpointer"
        connection = try DatabaseQueue(path: path, configuration: configuration)
        self.onCheckpoint = onCheckpoint
    }

    /// Replaces the writer connection's automatic checkpoint with a hook that wakes this checkpointer.
    /// The hook holds an unretained pointer: `uninstall(from:)` must run before this object goes away.
    func install(on writer: any DatabaseWriter) throws {
        let context = Unmanaged.passUnretained(self).toOpaque()
        writer.writeWithoutTransaction { db in
            _ = sqlite3_wal_hook(
                db.sqliteConnection,
                { context, _, _, frames in
                    guard let context else { return SQLITE_OK }
                    Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue().committed(frames: frames)
                    return SQLITE_OK
                }, context)
        }
    }

    /// Restores SQLite's automatic checkpoint on the writer connection (removing the hook).
    func uninstall(from writer: any DatabaseWriter) {
        writer.writeWithoutTransaction { db in
            _ = sqlite3_wal_autocheckpoint(db.sqliteConnection, 1000)  // SQLite's default
        }
    }

    /// Called by SQLite after each commit on the writer connection (on the writer's thread): must be quick.
    private func committed(frames: Int32) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard frames >= Self.thresholdFrames, !s.pending else { return nil }
            s.pending = true
            let waiter = s.waiter
            s.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Checkpoints whenever the WAL has grown past the threshold, until `finish()`.
    func run() async {
        while true {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.finished || s.pending { return true }
                    s.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            let (finished, pending) = state.withLock { ($0.finished, $0.pending) }
            if finished { return }
            guard pending else { continue }
            // On GRDB's queue for this connection: the fsyncs never block a cooperative thread.
            if let result = try? await connection.writeWithoutTransaction({ try $0.checkpoint(.passive) }) {
                onCheckpoint(result.walFrameCount, result.checkpointedFrameCount)
            }
            state.withLock { $0.pending = false }
        }
    }

    /// Stops `run()` after its current checkpoint.
    func finish() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.finished = true
            let waiter = s.waiter
            s.waiter = nil
            return waiter
        }
        waiter?.resume()
    }
}
