import LedgerCore

/// A report ready to render: rounded cells in a fixed column order (the CSV interface), with notes.
///
/// Every renderer (table, CSV, JSON, Markdown, HTML) draws the same `ReportTable`, so all formats show the same
/// figures.
package struct ReportTable: Sendable, Hashable {
    /// A column: `name` is the CSV header / JSON key and carries the unit (`cost_official_usd`).
    package struct Column: Sendable, Hashable {
        package var name: String
        package var isNumeric: Bool
        package init(_ name: String, numeric: Bool = true) {
            self.name = name
            self.isNumeric = numeric
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
        lhs.title == rhs.title && lhs.notes == rhs.notes && lhs.columns == rhs.columns && lhs.rows == rhs.rows
            && lhs.footer == rhs.footer && lhs.exact.map(\.key) == rhs.exact.map(\.key)
            && lhs.exact.map(\.value) == rhs.exact.map(\.value)
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(title)
        hasher.combine(rows)
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
