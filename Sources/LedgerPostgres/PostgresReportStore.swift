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
            // Reports are short queries: no JIT compilation (it costs more than it saves below a second), and sort
            // memory for ranking a period's latencies (latency_p95_by_group.sql) in memory, not in temp files.
            try reader.execute("SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true)", [:])
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
        var row = PostgresReportRow()
        guard names.contains("after_id") else {
            let rows = try wait(send(sql, names, arguments))
            for index in 0..<rows.count {
                rows.load(index, into: &row)
                try body(row)
            }
            return
        }
        // Keyset paging by the id in the last column: `id > :after_id ORDER BY id LIMIT :page_size`. The next page is
        // asked for as soon as a full page arrives (its last id is the next :after_id), so the server makes page k+1
        // while this side reads page k: at most two pages in memory.
        var page = arguments
        page["page_size"] = .integer(pageSize)
        page["after_id"] = .integer(Int64.min)
        var next = try send(sql, names, page)
        var spare = PostgresPageRows()
        while true {
            var rows = try wait(next)
            let full = Int64(rows.count) >= pageSize
            if full {
                rows.load(rows.count - 1, into: &row)
                guard let after = try row.int(row.count - 1) else {
                    throw PostgresLedgerError.query("the paging id (last column) of a report query is NULL")
                }
                page["after_id"] = .integer(after)
                next = try send(sql, names, page, into: consume spare)  // the only reference: no copy on write
            }
            for index in 0..<rows.count {
                rows.load(index, into: &row)
                try body(row)
            }
            if !full { return }
            // This page's buffers (their capacity) take the page after next.
            row.bytes = []
            rows.removeAll()
            spare = consume rows
        }
    }

    func execute(_ sql: String, _ arguments: [String: SQLArgument]) throws {
        let names = Self.parameterNames(sql)
        _ = try wait(send(sql, names, arguments))
    }

    /// Sends `sql` with `arguments` bound in `names` order. The event loop copies each row into the page as it
    /// arrives (postgres-nio's row callback: its collect-all mode copies the rows received so far on every read,
    /// quadratic in the page size); the page is complete when the future is.
    private func send(
        _ sql: String, _ names: [String], _ arguments: [String: SQLArgument],
        into rows: consuming PostgresPageRows = PostgresPageRows()
    ) throws -> (EventLoopFuture<PostgresQueryMetadata>, PostgresPage) {
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
        let page = PostgresPage(consume rows)
        let done = connection.query(
            PostgresQuery(unsafeSQL: Self.positional(sql, names), binds: bindings), logger: logger
        ) { row in try page.rows.append(row) }
        return (done, page)
    }

    private func wait(_ query: (EventLoopFuture<PostgresQueryMetadata>, PostgresPage)) throws -> PostgresPageRows {
        do {
            _ = try query.0.wait()
        } catch {
            throw PostgresLedgerError.query(PostgresSettings.cause(of: error))
        }
        return query.1.take()
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

/// One row of a PostgreSQL result, as `PostgresPageRows.load` made it: the page's cell bytes in one array and where each
/// column is. Integers (int2, int4, int8 in binary format) and text are read from their bytes directly: no
/// postgres-nio `PostgresCell.decode`, `PostgresCell` or `ByteBuffer` per read (the export reads 40 columns of each
/// of 800,000 rows). Three references, so the `any ReportRow` the report code gets is not boxed on the heap.
///
/// A cell holding a `ROW(...)` (type record, binary) counts as its fields, in order, as if they were columns of the
/// result: reports/postgres/export_calls.sql sends each call as one such cell, since every cell of a result costs
/// postgres-nio a `ByteBuffer` slice and a `PostgresCell` (reference counting for each), a field nothing.
struct PostgresReportRow: ReportRow {
    fileprivate var bytes: [UInt8] = []
    /// Two per column: the start and end of its bytes in `bytes` (the whole page's); -1, -1 for NULL.
    fileprivate var bounds: [Int] = []
    fileprivate var columns = PostgresRowColumns()

    var count: Int { bounds.count / 2 }

    func int(_ column: Int) throws -> Int64? {
        let start = bounds[2 * column]
        guard start >= 0 else { return nil }
        switch columns.kinds[column] {
        case .int8: return Int64(bigEndian: load(start, as: Int64.self))
        case .int4: return Int64(Int32(bigEndian: load(start, as: Int32.self)))
        case .int2: return Int64(Int16(bigEndian: load(start, as: Int16.self)))
        default: return try columns.cell(column).decode(Int64.self)
        }
    }

    func text(_ column: Int) throws -> String? {
        let start = bounds[2 * column]
        guard start >= 0 else { return nil }
        guard columns.kinds[column] == .text else { return try columns.cell(column).decode(String.self) }
        return bytes.withUnsafeBufferPointer { String(decoding: $0[start..<bounds[2 * column + 1]], as: UTF8.self) }
    }

    /// The cell's bytes (UTF-8 for text), nil for NULL.
    func withUTF8<R>(_ column: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R? {
        let start = bounds[2 * column]
        guard start >= 0 else { return nil }
        let end = bounds[2 * column + 1]
        return try bytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<end])) }
    }

    private func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }
}

/// How each column of a result is read, from its first row (every row of a result has the same columns, and a
/// record cell the same field types).
final class PostgresRowColumns {
    enum Kind: Equatable {
        case int8, int4, int2, text, other
        /// A field of another type inside a record cell: not readable (cast it in the SQL).
        case otherField(oid: UInt32)
    }
    let kinds: [Kind]
    /// Per cell of the result: whether it is a record read as its fields.
    let records: [Bool]
    /// Per column: the cell it is (columns of kind .other only; records are expanded).
    let cellIndex: [Int]
    /// The row itself, kept only when some column is of kind .other (decoded by postgres-nio).
    var row: PostgresRow?

    init() {
        kinds = []
        records = []
        cellIndex = []
    }

    init(_ row: PostgresRow) throws {
        var kinds: [Kind] = []
        var records: [Bool] = []
        var cellIndex: [Int] = []
        for (index, cell) in row.enumerated() {
            let binary = cell.format == .binary
            if cell.dataType.rawValue == Self.recordOID, binary, let value = cell.bytes {
                records.append(true)
                try value.withUnsafeReadableBytes { raw in
                    try Self.fields(of: UnsafeRawBufferPointer(raw)) { oid, _, _ in
                        let kind = Self.kind(oid, binary: true)
                        kinds.append(kind == .other ? .otherField(oid: oid) : kind)
                        cellIndex.append(-1)
                    }
                }
            } else {
                records.append(false)
                kinds.append(Self.kind(cell.dataType.rawValue, binary: binary))
                cellIndex.append(index)
            }
        }
        self.kinds = kinds
        self.records = records
        self.cellIndex = cellIndex
    }

    static let recordOID: UInt32 = 2249

    static func kind(_ oid: UInt32, binary: Bool) -> Kind {
        switch (oid, binary) {
        case (20, true): .int8
        case (23, true): .int4
        case (21, true): .int2
        case (25, _), (1043, _), (19, _), (1042, _): .text  // text, varchar, name, bpchar: UTF-8 either way
        default: .other
        }
    }

    var needsRow: Bool { kinds.contains(.other) }

    func cell(_ column: Int) throws -> PostgresCell {
        if case .otherField(let oid) = kinds[column] {
            throw PostgresLedgerError.query(
                "report column \(column) is a ROW field of type oid \(oid): cast it to bigint or text in the SQL")
        }
        return PostgresRandomAccessRow(row!)[cellIndex[column]]
    }

    /// Calls `field` with (type oid, start, end) of each field of a record in binary format (record_send: the field
    /// count, then per field its type oid, its length or -1 for NULL, its bytes); start and end are offsets in
    /// `record`, -1 for NULL.
    static func fields(of record: UnsafeRawBufferPointer, _ field: (UInt32, Int, Int) throws -> Void) throws {
        func int32(_ at: Int) throws -> Int32 {
            guard at >= 0, at + 4 <= record.count else { throw malformed }
            return Int32(bigEndian: record.loadUnaligned(fromByteOffset: at, as: Int32.self))
        }
        let count = try int32(0)
        var at = 4
        for _ in 0..<max(count, 0) {
            let oid = UInt32(bitPattern: try int32(at))
            let length = Int(try int32(at + 4))
            at += 8
            if length < 0 {
                try field(oid, -1, -1)
            } else {
                guard at + length <= record.count else { throw malformed }
                try field(oid, at, at + length)
                at += length
            }
        }
    }

    static let malformed = PostgresLedgerError.query("malformed record cell in a report query result")
}

/// The rows of one query: filled by the event loop while the query runs, read by the report's thread only after the
/// query's future completed (which orders the two), hence unchecked.
final class PostgresPage: @unchecked Sendable {
    var rows: PostgresPageRows

    init(_ rows: consuming PostgresPageRows) { self.rows = rows }

    /// The rows, leaving the page empty (so that the caller's copy is the only one and can be reused).
    func take() -> PostgresPageRows {
        var taken = PostgresPageRows()
        swap(&taken, &rows)
        return taken
    }
}

/// Rows copied from postgres-nio's: every row's cell bytes in one array and where each column is.
struct PostgresPageRows {
    private var bytes: [UInt8] = []
    /// 2 × columns per row: the start and end of each column's bytes in `bytes`; -1, -1 for NULL.
    private var bounds: [Int] = []
    private var columns = PostgresRowColumns()
    private var records: [Bool] = []
    private var needsRow = false
    /// The rows themselves, only when some column is decoded by postgres-nio.
    private var kept: [PostgresRow] = []
    private(set) var count = 0

    mutating func append(_ result: PostgresRow) throws {
        if count == 0 {
            columns = try PostgresRowColumns(result)
            records = columns.records
            needsRow = columns.needsRow
        }
        let first = bounds.count
        var index = 0
        for cell in result {
            defer { index += 1 }
            guard let value = cell.bytes else {
                guard !records[index] else { throw PostgresRowColumns.malformed }  // a NULL record: no fields
                bounds.append(-1)
                bounds.append(-1)
                continue
            }
            try value.withUnsafeReadableBytes { raw in
                let base = bytes.count
                bytes.append(contentsOf: raw)
                if records[index] {
                    try PostgresRowColumns.fields(of: UnsafeRawBufferPointer(raw)) { _, start, end in
                        bounds.append(start < 0 ? -1 : base + start)
                        bounds.append(end < 0 ? -1 : base + end)
                    }
                } else {
                    bounds.append(base)
                    bounds.append(bytes.count)
                }
            }
        }
        guard bounds.count - first == 2 * columns.kinds.count else { throw PostgresRowColumns.malformed }
        if needsRow { kept.append(result) }
        count += 1
    }

    /// No rows, keeping the buffers' capacity.
    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        bounds.removeAll(keepingCapacity: true)
        kept.removeAll(keepingCapacity: true)
        count = 0
    }

    /// Makes `row` row `index` (reusing its bounds array).
    func load(_ index: Int, into row: inout PostgresReportRow) {
        let width = 2 * columns.kinds.count
        row.bounds.removeAll(keepingCapacity: true)
        row.bounds.append(contentsOf: bounds[(index * width)..<((index + 1) * width)])
        row.bytes = bytes
        row.columns = columns
        if needsRow { columns.row = kept[index] }
    }
}
