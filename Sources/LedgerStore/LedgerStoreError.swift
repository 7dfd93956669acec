/// Why the ledger refused to open, write or change something. Every message is one line (CLI errors are one line).
package enum LedgerStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file exists but does not start with the SQLite header: it was left untouched.
    case notSQLite(path: String)
    /// The file is a SQLite database of something else (tables, but no ledger migrations): it was left untouched.
    case notALedger(path: String)
    /// SQLite's integrity check failed (or SQLite could not read the file): it was left untouched.
    case corrupt(path: String, detail: String)
    /// The ledger has migrations this binary does not know: a newer holysheep-ledger made it.
    case newerSchema(path: String, unknownMigrations: [String])
    /// Another process holds the writer lock of this ledger (only one call writer per file).
    case writerLocked(path: String, lockPath: String)
    /// The writer has shut down (or was never started) and takes no more calls.
    case writerStopped
    /// A price CSV line is invalid: the whole file was rejected and nothing changed.
    case invalidPriceCSV(line: Int, reason: String)
    /// A price row for the same list, model and effective date already exists.
    case duplicatePrice(kind: String, model: String, effectiveFrom: String)
    /// An argument is invalid (a bad price, an empty name).
    case invalid(String)
    /// No client key has this id.
    case keyNotFound(id: Int64)
    /// The client key was already revoked.
    case keyAlreadyRevoked(id: Int64)
    /// SQLite failed underneath (disk full, I/O error, locked for too long).
    case database(String)

    package var description: String {
        let text =
            switch self {
            case .notSQLite(let path): "\(path) is not a SQLite ledger file (no SQLite header); left untouched"
            case .notALedger(let path):
                "\(path) is a SQLite database but not a holysheep-ledger ledger; left untouched"
            case .corrupt(let path, let detail): "\(path) is corrupt (\(detail)); left untouched"
            case .newerSchema(let path, let unknown):
                "\(path) was created by a newer holysheep-ledger (unknown migrations: "
                    + unknown.joined(separator: ", ") + "); upgrade this binary; left untouched"
            case .writerLocked(let path, let lockPath):
                "another process is already recording calls into \(path) (lock \(lockPath) is held)"
            case .writerStopped: "the ledger writer has stopped; the call was not recorded"
            case .invalidPriceCSV(let line, let reason): "line \(line): \(reason); no price was imported"
            case .duplicatePrice(let kind, let model, let from):
                "the \(kind) price of \(model) from \(from) already exists (history is never overwritten)"
            case .invalid(let message): message
            case .keyNotFound(let id): "no client key with id \(id)"
            case .keyAlreadyRevoked(let id): "client key \(id) is already revoked"
            case .database(let message): "ledger database error: \(message)"
            }
        // One line, always: SQLite messages may carry the SQL text across lines.
        return text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
