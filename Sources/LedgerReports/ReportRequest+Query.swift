import LedgerCore

extension ReportRequest {
    /// A request from `GET /reports` parameters, with the CLI's meaning and defaults except the format (html):
    /// `month=YYYY-MM` | `year=YYYY` | `from=YYYY-MM-DD&to=YYYY-MM-DD`, `by`, `format`, `currency`, `columns`,
    /// `as_recorded=1`, `bom=1`.
    package init(query: [(String, String)], nowMicros: Int64) throws(ReportError) {
        var values: [String: String] = [:]
        for (key, value) in query {
            guard values[key] == nil else { throw .invalidQuery("'\(key)' is given twice") }
            values[key] = value
        }
        let known: Set = ["month", "year", "from", "to", "by", "format", "currency", "columns", "as_recorded", "bom"]
        if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalidQuery("unknown parameter '\(unknown)'; use \(known.sorted().joined(separator: ", "))")
        }
        let chosen = [values["month"] != nil, values["year"] != nil, values["from"] != nil || values["to"] != nil]
        guard chosen.filter({ $0 }).count <= 1 else { throw .invalidQuery("give one of month, year or from/to") }
        let span: Span
        if let text = values["month"] {
            do { span = .month(try BillingMonth(parsing: text)) } catch { throw .invalidQuery(error.description) }
        } else if let text = values["year"] {
            guard let year = Int(text), (1970...9999).contains(year) else {
                throw .invalidQuery("year '\(text)' is not a year 1970-9999")
            }
            span = .year(year)
        } else if values["from"] != nil || values["to"] != nil {
            guard let from = values["from"], let to = values["to"] else { throw .invalidQuery("from and to go together") }
            span = .range(try ReportPeriod(from: from, to: to))
        } else {
            span = .month(BillingMonth(containing: nowMicros))
        }
        let format: ReportFormat
        if let text = values["format"] {
            guard let f = ReportFormat(rawValue: text) else {
                throw .invalidQuery(
                    "format '\(text)' is not one of \(ReportFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            format = f
        } else {
            format = .html
        }
        var groupings: [ReportGrouping] = []
        if let by = values["by"] {
            for part in by.split(separator: ",", omittingEmptySubsequences: false) {
                groupings.append(try ReportGrouping(parsing: String(part)))
            }
            if case .year = span { throw .invalidQuery("by does not apply to year (rows are months)") }
            if groupings.count > 1, format != .html, format != .xlsx {
                throw .invalidQuery("several groupings need format html or xlsx")
            }
        }
        let currency = values["currency"] ?? "USD"
        _ = try RateBook.currency(parsing: currency)
        let asRecorded = values["as_recorded"] == "1" || values["as_recorded"] == "true"
        if asRecorded, case .month = span {} else if asRecorded {
            throw .invalidQuery("as_recorded applies to month")
        }
        self.init(
            span: span, grouping: groupings.first, format: format, currency: currency,
            columns: values["columns"].map(ColumnSelection.init(parsing:)),
            bom: values["bom"] == "1" || values["bom"] == "true", asRecorded: asRecorded)
        moreGroupings = Array(groupings.dropFirst())
    }

    /// The index page of `GET /reports`: the last 12 months (the current one first), each as HTML, by team, CSV,
    /// Excel and JSON, and the current and previous year.
    package static func indexPage(nowMicros: Int64) -> String {
        var months = [BillingMonth(containing: nowMicros)]
        while months.count < 12, months.last!.startMicros > 0 {
            months.append(BillingMonth(containing: months.last!.startMicros - 1))
        }
        var out = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
            <title>HolySheep ledger reports</title>
            <style>
            body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #1d2330; margin: 16px; }
            table { border-collapse: collapse; } td, th { padding: 4px 10px; border-bottom: 1px solid #e3e6ed; text-align: left; }
            a { color: #2f6fdb; }
            </style></head><body>
            <h1>HolySheep ledger reports</h1>
            <table><thead><tr><th>Month</th><th colspan="5">Formats</th></tr></thead><tbody>

            """
        for m in months {
            let q = "month=\(m)"
            out +=
                "<tr><td><a href=\"/reports?\(q)&amp;format=html\">\(m)</a></td>"
                + "<td><a href=\"/reports?\(q)&amp;format=html&amp;by=team\">by team</a></td>"
                + "<td><a href=\"/reports?\(q)&amp;format=csv\">CSV</a></td>"
                + "<td><a href=\"/reports?\(q)&amp;format=xlsx&amp;by=model,team\">Excel</a></td>"
                + "<td><a href=\"/reports?\(q)&amp;format=json\">JSON</a></td></tr>\n"
        }
        let year = months[0].year
        out += "</tbody></table>\n<p>Years: "
        out += [year, year - 1].map { "<a href=\"/reports?year=\($0)&amp;format=html\">\($0)</a>" }
            .joined(separator: " · ")
        return out + "</p>\n</body></html>\n"
    }
}
