/// A GitHub-flavoured Markdown table with the notes above it.
package enum MarkdownRenderer {
    package static func render(_ table: ReportTable) -> String {
        var out = "# " + escape(table.title) + "\n\n"
        if let headline = table.headline {
            let rows = headline.textRows
            out += "| " + rows[0].map(escape).joined(separator: " | ") + " |\n| --- | ---: | ---: | ---: |\n"
            for row in rows.dropFirst() {
                out += "| **" + escape(row[0]) + "** | " + row.dropFirst().map(escape).joined(separator: " | ") + " |\n"
            }
            out += "\n"
        }
        for note in table.notes { out += "- " + escape(note) + "\n" }
        out += "\n| " + table.columns.map { escape($0.label) }.joined(separator: " | ") + " |\n"
        out += "|" + table.columns.map { $0.isNumeric ? " ---: |" : " --- |" }.joined() + "\n"
        for row in table.rows {
            out += "| " + row.map(cell).joined(separator: " | ") + " |\n"
        }
        for row in table.footer {
            out += "| " + row.map { "**" + cell($0) + "**" }.joined(separator: " | ") + " |\n"
        }
        if !table.exact.isEmpty {
            out +=
                "\nExact (unrounded): " + table.exact.map { "`\($0.key)` = \($0.value)" }.joined(separator: ", ")
                + "\n"
        }
        return out
    }

    static func cell(_ c: ReportTable.Cell) -> String {
        switch c {
        case .text(let s): s.isEmpty ? "(none)" : escape(s)
        case .empty: ""
        default: c.human
        }
    }

    /// Pipes, backslashes and Markdown/HTML specials escaped; line breaks flattened.
    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s.replacingControlCharacters() {
            switch ch {
            case "|", "\\", "*", "`", "[", "]", "<", ">": out += "\\" + String(ch)
            default: out.append(ch)
            }
        }
        return out
    }
}
