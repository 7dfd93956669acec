/// Aligned plain text for a terminal: title, headline, notes wrapped to `width`, human column headers (on two
/// lines where the figures are narrower than the header), thousands separators, numbers right-aligned.
package enum TableRenderer {
    /// The terminal width the report is laid out for.
    package static let width = 100

    package static func render(_ table: ReportTable) -> String {
        let body = (table.rows + table.footer).map { $0.map(display) }
        var dataWidths = table.columns.map { _ in 0 }
        for row in body {
            for (i, cell) in row.enumerated() where i < dataWidths.count {
                dataWidths[i] = max(dataWidths[i], cell.count)
            }
        }
        let headers = zip(table.columns, dataWidths).map { column, w in headerLines(column.label, fitting: w) }
        let twoLines = headers.contains { $0.count == 2 }
        let widths = zip(headers, dataWidths).map { lines, w in max(w, lines.map(\.count).max() ?? 0) }
        func format(_ cells: [String]) -> String {
            var line = cells.enumerated().map { i, s in
                let pad = String(repeating: " ", count: max(0, widths[i] - s.count))
                return table.columns[i].isNumeric ? pad + s : s + pad
            }.joined(separator: "  ")
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }
        var out = table.title.replacingControlCharacters() + "\n"
        if let headline = table.headline { out += "\n" + renderHeadline(headline) }
        out += "\n"
        for note in table.notes { out += wrap(note, indent: "  ") }
        out += "\n"
        if twoLines { out += format(headers.map { $0.count == 2 ? $0[0] : "" }) + "\n" }
        out += format(headers.map { $0.last ?? "" }) + "\n"
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

    /// The headline as an aligned block: figure, this period, the previous one, the change.
    package static func renderHeadline(_ headline: Headline) -> String {
        let rows = headline.textRows
        var widths = [0, 0, 0, 0]
        for row in rows { for (i, s) in row.enumerated() { widths[i] = max(widths[i], s.count) } }
        var out = ""
        for row in rows {
            var line = "  " + row[0] + String(repeating: " ", count: widths[0] - row[0].count)
            for i in 1..<4 {
                let pad = String(repeating: " ", count: widths[i] - row[i].count)
                line += "  " + (i == 3 ? row[i] + pad : pad + row[i])
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }

    /// A header on one line, or split at a space into two when the column's figures are narrower than it.
    static func headerLines(_ label: String, fitting dataWidth: Int) -> [String] {
        guard label.count > dataWidth, label.contains(" ") else { return [label] }
        let chars = Array(label)
        var best: (Int, Int)?
        for (i, c) in chars.enumerated() where c == " " {
            let longest = max(i, chars.count - i - 1)
            if best == nil || longest < best!.1 { best = (i, longest) }
        }
        guard let (cut, _) = best else { return [label] }
        return [String(chars[..<cut]), String(chars[(cut + 1)...])]
    }

    /// `text` word-wrapped to `width` characters, each line starting with `indent`.
    static func wrap(_ text: String, indent: String) -> String {
        var out = ""
        var line = indent
        for word in text.replacingControlCharacters().split(separator: " ") {
            if line.count > indent.count, line.count + 1 + word.count > width {
                out += line + "\n"
                line = indent + "  "
            }
            line += (line.count > indent.count && !line.hasSuffix("  ") ? " " : "") + word
        }
        return out + line + "\n"
    }

    static func display(_ cell: ReportTable.Cell) -> String { cell.human }
}

extension String {
    /// Control characters shown as spaces, so a hostile name cannot move the terminal's cursor.
    func replacingControlCharacters() -> String {
        String(String.UnicodeScalarView(unicodeScalars.map { $0.value < 32 || $0.value == 127 ? " " : $0 }))
    }
}
