import GRDB
import LedgerCore
import LedgerReports
import LedgerStore
import Testing

@Suite struct RoiCalculatorTests {
    static func book() throws -> PriceBook { try LedgerDatabase(DatabaseQueue()).loadPriceBook() }

    static func roi(_ tokens: String, _ mix: String, inputShare: String? = nil) throws -> RoiCalculator {
        let book = try book()
        return try RoiCalculator(
            tokens: tokens, mix: mix, inputShare: inputShare, prices: book, knownModels: Array(book.models),
            atMicros: 1_800_000_000_000_000)
    }

    @Test func theGuidesExampleGivesTheGuidesFigures() throws {
        let r = try Self.roi("50", "gpt-4.1=0.4,deepseek-v3.2=0.4,gemini-2.5-flash=0.2")
        #expect(r.officialCents == 19_340)
        #expect(r.holysheepCents == 3_094)
        #expect(r.monthlySavingsCents == 16_246)
        #expect(r.annualSavingsCents == 194_947)
        #expect(r.roiTenthsPercent == 5_250)
        let csv = CSVRenderer.render(r.table)
        #expect(csv.contains("official_cost_usd_per_month,193.40\r\n"))
        #expect(csv.contains("annual_savings_usd,1949.47\r\n"))
        #expect(csv.contains("roi_pct,525.0\r\n"))
    }

    @Test func inputSharePricesThatShareAtInputPrices() throws {
        // 10 M tokens of gpt-4.1, 70% at $2 input and 30% at $8 output: 14 + 24 = $38 official, x0.16 = $6.08.
        let r = try Self.roi("10", "gpt-4.1=1", inputShare: "0.7")
        #expect(r.officialCents == 3_800)
        #expect(r.holysheepCents == 608)
        #expect(r.annualSavingsCents == (3_800 - 608) * 12)
    }

    @Test func aMixThatDoesNotSumToExactlyOneIsRefused() throws {
        #expect(throws: ReportError.mixDoesNotSumToOne("0.9")) { try Self.roi("50", "gpt-4.1=0.4,deepseek-v3.2=0.5") }
        #expect(throws: ReportError.mixDoesNotSumToOne("1.000001")) {
            try Self.roi("50", "gpt-4.1=0.5,deepseek-v3.2=0.500001")
        }
    }

    @Test func unknownModelsAndMalformedInputAreRefused() throws {
        #expect(throws: ReportError.self) { try Self.roi("50", "gpt-5=1") }
        do {
            _ = try Self.roi("50", "gpt-5=1")
        } catch let error as ReportError {
            #expect(error.description.hasPrefix("unknown model 'gpt-5'"))
        }
        #expect(throws: ReportError.self) { try Self.roi("50", "gpt-4.1") }
        #expect(throws: ReportError.self) { try Self.roi("-5", "gpt-4.1=1") }
        #expect(throws: ReportError.self) { try Self.roi("50", "gpt-4.1=0.33333333,deepseek-v3.2=0.66666667") }
        #expect(throws: ReportError.self) { try Self.roi("50", "gpt-4.1=1", inputShare: "1.5") }
        #expect(throws: ReportError.self) { try Self.roi("1e3", "gpt-4.1=1") }
    }
}
