package import LedgerStore
package import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// The report queries over a PostgreSQL ledger (`ReportStore`): reports/postgres/NAME.sql, every report in one
/// REPEATABLE READ transaction (one snapshot, as SQLite's read transaction) on a connection of its own.
///
/// The report code is synchronous, so this waits on postgres-nio's event-loop futures. They run on a dedicated
/// event-loop thread (never the proxy's, never Swift's cooperative pool), so waiting cannot deadlock either.
/// Rows are fetched whole per query (reports read aggregated rollup rows), except queries that take `:after_id`:
/// those are read in pages of `pageSize` rows by the id in their LAST column (keyset paging: the export and the
/// latency scan stay in constant memory on 10M calls).
///
/// Report queries sum `call_rollup` rows, so they count pending rows (migrations/postgres/0008) as soon as they are
/// committed. A write transaction (month close, reopen, rates) first takes the fold lock for its connection, then
/// folds inside its own snapshot, so the close copies exactly one row per key and no replica folds meanwhile.
package struct PostgresReportStore: ReportStore {
    package let settings: PostgresSettings
    let logger: Logger
    package var pageSize: Int64 = 20_000

    package init(settings: PostgresSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// One event-loop thread for every report connection of the process.
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    package func read<T>(_ body: (any ReportReader) throws -> T) throws -> T {
        try transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    package func write<T>(_ body: (any ReportReader) throws -> T) throws -> T {
        try transaction("BEGIN ISOLATION LEVEL REPEATABLE READ", fold: true, body)
    }

    /// `call_rollup_fold()`'s advisory-lock key ("hsl-fold").
    static let foldLockKey: Int64 = 0x6873_6c2d_666f_6c64

    private func transaction<T>(_ begin: String, fold: Bool = false, _ body: (any ReportReader) throws -> T) throws
        -> T
    {
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection.connect(
                on: Self.group.next(), configuration: settings.connectionConfiguration, id: 1, logger: logger
            ).wait()
        } catch {
            throw PostgresLedgerError.connect(address: settings.address, cause: PostgresSettings.cause(of: error))
        }
        defer { try? connection.close().wait() }
        let reader = PostgresReportReader(connection: connection, logger: logger, pageSize: pageSize)
        // Session-level, before the snapshot: a fold that commits while this waits is then seen whole. Released
        // when the connection closes.
        if fold { try reader.execute("SELECT pg_advisory_lock(\(Self.foldLockKey))", [:]) }
        try reader.execute(begin, [:])
        do {
            if fold { try reader.execute("SELECT call_rollup_fold()", [:]) }
            let value = try body(reader)
            try reader.execute("COMMIT", [:])
            return value
        } catch {
            try? reader.execute("ROLLBACK", [:])
            throw error
        }
    }
}

/// Report queries on one PostgreSQL connection inside the store's transaction.
struct PostgresReportReader: ReportReader {
    let connection: PostgresConnection
    let logger: Logger
    let pageSize: Int64

    func sql(_ name: String) throws -> String {
        guard let entry = EmbeddedSQL.reports.first(where: { $0.name == name }) else {
            throw PostgresLedgerError.query("no report query reports/postgres/\(name).sql in this build")
        }
        return entry.sql
    }

    func forEach(_ sql: String, _ arguments: [String: SQLArgument], _ body: (any ReportRow) throws -> Void) throws {
        let names = Self.parameterNames(sql)
        guard names.contains("after_id") else {
            for row in try run(sql, names, arguments) { try body(PostgresReportRow(row.makeRandomAccess())) }
            return
        }
        // Keyset paging by the id in the last column: `id > :after_id ORDER BY id LIMIT :page_size`.
        var page = arguments
        page["page_size"] = .integer(pageSize)
        var after = Int64.min
        while true {
            page["after_id"] = .integer(after)
            let rows = try run(sql, names, page)
            for row in rows {
                let cells = row.makeRandomAccess()
                after = try cells[cells.count - 1].decode(Int64.self)
                try body(PostgresReportRow(cells))
            }
            if Int64(rows.count) < pageSize { return }
        }
    }

    func execute(_ sql: String, _ arguments: [String: SQLArgument]) throws {
        _ = try run(sql, Self.parameterNames(sql), arguments)
    }

    private func run(_ sql: String, _ names: [String], _ arguments: [String: SQLArgument]) throws
        -> PostgresQueryResult
    {
        var bindings = PostgresBindings(capacity: names.count)
        for name in names {
            guard let value = arguments[name] else {
                throw PostgresLedgerError.query("the report query needs a value for :\(name)")
            }
            switch value {
            case .null: bindings.appendNull()
            case .integer(let n): bindings.append(n)
            case .text(let s): bindings.append(s)
            }
        }
        do {
            return try connection.query(
                PostgresQuery(unsafeSQL: Self.positional(sql, names), binds: bindings), logger: logger
            ).wait()
        } catch {
            throw PostgresLedgerError.query(PostgresSettings.cause(of: error))
        }
    }

    /// The distinct `:name` parameters of `sql`, in order of first use (outside quotes, comments and `::` casts).
    static func parameterNames(_ sql: String) -> [String] {
        var names: [String] = []
        scan(sql) { name in
            if !names.contains(name) { names.append(name) }
            return nil
        }
        return names
    }

    /// `sql` with each `:name` replaced by `$n`, n its position in `names` (1-based).
    static func positional(_ sql: String, _ names: [String]) -> String {
        scan(sql) { name in names.firstIndex(of: name).map { "$\($0 + 1)" } }
    }

    /// Walks `sql`, calling `replace` for each `:name` parameter; returns the text with the replacements made.
    @discardableResult
    private static func scan(_ sql: String, _ replace: (String) -> String?) -> String {
        let s = Array(sql.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        func isNameStart(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 }
        func isName(_ c: UInt8) -> Bool { isNameStart(c) || (c >= 48 && c <= 57) }
        while i < s.count {
            let c = s[i]
            if c == UInt8(ascii: "-"), i + 1 < s.count, s[i + 1] == UInt8(ascii: "-") {
                while i < s.count, s[i] != 10 {
                    out.append(s[i])
                    i += 1
                }
                continue
            }
            if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
                out.append(c)
                i += 1
                while i < s.count {
                    out.append(s[i])
                    i += 1
                    if s[i - 1] == c { break }
                }
                continue
            }
            if c == UInt8(ascii: ":") {
                if i + 1 < s.count, s[i + 1] == UInt8(ascii: ":") {
                    out.append(contentsOf: [c, c])
                    i += 2
                    continue
                }
                if i + 1 < s.count, isNameStart(s[i + 1]) {
                    var j = i + 1
                    while j < s.count, isName(s[j]) { j += 1 }
                    let name = String(decoding: s[(i + 1)..<j], as: UTF8.self)
                    if let replacement = replace(name) {
                        out.append(contentsOf: replacement.utf8)
                    } else {
                        out.append(contentsOf: s[i..<j])
                    }
                    i = j
                    continue
                }
            }
            out.append(c)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// One row of a PostgreSQL result.
struct PostgresReportRow: ReportRow {
    let cells: PostgresRandomAccessRow

    init(_ cells: PostgresRandomAccessRow) { self.cells = cells }

    func int(_ column: Int) throws -> Int64? { try cells[column].decode(Int64?.self) }

    func text(_ column: Int) throws -> String? { try cells[column].decode(String?.self) }

    func withUTF8<R>(_ column: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R? {
        guard let bytes = cells[column].bytes else { return nil }
        return try bytes.withUnsafeReadableBytes { raw in try body(raw.bindMemory(to: UInt8.self)) }
    }
}
