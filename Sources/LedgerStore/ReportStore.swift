/// A value bound to a named parameter (`:name`) of a report query.
package enum SQLArgument: Sendable, Hashable {
    case null
    case integer(Int64)
    case text(String)

    package static func int(_ value: some BinaryInteger) -> SQLArgument { .integer(Int64(value)) }
    package static func optional(_ value: String?) -> SQLArgument { value.map { .text($0) } ?? .null }
}

/// One result row of a report query, read by column index (0-based). The SQLite store reads the statement's
/// columns in place, the PostgreSQL store its row buffer: no per-row dictionaries on either.
package protocol ReportRow {
    /// The integer in `column`, nil for NULL.
    func int(_ column: Int) throws -> Int64?
    /// The text in `column`, nil for NULL.
    func text(_ column: Int) throws -> String?
    /// The UTF-8 bytes of the text in `column` without making a String; nil for NULL.
    func withUTF8<R>(_ column: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R?
}

/// The report queries of one store, inside one consistent read (or one write transaction).
///
/// Queries are written once per dialect: `reports/NAME.sql` (SQLite) and `reports/postgres/NAME.sql` (PostgreSQL),
/// both with named parameters `:name`. `sql(_:)` gives this store's text; inline SQL passed to `forEach`/`execute`
/// must be valid in both dialects.
package protocol ReportReader {
    /// The text of report query `name` in this store's dialect.
    func sql(_ name: String) throws -> String
    /// Runs `sql` with `arguments` (named `:name`), calling `body` for each row in order.
    func forEach(_ sql: String, _ arguments: [String: SQLArgument], _ body: (any ReportRow) throws -> Void) throws
    /// Runs a statement that returns no rows.
    func execute(_ sql: String, _ arguments: [String: SQLArgument]) throws
}

extension ReportReader {
    /// The first column of the first row as an integer (nil without rows or for NULL).
    package func int(_ sql: String, _ arguments: [String: SQLArgument] = [:]) throws -> Int64? {
        var value: Int64?
        var seen = false
        try forEach(sql, arguments) { row in
            if !seen { value = try row.int(0) }
            seen = true
        }
        return value
    }

    /// Every row, made into values by `make`.
    package func all<T>(_ sql: String, _ arguments: [String: SQLArgument] = [:], _ make: (any ReportRow) throws -> T)
        throws -> [T]
    {
        var result: [T] = []
        try forEach(sql, arguments) { result.append(try make($0)) }
        return result
    }
}

/// Where reports read (and month close writes): the SQLite ledger (`LedgerDatabase`) or the PostgreSQL one.
/// The report code sees only this protocol, never which store it has.
package protocol ReportStore: Sendable {
    /// Runs `body` in one read transaction: every query sees the same snapshot.
    func read<T>(_ body: (any ReportReader) throws -> T) throws -> T
    /// Runs `body` in one write transaction (month close and reopen), committed when it returns.
    func write<T>(_ body: (any ReportReader) throws -> T) throws -> T
}
