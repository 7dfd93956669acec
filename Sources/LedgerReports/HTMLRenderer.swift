import LedgerCore

/// One self-contained HTML file: inline CSS, inline SVG charts, no scripts or external resources; prints on A4.
package enum HTMLRenderer {
    /// A chart to draw above the table.
    package enum Chart: Sendable, Hashable {
        /// Two bars per label (e.g. official vs paid per model); values in cents.
        case pairedBars(
            title: String, labels: [String], first: (name: String, values: [Int128]),
            second: (name: String, values: [Int128]))
        /// One bar per label (e.g. daily spend); values in cents.
        case bars(title: String, labels: [String], name: String, values: [Int128])

        package static func == (lhs: Chart, rhs: Chart) -> Bool { lhs.svg == rhs.svg }
        package func hash(into hasher: inout Hasher) { hasher.combine(svg) }
    }

    /// The page: title, headline tiles, notes, charts, the table, then one more table per `more` (another
    /// grouping of the same period) under its own heading.
    package static func render(_ table: ReportTable, charts: [Chart] = [], more: [ReportTable] = []) -> String {
        var out = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(table.title))</title>
            <style>
            @page { size: A4 landscape; margin: 12mm; }
            body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #1d2330; margin: 16px; font-size: 11px; }
            h1 { font-size: 18px; margin: 0 0 6px; }
            h2 { font-size: 14px; margin: 18px 0 6px; page-break-after: avoid; }
            ul.notes { margin: 0 0 12px; padding-left: 18px; color: #4a5468; }
            .charts { display: flex; flex-wrap: wrap; gap: 16px; margin-bottom: 14px; }
            figure { margin: 0; border: 1px solid #d9dde6; border-radius: 6px; padding: 8px; page-break-inside: avoid; max-width: 100%; box-sizing: border-box; }
            figure svg { max-width: 100%; height: auto; }
            figcaption { font-weight: bold; margin-bottom: 4px; }
            table { border-collapse: collapse; width: 100%; page-break-inside: auto; }
            th, td { border-bottom: 1px solid #e3e6ed; padding: 3px 4px; white-space: nowrap; font-size: 10px; }
            th { background: #eef1f6; text-align: left; font-size: 9px; white-space: normal; vertical-align: bottom; }
            td.n { text-align: right; font-variant-numeric: tabular-nums; }
            tr.total td { font-weight: bold; border-top: 2px solid #1d2330; }
            tr { page-break-inside: avoid; }
            .exact { color: #4a5468; margin-top: 10px; overflow-wrap: anywhere; }
            .tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0 14px; }
            .tile { border: 1px solid #d9dde6; border-radius: 6px; padding: 8px 12px; min-width: 130px; page-break-inside: avoid; }
            .tile .k { color: #4a5468; font-size: 10px; }
            .tile .v { font-size: 18px; font-weight: bold; font-variant-numeric: tabular-nums; }
            .tile .c { color: #4a5468; font-size: 10px; }
            .wide { overflow-x: auto; }
            @media print { body { margin: 0; } }
            </style></head><body>

            """
        out += "<h1>\(escape(table.title))</h1>\n"
        if let headline = table.headline { out += tiles(headline) }
        out += "<ul class=\"notes\">\n"
        for note in table.notes { out += "<li>\(escape(note))</li>\n" }
        out += "</ul>\n"
        if !charts.isEmpty {
            out += "<div class=\"charts\">\n" + charts.map(\.svg).joined(separator: "\n") + "\n</div>\n"
        }
        out += tableHTML(table)
        for extra in more {
            out += "<h2>\(escape(extra.title))</h2>\n" + tableHTML(extra)
        }
        return out + "</body></html>\n"
    }

    /// One report table (and its exact figures) as HTML.
    static func tableHTML(_ table: ReportTable) -> String {
        var out = "<div class=\"wide\"><table>\n<thead><tr>"
        for column in table.columns {
            out += "<th title=\"\(escape(column.name))\">" + escape(column.label) + "</th>"
        }
        out += "</tr></thead>\n<tbody>\n"
        func row(_ cells: [ReportTable.Cell], total: Bool) -> String {
            var r = total ? "<tr class=\"total\">" : "<tr>"
            for (column, cell) in zip(table.columns, cells) {
                let text = TableRenderer.display(cell)
                r += column.isNumeric ? "<td class=\"n\">\(escape(text))</td>" : "<td>\(escape(text))</td>"
            }
            return r + "</tr>\n"
        }
        for cells in table.rows { out += row(cells, total: false) }
        for cells in table.footer { out += row(cells, total: true) }
        out += "</tbody></table></div>\n"
        if !table.exact.isEmpty {
            out +=
                "<p class=\"exact\">Exact (unrounded): "
                + table.exact.map { "\(escape($0.key)) = \(escape($0.value))" }.joined(separator: "; ") + "</p>\n"
        }
        return out
    }

    /// The headline as tiles: the figure large, the previous period and the change under it.
    static func tiles(_ headline: Headline) -> String {
        var out = "<div class=\"tiles\">\n"
        for f in headline.figures {
            out +=
                "<div class=\"tile\" data-key=\"\(escape(f.key))\"><div class=\"k\">\(escape(f.label))</div>"
                + "<div class=\"v\">\(escape(f.value.human + (f.isRatio && f.value != .empty ? " %" : "")))</div>"
                + "<div class=\"c\">\(escape(f.changeText == "-" ? "n/a" : f.changeText)) vs "
                + "\(escape(headline.previousPeriod))</div></div>\n"
        }
        return out + "</div>\n"
    }

    /// `&`, `<`, `>`, quotes escaped for text and attribute values.
    package static func escape(_ s: String) -> String {
        var out = ""
        for ch in s.replacingControlCharacters() {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }
}

extension HTMLRenderer {
    /// A chart axis at nice numbers: a step of 1, 2 or 5 × 10^k cents, the fewest ticks (at most 5 steps) that
    /// reach the largest value. Labels show cents only when the step is under one unit, so no two labels repeat
    /// (a 3-cent maximum gives 0.00, 0.01, 0.02, 0.03, never 0.00 five times).
    package struct Ticks: Sendable, Hashable {
        /// Cents between ticks.
        package var step: Int128
        /// Number of steps above zero.
        package var count: Int
        package var top: Int128 { step * Int128(count) }

        package init(maxValue: Int128) {
            let target = max(1, maxValue)
            var magnitude: Int128 = 1
            while true {
                for m in [1, 2, 5] as [Int128] {
                    let step = m * magnitude
                    let n = (target + step - 1) / step
                    if n <= 5 {
                        self.step = step
                        self.count = Int(n)
                        return
                    }
                }
                magnitude *= 10
            }
        }

        /// "0.05" below one unit a step, else a whole number with thousands separators ("1,500").
        package func label(_ cents: Int128) -> String {
            if step % 100 == 0 { return ReportTable.Cell.grouped(String(cents / 100)) }
            return ReportTable.Cell.grouped(Money.formatUnits(cents, scale: 2))
        }
    }
}

extension HTMLRenderer.Chart {
    static let colors = ("#8a94a6", "#2f6fdb")

    /// The chart as an inline SVG inside a <figure>. Bar heights are integer pixel arithmetic on the cent values.
    var svg: String {
        let plotHeight: Int128 = 160
        let top = 10
        let left = 70
        switch self {
        case .pairedBars(let title, let labels, let first, let second):
            let ticks = HTMLRenderer.Ticks(maxValue: (first.values + second.values).max() ?? 0)
            let maxValue = ticks.top
            // Wide enough for the longest name in full (about 5.5 px per character at 9 px).
            let slot = max(70, (labels.map(\.count).max() ?? 0) * 6 + 8)
            let width = left + max(1, labels.count) * slot + 10
            var s = header(title: title, width: width, height: 230)
            s += axis(ticks: ticks, left: left, top: top, width: width, plotHeight: plotHeight)
            for (i, label) in labels.enumerated() {
                let x = left + i * slot + (slot - 50) / 2
                for (j, (value, color)) in [(first.values[i], Self.colors.0), (second.values[i], Self.colors.1)]
                    .enumerated()
                {
                    let h = Int(value * plotHeight / maxValue)
                    s +=
                        "<rect x=\"\(x + j * 26)\" y=\"\(top + Int(plotHeight) - h)\" width=\"24\" height=\"\(h)\" "
                        + "fill=\"\(color)\"><title>\(HTMLRenderer.escape(label)): "
                        + "\(Money.formatUnits(value, scale: 2))</title></rect>\n"
                }
                s +=
                    "<text x=\"\(x + 25)\" y=\"\(top + Int(plotHeight) + 14)\" font-size=\"9\" text-anchor=\"middle\">"
                    + "\(HTMLRenderer.escape(label))</text>\n"
            }
            s += legend([(first.name, Self.colors.0), (second.name, Self.colors.1)], y: 215, left: left)
            return s + "</svg></figure>"
        case .bars(let title, let labels, let name, let values):
            let ticks = HTMLRenderer.Ticks(maxValue: values.max() ?? 0)
            let maxValue = ticks.top
            let slot = labels.count > 16 ? 16 : 30
            let width = left + max(1, labels.count) * slot + 10
            var s = header(title: title, width: width, height: 230)
            s += axis(ticks: ticks, left: left, top: top, width: width, plotHeight: plotHeight)
            for (i, label) in labels.enumerated() {
                let x = left + i * slot + 2
                let h = Int(values[i] * plotHeight / maxValue)
                s +=
                    "<rect x=\"\(x)\" y=\"\(top + Int(plotHeight) - h)\" width=\"\(slot - 4)\" height=\"\(h)\" "
                    + "fill=\"\(Self.colors.1)\"><title>\(HTMLRenderer.escape(label)): "
                    + "\(Money.formatUnits(values[i], scale: 2))</title></rect>\n"
                if i % 5 == 0 || labels.count <= 16 {
                    s +=
                        "<text x=\"\(x + slot / 2)\" y=\"\(top + Int(plotHeight) + 14)\" font-size=\"8\" "
                        + "text-anchor=\"middle\">\(HTMLRenderer.escape(String(label.suffix(5))))</text>\n"
                }
            }
            s += legend([(name, Self.colors.1)], y: 215, left: left)
            return s + "</svg></figure>"
        }
    }

    private func header(title: String, width: Int, height: Int) -> String {
        "<figure><figcaption>\(HTMLRenderer.escape(title))</figcaption>"
            + "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(HTMLRenderer.escape(title))\">\n"
    }

    /// Grid lines and labels at nice ticks up to `ticks.top`.
    private func axis(ticks: HTMLRenderer.Ticks, left: Int, top: Int, width: Int, plotHeight: Int128) -> String {
        var s = ""
        for i in 0...ticks.count {
            let value = ticks.step * Int128(i)
            let y = top + Int(plotHeight) - Int(plotHeight * value / ticks.top)
            s +=
                "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(width - 5)\" y2=\"\(y)\" stroke=\"#e3e6ed\"/>"
                + "<text x=\"\(left - 4)\" y=\"\(y + 3)\" font-size=\"9\" text-anchor=\"end\">"
                + "\(HTMLRenderer.escape(ticks.label(value)))</text>\n"
        }
        return s
    }

    private func legend(_ items: [(String, String)], y: Int, left: Int) -> String {
        var s = ""
        for (i, (name, color)) in items.enumerated() {
            let x = left + i * 120
            s +=
                "<rect x=\"\(x)\" y=\"\(y - 9)\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
                + "<text x=\"\(x + 14)\" y=\"\(y)\" font-size=\"10\">\(HTMLRenderer.escape(name))</text>\n"
        }
        return s
    }
}
