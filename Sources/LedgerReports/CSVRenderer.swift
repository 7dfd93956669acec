/// RFC 4180 CSV that spreadsheets trust: one header row (names carry units), CRLF line ends, fields quoted where
/// needed, plain numbers (dot decimal, no symbols, no separators), UTF-8 with an optional BOM for Excel.
///
/// Text that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) is neutralised as
/// OWASP recommends: prefixed with `'` and quoted, so `=HYPERLINK(...)` arrives as text.
package enum CSVRenderer {
    /// The byte-order mark Excel needs to read UTF-8.
    package static let bom = "\u{FEFF}"

    /// The whole table: header, rows, then the footer (TOTAL) rows.
    package static func render(_ table: ReportTable, bom withBOM: Bool = false) -> String {
        var out = withBOM ? bom : ""
        out += table.columns.map { field($0.name) }.joined(separator: ",") + "\r\n"
        for row in table.rows + table.footer {
            out += line(row)
        }
        return out
    }

    /// One record with its CRLF.
    package static func line(_ cells: [ReportTable.Cell]) -> String {
        cells.map { cell in
            if case .text(let s) = cell { field(s) } else { cell.plain }
        }.joined(separator: ",") + "\r\n"
    }

    /// A text field: neutralised if it could be a formula, quoted if it holds a comma, quote, CR or LF.
    package static func field(_ text: String) -> String {
        var s = text
        var quote = false
        if let first = s.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) {
            s = "'" + s
            quote = true
        }
        if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) {
            quote = true
        }
        guard quote else { return s }
        return "\"" + s.replacingQuotes() + "\""
    }
}

extension String {
    /// `"` doubled, as RFC 4180 quotes it.
    fileprivate func replacingQuotes() -> String {
        var out = ""
        for c in self {
            if c == "\"" { out += "\"\"" } else { out.append(c) }
        }
        return out
    }
}
