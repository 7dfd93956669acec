import Foundation
import LedgerCore
import ZIPFoundation

/// An Excel workbook (.xlsx, Office Open XML SpreadsheetML) of report tables: one sheet per table, the headline on
/// top, then the header row (frozen) and the rows. Numbers are numeric cells written from their exact decimal
/// text (never through floating point) with number formats: money `#,##0.00` with the currency code, percent
/// `0.00%` (the cell holds the fraction, 47.37 % = 0.4737), counts `#,##0`, milliseconds `#,##0.000`. Text is
/// always a string cell, so a team named `=HYPERLINK(...)` cannot become a formula.
///
/// The XML parts are written here with full escaping; ZIPFoundation writes the zip container. Entries carry a fixed
/// timestamp, so the same report gives the same bytes.
package enum XlsxWriter {
    /// One sheet: a name (at most 31 characters; `[]:*?/\` replaced) and its table.
    package struct Sheet: Sendable {
        package var name: String
        package var table: ReportTable
        package init(name: String, table: ReportTable) {
            self.name = name
            self.table = table
        }
    }

    /// The style indices of styles.xml's cellXfs.
    enum Style: Int {
        case text = 0, integer, money, percent, millis, bold, boldMoney, title
    }

    package static func workbook(_ sheets: [Sheet], currency: String) throws -> [UInt8] {
        let archive = try Archive(accessMode: .create)
        var names: [String] = []
        for sheet in sheets {
            var name = String(
                sheet.name.map { "[]:*?/\\".contains($0) || $0.isNewline ? "_" : $0 }.prefix(31))
            if name.isEmpty { name = "Report" }
            var candidate = name
            var n = 2
            while names.contains(candidate) {
                candidate = String(name.prefix(28)) + " \(n)"
                n += 1
            }
            names.append(candidate)
        }
        var parts: [(String, String)] = [
            ("[Content_Types].xml", contentTypes(count: sheets.count)),
            ("_rels/.rels", rootRels),
            ("xl/workbook.xml", workbookXML(names)),
            ("xl/_rels/workbook.xml.rels", workbookRels(count: sheets.count)),
            ("xl/styles.xml", styles(currency: currency)),
        ]
        for (i, sheet) in sheets.enumerated() {
            parts.append(("xl/worksheets/sheet\(i + 1).xml", sheetXML(sheet.table)))
        }
        let date = Date(timeIntervalSince1970: 315_532_800)  // 1980-01-01, the zip format's epoch
        for (path, text) in parts {
            let data = Data(text.utf8)
            try archive.addEntry(
                with: path, type: .file, uncompressedSize: Int64(data.count), modificationDate: date,
                compressionMethod: .deflate,
                provider: { position, size in data.subdata(in: Int(position)..<Int(position) + size) })
        }
        guard let data = archive.data else { throw ReportError.invalidFormat("xlsx: the archive has no data") }
        return Array(data)
    }

    // MARK: - Parts

    static func contentTypes(count: Int) -> String {
        var s = """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
            <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
            <Default Extension="xml" ContentType="application/xml"/>\
            <Override PartName="/xl/workbook.xml" \
            ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
            <Override PartName="/xl/styles.xml" \
            ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
            """
        for i in 1...max(1, count) {
            s +=
                "<Override PartName=\"/xl/worksheets/sheet\(i).xml\" "
                + "ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
        }
        return s + "</Types>"
    }

    static let rootRels = """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
        <Relationship Id="rId1" \
        Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" \
        Target="xl/workbook.xml"/></Relationships>
        """

    static func workbookXML(_ names: [String]) -> String {
        var s = """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
            xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>
            """
        for (i, name) in names.enumerated() {
            s += "<sheet name=\"\(escape(name))\" sheetId=\"\(i + 1)\" r:id=\"rId\(i + 1)\"/>"
        }
        return s + "</sheets></workbook>"
    }

    static func workbookRels(count: Int) -> String {
        var s = """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
            """
        for i in 1...max(1, count) {
            s +=
                "<Relationship Id=\"rId\(i)\" "
                + "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" "
                + "Target=\"worksheets/sheet\(i).xml\"/>"
        }
        s +=
            "<Relationship Id=\"rId\(count + 1)\" "
            + "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" "
            + "Target=\"styles.xml\"/>"
        return s + "</Relationships>"
    }

    static func styles(currency: String) -> String {
        let money = escape("#,##0.00 \"\(currency)\"")
        return """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
            <numFmts count="2"><numFmt numFmtId="164" formatCode="\(money)"/>\
            <numFmt numFmtId="165" formatCode="#,##0.000"/></numFmts>\
            <fonts count="3"><font><sz val="11"/><name val="Calibri"/></font>\
            <font><b/><sz val="11"/><name val="Calibri"/></font>\
            <font><b/><sz val="14"/><name val="Calibri"/></font></fonts>\
            <fills count="2"><fill><patternFill patternType="none"/></fill>\
            <fill><patternFill patternType="gray125"/></fill></fills>\
            <borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
            <cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
            <cellXfs count="8">\
            <xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
            <xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
            <xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
            <xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
            <xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
            <xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
            <xf numFmtId="164" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyNumberFormat="1"/>\
            <xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
            </cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
            </styleSheet>
            """
    }

    /// How a column's numbers are formatted, from its machine name (the unit is in the name).
    static func style(column: ReportTable.Column, currencyUnit: String) -> Style {
        let n = column.name
        if !column.isNumeric { return .text }
        if n.hasSuffix("_pct") { return .percent }
        if n.hasSuffix("_ms") { return .millis }
        if n.hasSuffix("_" + currencyUnit) || n.hasSuffix("_usd") { return .money }
        return .integer
    }

    static func sheetXML(_ table: ReportTable) -> String {
        let unit = table.columns.lazy.compactMap { c -> String? in
            guard c.name.hasPrefix("cost_paid_") else { return nil }
            return String(c.name.dropFirst("cost_paid_".count))
        }.first ?? "usd"
        var rows: [String] = []
        func row(_ cells: [String]) { rows.append("<row r=\"\(rows.count + 1)\">" + cells.joined() + "</row>") }
        func ref(_ col: Int) -> String {
            var n = col + 1
            var s = ""
            while n > 0 {
                let r = (n - 1) % 26
                s = String(UnicodeScalar(UInt8(65 + r))) + s
                n = (n - 1) / 26
            }
            return s + String(rows.count + 1)
        }
        func text(_ col: Int, _ value: String, _ style: Style = .text) -> String {
            "<c r=\"\(ref(col))\" t=\"inlineStr\"\(style == .text ? "" : " s=\"\(style.rawValue)\"")>"
                + "<is><t xml:space=\"preserve\">\(escape(value))</t></is></c>"
        }
        func number(_ col: Int, _ cell: ReportTable.Cell, _ style: Style) -> String {
            var value: String
            switch cell {
            case .integer(let v): value = String(v)
            case .decimal(let v, let scale):
                value = style == .percent ? Money.formatUnits(v, scale: scale + 2) : Money.formatUnits(v, scale: scale)
            case .text(let s): return text(col, s)
            case .empty: return ""
            }
            if value.hasPrefix("-0"), value.allSatisfy({ "-0.".contains($0) }) { value.removeFirst() }
            return "<c r=\"\(ref(col))\" s=\"\(style.rawValue)\"><v>\(value)</v></c>"
        }
        row([text(0, table.title, .title)])
        if let h = table.headline {
            row([text(0, "", .bold), text(1, h.period, .bold), text(2, h.previousPeriod, .bold), text(3, "Change", .bold)])
            for f in h.figures {
                let style: Style =
                    f.isRatio ? .percent : (f.key == "calls" ? .integer : .money)
                row([
                    text(0, f.label), number(1, f.value, style), number(2, f.previous, style),
                    number(3, f.change, style),
                ])
            }
        }
        for note in table.notes { row([text(0, note)]) }
        row([])
        let headerRow = rows.count + 1
        row(table.columns.enumerated().map { text($0.offset, $0.element.label, .bold) })
        let styles = table.columns.map { style(column: $0, currencyUnit: unit) }
        func body(_ cells: [ReportTable.Cell], bold: Bool) -> [String] {
            zip(cells.indices, cells).map { i, cell in
                guard i < styles.count else { return "" }
                if case .text(let s) = cell { return text(i, s.isEmpty && i == 0 ? "(none)" : s, bold ? .bold : .text) }
                let st = styles[i] == .text ? Style.integer : styles[i]
                return number(i, cell, bold && st == .money ? .boldMoney : st)
            }
        }
        for cells in table.rows { row(body(cells, bold: false)) }
        for cells in table.footer { row(body(cells, bold: true)) }
        let widths = table.columns.enumerated().map { i, c in
            "<col min=\"\(i + 1)\" max=\"\(i + 1)\" width=\"\(i == 0 ? 34 : max(12, min(24, c.label.count + 2)))\" "
                + "customWidth=\"1\"/>"
        }
        return """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
            <sheetViews><sheetView workbookViewId="0"><pane ySplit="\(headerRow)" topLeftCell="A\(headerRow + 1)" \
            activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft"/></sheetView></sheetViews>\
            <cols>\(widths.joined())</cols><sheetData>\(rows.joined())</sheetData></worksheet>
            """
    }

    /// Text for XML 1.0 content and attributes: the five specials escaped, characters XML cannot hold (control
    /// characters other than tab, LF, CR; U+FFFE/FFFF) replaced by a space.
    package static func escape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                let v = u.value
                if (v < 0x20 && v != 0x09 && v != 0x0A && v != 0x0D) || v == 0xFFFE || v == 0xFFFF {
                    out += " "
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }
}
