import LedgerCore

/// JSON: `{"title","notes","columns","rows":[{column: value}],"footer":[...],"exact":{...}}`.
/// Numbers are exact JSON number literals ("193.40"), never floating-point conversions.
package enum JSONRenderer {
    package static func render(_ table: ReportTable) -> String {
        func object(_ row: [ReportTable.Cell]) -> String {
            "{"
                + zip(table.columns, row).map { column, cell in string(column.name) + ":" + value(cell) }
                .joined(separator: ",") + "}"
        }
        var out = "{\n"
        out += "  \"title\": " + string(table.title) + ",\n"
        out += "  \"notes\": [" + table.notes.map(string).joined(separator: ", ") + "],\n"
        out += "  \"columns\": [" + table.columns.map { string($0.name) }.joined(separator: ", ") + "],\n"
        func array(_ rows: [[ReportTable.Cell]]) -> String {
            rows.isEmpty ? "[]" : "[\n" + rows.map { "    " + object($0) }.joined(separator: ",\n") + "\n  ]"
        }
        out += "  \"rows\": " + array(table.rows) + ",\n"
        out += "  \"footer\": " + array(table.footer) + ",\n"
        out +=
            "  \"exact\": {"
            + table.exact.map { string($0.key) + ": " + string($0.value) }
            .joined(separator: ", ") + "}\n"
        return out + "}\n"
    }

    static func value(_ cell: ReportTable.Cell) -> String {
        switch cell {
        case .text(let s): string(s)
        case .empty: "null"
        default: cell.plain
        }
    }

    /// A JSON string literal (RFC 8259 escapes).
    package static func string(_ s: String) -> String { JSONString.quote(s) }
}
