/// Aligned plain text for a terminal: title, notes, columns padded, numbers right-aligned.
package enum TableRenderer {
    package static func render(_ table: ReportTable) -> String {
        let header = table.columns.map(\.name)
        let body = (table.rows + table.footer).map { $0.map(display) }
        var widths = header.map(\.count)
        for row in body {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func format(_ cells: [String]) -> String {
            cells.enumerated().map { i, s in
                let pad = String(repeating: " ", count: max(0, widths[i] - s.count))
                return table.columns[i].isNumeric ? pad + s : s + pad
            }.joined(separator: "  ")
        }
        var out = table.title + "\n"
        for note in table.notes { out += "  " + note + "\n" }
        out += "\n" + format(header) + "\n"
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for (i, row) in body.enumerated() {
            if i == table.rows.count, !table.footer.isEmpty {
                out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
            }
            out += format(row) + "\n"
        }
        if !table.exact.isEmpty {
            out += "\nexact (unrounded):\n"
            for (key, value) in table.exact { out += "  \(key) = \(value)\n" }
        }
        return out
    }

    static func display(_ cell: ReportTable.Cell) -> String {
        switch cell {
        case .text(let s): s.isEmpty ? "(none)" : s.replacingControlCharacters()
        case .empty: "-"
        default: cell.plain
        }
    }
}

extension String {
    /// Control characters shown as spaces, so a hostile name cannot move the terminal's cursor.
    func replacingControlCharacters() -> String {
        String(String.UnicodeScalarView(unicodeScalars.map { $0.value < 32 || $0.value == 127 ? " " : $0 }))
    }
}
