/// The output formats of `report`, `reconcile` and `roi`.
package enum ReportFormat: String, Sendable, CaseIterable {
    case table, csv, json, markdown, html, xlsx

    /// The format a file name implies (".csv", ".json", ".md", ".html"), if any.
    package init?(fileName: String) {
        let lower = fileName.lowercased()
        if lower.hasSuffix(".csv") {
            self = .csv
        } else if lower.hasSuffix(".json") {
            self = .json
        } else if lower.hasSuffix(".md") || lower.hasSuffix(".markdown") {
            self = .markdown
        } else if lower.hasSuffix(".html") || lower.hasSuffix(".htm") {
            self = .html
        } else if lower.hasSuffix(".xlsx") {
            self = .xlsx
        } else if lower.hasSuffix(".txt") {
            self = .table
        } else {
            return nil
        }
    }

    /// The report's bytes: UTF-8 text, or for xlsx a workbook (the table, then `moreSheets`, one sheet each).
    package func bytes(
        _ table: ReportTable, charts: [HTMLRenderer.Chart] = [], bom: Bool = false, sheetName: String = "Report",
        moreSheets: [XlsxWriter.Sheet] = [], currency: String = "USD"
    ) throws -> [UInt8] {
        guard self == .xlsx else { return Array(render(table, charts: charts, bom: bom).utf8) }
        return try XlsxWriter.workbook([.init(name: sheetName, table: table)] + moreSheets, currency: currency)
    }

    /// The MIME type of the format (for `serve`).
    package var contentType: String {
        switch self {
        case .table: "text/plain; charset=utf-8"
        case .csv: "text/csv; charset=utf-8"
        case .json: "application/json"
        case .markdown: "text/markdown; charset=utf-8"
        case .html: "text/html; charset=utf-8"
        case .xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        }
    }

    /// Renders `table` as text (with `charts` for HTML; `bom` for CSV). xlsx is binary: `bytes` writes it; here it
    /// gives the CSV of the same table.
    package func render(_ table: ReportTable, charts: [HTMLRenderer.Chart] = [], bom: Bool = false) -> String {
        switch self {
        case .table: TableRenderer.render(table)
        case .csv: CSVRenderer.render(table, bom: bom)
        case .json: JSONRenderer.render(table)
        case .markdown: MarkdownRenderer.render(table)
        case .html: HTMLRenderer.render(table, charts: charts)
        case .xlsx: CSVRenderer.render(table)
        }
    }
}
