import GRDB
import GRDBSQLite

/// Binds values in order to one of GRDB's cached statements through the SQLite C API and runs it: the writer's hot
/// path, where boxing dozens of values into `StatementArguments` cost more than the insert itself (bench/README.md).
struct StatementBinder {
    private let statement: SQLiteStatement
    private var index: Int32 = 0

    init(_ statement: SQLiteStatement) { self.statement = statement }

    /// Binds the next parameter; nil binds NULL.
    mutating func int(_ value: Int64?) {
        index += 1
        if let value { sqlite3_bind_int64(statement, index, value) } else { sqlite3_bind_null(statement, index) }
    }

    /// Binds the next parameter; nil binds NULL. SQLite copies the text (SQLITE_TRANSIENT) from the string's own
    /// UTF-8 with its length: passing the `String` as a C string would copy it into a new NUL-terminated array
    /// first (`utf8CString`, one allocation per text column per row).
    mutating func text(_ value: String?) {
        index += 1
        guard var value else {
            sqlite3_bind_null(statement, index)
            return
        }
        let statement = statement
        let index = index
        value.withUTF8 { bytes in
            if let start = bytes.baseAddress, !bytes.isEmpty {
                let text = UnsafeRawPointer(start).assumingMemoryBound(to: CChar.self)
                _ = sqlite3_bind_text(statement, index, text, Int32(bytes.count), Self.transient)
            } else {
                // Not a null pointer: SQLite would bind that as NULL, not as the empty string.
                _ = sqlite3_bind_text(statement, index, "", 0, Self.transient)
            }
        }
    }

    /// Runs the statement once (it must not return rows) and resets it for the next use.
    mutating func execute(_ db: Database) throws {
        let code = sqlite3_step(statement)
        sqlite3_reset(statement)
        index = 0
        guard code == SQLITE_DONE else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }

    /// SQLITE_TRANSIENT: SQLite copies the bound text before the Swift string's buffer goes away.
    static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
}
