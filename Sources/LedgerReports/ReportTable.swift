import LedgerCore

/// A report ready to render: rounded cells in a fixed column order (the CSV interface), with notes.
///
/// Every renderer (table, CSV, JSON, Markdown, HTML) draws the same `ReportTable`, so all formats show the same
/// figures.
package struct ReportTable: Sendable, Hashable {
    /// A column: `name` is the CSV header / JSON key and carries the unit (`cost_official_usd`), a stable
    /// machine interface; `label` is the header people read in the table, Markdown, HTML and Excel ("Paid (USD)").
    package struct Column: Sendable, Hashable {
        package var name: String
        package var label: String
        package var isNumeric: Bool
        /// Shown by the default terminal table (the columns that fit 100 characters).
        package var isEssential: Bool
        package init(_ name: String, label: String? = nil, numeric: Bool = true, essential: Bool = false) {
            self.name = name
            self.label = label ?? name
            self.isNumeric = numeric
            self.isEssential = essential
        }
    }

    /// One cell. Numbers stay exact integers with a decimal scale; text is text.
    package enum Cell: Sendable, Hashable {
        case text(String)
        case integer(Int128)
        /// `units / 10^scale`, e.g. (19340, 2) = 193.40.
        case decimal(Int128, scale: Int)
        case empty

        /// The plain-number or text form used by CSV, JSON and Markdown: "193.40", "-0.05", "gpt-4.1".
        package var plain: String {
            switch self {
            case .text(let s): s
            case .integer(let v): String(v)
            case .decimal(let v, let scale): Money.formatUnits(v, scale: scale)
            case .empty: ""
            }
        }

        /// The form people read: thousands separators ("12,345.60"), "-" for empty, "(none)" for an empty name.
        package var human: String {
            switch self {
            case .text(let s): s.isEmpty ? "(none)" : s.replacingControlCharacters()
            case .empty: "-"
            case .integer, .decimal: Self.grouped(plain)
            }
        }

        /// "1234567.89" -> "1,234,567.89"; "-1234" -> "-1,234".
        package static func grouped(_ number: String) -> String {
            var digits = Substring(number)
            var sign = ""
            if digits.hasPrefix("-") {
                sign = "-"
                digits = digits.dropFirst()
            }
            let point = digits.firstIndex(of: ".") ?? digits.endIndex
            let whole = Array(digits[..<point])
            var out = ""
            for (i, d) in whole.enumerated() {
                if i > 0, (whole.count - i) % 3 == 0 { out.append(",") }
                out.append(d)
            }
            return sign + out + digits[point...]
        }
    }

    package var title: String
    /// Lines shown under the title: period, rounding rule, the exchange rate used.
    package var notes: [String]
    package var columns: [Column]
    package var rows: [[Cell]]
    /// Rows after the body: the TOTAL row (and, for the current year, the projection).
    package var footer: [[Cell]]
    /// Exact, unrounded figures for audits (JSON `exact`, listed under the other formats).
    package var exact: [(key: String, value: String)]
    /// The figures a reader wants first (paid, official, saved, calls, failures and their change); shown above the
    /// table by every format except CSV, whose first line must stay the header row.
    package var headline: Headline?

    package init(
        title: String, notes: [String], columns: [Column], rows: [[Cell]], footer: [[Cell]],
        exact: [(key: String, value: String)] = []
    ) {
        self.title = title
        self.notes = notes
        self.columns = columns
        self.rows = rows
        self.footer = footer
        self.exact = exact
    }

    package static func == (lhs: ReportTable, rhs: ReportTable) -> Bool {
        lhs.title == rhs.title && lhs.headline == rhs.headline && lhs.notes == rhs.notes && lhs.columns == rhs.columns
            && lhs.rows == rhs.rows && lhs.footer == rhs.footer && lhs.exact.map(\.key) == rhs.exact.map(\.key)
            && lhs.exact.map(\.value) == rhs.exact.map(\.value)
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(title)
        hasher.combine(rows)
    }
}

/// Which columns a human format shows (`--columns`): CSV and JSON always carry every column.
package enum ColumnSelection: Sendable, Hashable {
    /// The columns that fit a 100-character terminal (the default of the terminal table).
    case essential
    case all
    /// Machine names (`calls,cost_paid_usd`), in the table's order.
    case named([String])

    /// "all", "essential" or a comma-separated list of column names.
    package init(parsing text: String) {
        switch text {
        case "all": self = .all
        case "essential", "default": self = .essential
        default: self = .named(text.split(separator: ",").map { String($0) })
        }
    }
}

extension ReportTable {
    /// The table with only the selected columns (the first, naming the row, always stays).
    package func selecting(_ selection: ColumnSelection) throws(ReportError) -> ReportTable {
        let keep: [Int]
        switch selection {
        case .all: return self
        case .essential:
            keep = [0] + columns.indices.dropFirst().filter { columns[$0].isEssential }
        case .named(let names):
            var chosen: Set<Int> = [0]
            for name in names {
                guard let i = columns.firstIndex(where: { $0.name == name }) else {
                    throw .unknownColumn(name, known: columns.dropFirst().map(\.name))
                }
                chosen.insert(i)
            }
            keep = chosen.sorted()
        }
        var t = self
        t.columns = keep.map { columns[$0] }
        t.rows = rows.map { row in keep.map { $0 < row.count ? row[$0] : .empty } }
        t.footer = footer.map { row in keep.map { $0 < row.count ? row[$0] : .empty } }
        return t
    }
}

extension Money {
    /// `units / 10^scale` as a plain decimal string (dot, no separators).
    static func formatUnits(_ units: Int128, scale: Int) -> String { format(units: units, scale: scale) }

    /// Like `format`, without trailing fractional zeros ("193.4", "30.944").
    static func trimmed(_ units: Int128, scale: Int) -> String {
        var s = Substring(format(units: units, scale: scale))
        guard s.contains(".") else { return String(s) }
        while s.hasSuffix("0") { s = s.dropLast() }
        if s.hasSuffix(".") { s = s.dropLast() }
        return String(s)
    }
}
