import GRDB
import GRDBSQLite

extension LedgerDatabase: ReportStore {
    package func read<T>(_ body: (any ReportReader) throws -> T) throws -> T {
        try writer.read { db in try body(SQLiteReportReader(db: db)) }
    }

    package func write<T>(_ body: (any ReportReader) throws -> T) throws -> T {
        try writer.write { db in try body(SQLiteReportReader(db: db)) }
    }
}

/// Report queries on one GRDB connection: reports/NAME.sql, rows read straight from the SQLite statement.
struct SQLiteReportReader: ReportReader {
    let db: Database

    func sql(_ name: String) throws -> String {
        guard let entry = EmbeddedSQL.reports.first(where: { $0.name == name }) else {
            throw LedgerStoreError.invalid("no report query \(name).sql in this build")
        }
        return entry.sql
    }

    func forEach(_ sql: String, _ arguments: [String: SQLArgument], _ body: (any ReportRow) throws -> Void) throws {
        let statement = try db.cachedStatement(sql: sql)
        let rows = try Row.fetchCursor(statement, arguments: Self.arguments(arguments))
        let row = SQLiteStatementRow(statement: statement.sqliteStatement)
        while try rows.next() != nil { try body(row) }
    }

    func execute(_ sql: String, _ arguments: [String: SQLArgument]) throws {
        try db.execute(sql: sql, arguments: Self.arguments(arguments))
    }

    static func arguments(_ arguments: [String: SQLArgument]) -> StatementArguments {
        var values: [String: (any DatabaseValueConvertible)?] = [:]
        for (name, value) in arguments {
            switch value {
            case .null: values[name] = DatabaseValue.null
            case .integer(let n): values[name] = n
            case .text(let s): values[name] = s
            }
        }
        return StatementArguments(values)
    }
}

/// The current row of a stepping SQLite statement.
struct SQLiteStatementRow: ReportRow {
    let statement: SQLiteStatement

    func int(_ column: Int) -> Int64? {
        let c = Int32(column)
        return sqlite3_column_type(statement, c) == SQLITE_NULL ? nil : sqlite3_column_int64(statement, c)
    }

    func text(_ column: Int) -> String? {
        withUTF8(column) { String(decoding: $0, as: UTF8.self) }
    }

    func withUTF8<R>(_ column: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        let c = Int32(column)
        guard sqlite3_column_type(statement, c) != SQLITE_NULL else { return nil }
        // sqlite3_column_text first, then _bytes (the documented order): the length is of the UTF-8 text.
        let pointer = sqlite3_column_text(statement, c)
        let count = Int(sqlite3_column_bytes(statement, c))
        return try body(UnsafeBufferPointer(start: pointer, count: count))
    }
}
