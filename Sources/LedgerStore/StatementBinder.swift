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

    /// Binds the next parameter; nil binds NULL. SQLite copies the text (SQLITE_TRANSIENT).
    mutating func text(_ value: String?) {
        index += 1
        if let value {
            sqlite3_bind_text(statement, index, value, -1, Self.transient)
        } else {
            sqlite3_bind_null(statement, index)
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
