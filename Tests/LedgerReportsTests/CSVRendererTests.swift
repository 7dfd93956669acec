import Foundation
import LedgerReports
import Testing

@Suite struct CSVRendererTests {
    @Test(arguments: ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://x\",\"y\")"])
    func textThatASpreadsheetWouldRunIsNeutralisedAndQuoted(text: String) {
        let field = CSVRenderer.field(text)
        #expect(field.hasPrefix("\"'"))
        #expect(field.hasSuffix("\""))
        #expect(field.dropFirst(2).dropLast().replacingOccurrences(of: "\"\"", with: "\"") == text)
    }

    @Test func plainTextStaysAsIsAndSpecialsAreQuotedPerRFC4180() {
        #expect(CSVRenderer.field("gpt-4.1") == "gpt-4.1")
        #expect(CSVRenderer.field("legal, EU") == "\"legal, EU\"")
        #expect(CSVRenderer.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSVRenderer.field("a\nb") == "\"a\nb\"")
        #expect(CSVRenderer.field("ทีม") == "ทีม")
    }

    @Test func numbersAreNeverNeutralisedAndLinesEndInCRLF() {
        let table = ReportTable(
            title: "t", notes: [], columns: [.init("team", numeric: false), .init("savings_usd")],
            rows: [[.text("-ops"), .decimal(-5, scale: 2)]], footer: [[.text("TOTAL"), .decimal(-5, scale: 2)]])
        #expect(CSVRenderer.render(table) == "team,savings_usd\r\n\"'-ops\",-0.05\r\nTOTAL,-0.05\r\n")
        #expect(CSVRenderer.render(table, bom: true).hasPrefix("\u{FEFF}team,"))
    }
}
