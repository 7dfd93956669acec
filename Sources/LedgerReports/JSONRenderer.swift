import LedgerCore

/// JSON: `{"title","headline","notes","columns","rows":[{column: value}],"footer":[...],"exact":{...}}`; keys are
/// the stable machine column names (the CSV header), never the human labels.
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
        if let h = table.headline {
            out += "  \"headline\": {\"period\": " + string(h.period) + ", \"previous_period\": "
                + string(h.previousPeriod) + ", \"figures\": {"
                + h.figures.map { f in
                    string(f.key) + ": {\"value\": " + value(f.value) + ", \"previous\": " + value(f.previous)
                        + ", \"change\": " + value(f.change) + ", \"change_pct\": " + value(f.changePct) + "}"
                }.joined(separator: ", ") + "}},\n"
        }
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
