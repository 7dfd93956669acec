/// The output formats of `report` and `roi`.
package enum ReportFormat: String, Sendable, CaseIterable {
    case table, csv, json, markdown, html

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
        } else if lower.hasSuffix(".txt") {
            self = .table
        } else {
            return nil
        }
    }

    /// Renders `table` (with `charts` for HTML; `bom` for CSV).
    package func render(_ table: ReportTable, charts: [HTMLRenderer.Chart] = [], bom: Bool = false) -> String {
        switch self {
        case .table: TableRenderer.render(table)
        case .csv: CSVRenderer.render(table, bom: bom)
        case .json: JSONRenderer.render(table)
        case .markdown: MarkdownRenderer.render(table)
        case .html: HTMLRenderer.render(table, charts: charts)
        }
    }
}
