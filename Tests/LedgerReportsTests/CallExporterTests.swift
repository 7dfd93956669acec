import Foundation
import GRDB
import LedgerCore
import LedgerReports
import LedgerStore
import Testing

@Suite struct CallExporterTests {
    static func export(_ format: CallExporter.Format, from: String = "2026-11-01", to: String = "2026-12-01") throws
        -> (text: String, rows: Int64, progress: [(Int64, Int64)])
    {
        var bytes: [UInt8] = []
        var progress: [(Int64, Int64)] = []
        let rows = try CallExporter(database: try ReportFixture.ledger()).export(
            period: try ReportPeriod(from: from, to: to), format: format, write: { bytes += $0 },
            progress: { progress.append(($0, $1)) })
        return (String(decoding: bytes, as: UTF8.self), rows, progress)
    }

    /// Every CSV field equals what the String-based formatters make of the same raw row.
    @Test func csvFieldsMatchTheReferenceFormatting() throws {
        let (text, rows, progress) = try Self.export(.csv)
        #expect(rows == 14)
        #expect(progress.last! == (14, 14))
        let calls = try ReportFixture.ledger().writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM call WHERE month = 202611 ORDER BY id")
        }
        var expected = CallExporter.columns.joined(separator: ",") + "\r\n"
        for call in calls {
            let fields = CallExporter.columns.map { name -> String in
                switch name {
                case "started_at": return UTCDate.isoTimestamp(micros: call["started_at_us"])
                case "finished_at": return UTCDate.isoTimestamp(micros: call["finished_at_us"])
                case "cost_paid_usd", "cost_official_usd", "cost_holysheep_usd":
                    let pico: Int64? = call[name.replacingOccurrences(of: "_usd", with: "_pusd")]
                    return pico.map { Money(picoUSD: $0).exactUSDString } ?? ""
                default:
                    switch call[name] as DatabaseValue {
                    case let v where v.isNull: return ""
                    case let v:
                        if let s = String.fromDatabaseValue(v), Int64.fromDatabaseValue(v) == nil {
                            return CSVRenderer.field(s)
                        }
                        return String(Int64.fromDatabaseValue(v)!)
                    }
                }
            }
            expected += fields.joined(separator: ",") + "\r\n"
        }
        #expect(text == expected)
        #expect(text.contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""))
        #expect(text.contains(",\"legal, EU\","))
    }

    @Test func jsonLinesAreValidJSONWithExactAmounts() throws {
        let (text, rows, _) = try Self.export(.jsonl, from: "2026-11-03", to: "2026-11-05")
        #expect(rows == 4)
        let objects = try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(objects.count == 4)
        #expect(objects.map { $0["started_at"] as? String }.allSatisfy { $0?.hasPrefix("2026-11-0") == true })
        #expect(objects.contains { $0["team"] as? String == ReportFixture.hostileTeam })
        #expect(objects.contains { $0["usage_source"] as? String == "missing" && $0["cost_paid_usd"] is NSNull })
        #expect(text.contains("\"cost_official_usd\":0.000009600000,"))  // gemini: 7 x 0.30 + 3 x 2.50 USD/MTok
    }

    @Test func anEmptyRangeWritesOnlyTheHeader() throws {
        let (text, rows, _) = try Self.export(.csv, from: "2025-01-01", to: "2025-02-01")
        #expect(rows == 0)
        #expect(text == CallExporter.columns.joined(separator: ",") + "\r\n")
    }
}
