import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An advisory `flock` on `<db>-writer.lock`, held by the one `LedgerWriter` of a ledger file.
///
/// The kernel drops the lock when the process dies (even by SIGKILL), so a crashed writer never blocks the next one.
final class WriterLock: Sendable {
    private let descriptor: Mutex<Int32?>

    /// Takes the lock, or returns nil for in-memory databases (no file to share).
    init?(databasePath path: String) throws {
        if path.isEmpty || path == ":memory:" || path.hasPrefix("file::memory:") { return nil }
        let lockPath = path + "-writer.lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LedgerStoreError.database("cannot open \(lockPath) (errno \(errno))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw LedgerStoreError.writerLocked(path: path, lockPath: lockPath)
        }
        descriptor = Mutex(fd)
    }

    /// Releases the lock (idempotent).
    func release() {
        if let fd = descriptor.withLock({ d -> Int32? in
            defer { d = nil }
            return d
        }) {
            close(fd)
        }
    }

    deinit { release() }
}
