import Foundation
import GRDB
import LedgerCore
import LedgerReports
import LedgerStore
import Testing

@Suite struct ReconciliationTests {
    /// The bill the ledger itself implies: per UTC day and model, from the raw call rows (not the rollup).
    static func exactBill(_ database: LedgerDatabase, skipping skip: Int? = nil) throws -> String {
        var out = ProviderBill.csvHeader + "\r\n"
        let rows = try database.writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT date(started_at_us / 1000000, 'unixepoch') AS d, model, sum(prompt_tokens),
                           sum(cached_prompt_tokens), sum(completion_tokens), sum(cost_paid_pusd)
                    FROM call WHERE prompt_tokens IS NOT NULL AND price_status = 'priced' AND month = 202611
                    GROUP BY 1, 2 ORDER BY 1, 2
                    """)
        }
        for (i, r) in rows.enumerated() where i != skip {
            let pico: Int64 = r[5]
            out += "\(r[0] as String),\(r[1] as String),\(r[2] as Int64),\(r[3] as Int64),\(r[4] as Int64),"
            out += Money.format(units: Int128(pico), scale: 12) + "\r\n"
        }
        return out
    }

    static func reconcile(_ bill: String, _ database: LedgerDatabase, tolerance: Int128 = Money.picoPerCent) throws
        -> Reconciliation
    {
        try Reconciliation.make(
            bill: ProviderBill(bytes: Array(bill.utf8)), month: ReportFixture.november, provider: nil,
            tolerance: Money(picoUSD: tolerance), database: database)
    }

    @Test func aBillThatMatchesTheLedgerHasNoDiscrepancy() throws {
        let database = try ReportFixture.ledger()
        let result = try Self.reconcile(try Self.exactBill(database), database)
        #expect(result.discrepancies.map { "\($0.day) \($0.model): \($0.reasons)" } == [
            // The fixture's unpriced model has tokens but no price: the bill (priced calls only) lacks it.
            "2026-11-06 mystery-model: [\"not on the bill\"]"
        ])
        #expect(result.lines.count > 5)
    }

    @Test func tokensCostBeyondToleranceAndUnknownLinesAreDiscrepant() throws {
        let database = try ReportFixture.ledger()
        var lines = try Self.exactBill(database).split(separator: "\r\n").map(String.init)
        // 1 output token more on the first line; 0.02 USD more on the second; a day with no calls.
        var first = lines[1].split(separator: ",").map(String.init)
        first[4] = String(Int(first[4])! + 1)
        lines[1] = first.joined(separator: ",")
        var second = lines[2].split(separator: ",").map(String.init)
        let cost = ProviderBill.picoUSD(parsing: second[5])! + 2 * Money.picoPerCent
        second[5] = Money.format(units: cost, scale: 12)
        lines[2] = second.joined(separator: ",")
        lines.append("2026-11-27,gpt-4.1,10,0,5,0.000100")
        let result = try Self.reconcile(lines.joined(separator: "\n") + "\n", database)
        let bad = Dictionary(uniqueKeysWithValues: result.discrepancies.map { ("\($0.day) \($0.model)", $0.reasons) })
        #expect(bad["\(first[0]) \(first[1])"] == ["output tokens differ by 1"])
        #expect(bad["\(second[0]) \(second[1])"] == ["cost differs by 0.02 USD"])
        #expect(bad["2026-11-27 gpt-4.1"] == ["no call in the ledger"])
        // Within a wider tolerance the cost line agrees; the token line never does.
        let wide = try Self.reconcile(lines.joined(separator: "\n"), database, tolerance: 3 * Money.picoPerCent)
        let wideBad = Set(wide.discrepancies.map { "\($0.day) \($0.model)" })
        #expect(!wideBad.contains("\(second[0]) \(second[1])"))
        #expect(wideBad.contains("\(first[0]) \(first[1])"))
        // The table's TOTAL sums both sides.
        let table = result.table
        let total = try #require(table.footer.first)
        #expect(total.last == .empty)
        #expect(total[total.count - 2] == .text("\(result.discrepancies.count) DISCREPANT"))
    }

    @Test(arguments: [
        ("date,model\n", "line 1: the header"),
        (ProviderBill.csvHeader + "\n2026-11-01,gpt-4.1,1,0,1\n", "line 2: 5 fields"),
        (ProviderBill.csvHeader + "\n2026-11-01,gpt-4.1,1,0,1,0.1\n2026-13-01,gpt-4.1,1,0,1,0.1\n", "line 3: date"),
        (ProviderBill.csvHeader + "\n2026-11-01,gpt-4.1,x,0,1,0.1\n", "line 2: input_tokens 'x'"),
        (ProviderBill.csvHeader + "\n2026-11-01,gpt-4.1,1,2,1,0.1\n", "line 2: cached_input_tokens 2 exceeds"),
        (ProviderBill.csvHeader + "\n2026-11-01,gpt-4.1,1,0,1,$0.10\n", "line 2: cost_usd '$0.10'"),
        (ProviderBill.csvHeader + "\n2026-11-01,gpt-4.1,1,0,1,0.1\n2026-11-01,gpt-4.1,1,0,1,0.1\n", "line 3: 2026-11-01 gpt-4.1 already appears on line 2"),
        ("{\"usage\": {\"data\": [{\"start_time\": 5, \"results\": []}]}}", "usage page 1 bucket 1: start_time 5"),
        ("{\"costs\": {\"data\": [{\"start_time\": 1793491200, \"results\": [{\"line_item\": \"gpt-4.1, input\"}]}]}}",
         "costs page 1 bucket 1 result 1: no numeric"),
        ("{\"usage\": [", "does not parse"),
    ])
    func malformedBillsNameTheLine(bill: String, message: String) {
        do {
            _ = try ProviderBill(bytes: Array(bill.utf8))
            Issue.record("accepted: \(bill)")
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
        }
    }

    @Test func aLineOutsideTheMonthIsRefused() throws {
        let database = try ReportFixture.ledger()
        #expect(throws: ReportError.self) {
            try Self.reconcile(ProviderBill.csvHeader + "\n2026-12-01,gpt-4.1,1,0,1,0.1\n", database)
        }
    }

    /// OpenAI's organization usage and costs pages, summed per bucket and model.
    @Test func openAIsOrganizationExportIsReadPerDayAndModel() throws {
        let nov1 = UTCDate.days(year: 2026, month: 11, day: 1) * 86_400
        let json = """
            {"usage": {"object": "page", "data": [{"object": "bucket", "start_time": \(nov1), "end_time": \(nov1 + 86_400),
              "results": [{"object": "organization.usage.completions.result", "input_tokens": 99965,
                "output_tokens": 12695, "input_cached_tokens": 200, "num_model_requests": 2, "model": "gpt-4.1"}]}],
              "has_more": false, "next_page": null},
             "costs": [{"object": "page", "data": [{"object": "bucket", "start_time": \(nov1), "end_time": \(nov1 + 86_400),
              "results": [{"object": "organization.costs.result", "amount": {"value": 0.0012345000000000001, "currency": "usd"},
                "line_item": "gpt-4.1, input", "project_id": null},
               {"object": "organization.costs.result", "amount": {"value": 1.5e-3, "currency": "usd"},
                "line_item": "gpt-4.1, output", "project_id": null}]}]}]}
            """
        let bill = try ProviderBill(bytes: Array(json.utf8))
        #expect(bill.lines.count == 1)
        let line = try #require(bill.lines.first)
        #expect(line.model == "gpt-4.1")
        #expect(line.inputTokens == 99965 && line.cachedInputTokens == 200 && line.outputTokens == 12695)
        #expect(line.cost == Money(picoUSD: Int128(1_234_500_000) + Int128(1_500_000_000)))
        #expect(line.day == UTCDate.days(year: 2026, month: 11, day: 1))
    }

    @Test(arguments: [
        ("0.06", Int128(60_000_000_000)), ("1", Int128(1_000_000_000_000)), ("-1.5", Int128(-1_500_000_000_000)),
        ("1.2e-5", Int128(12_000_000)), ("0.0000000000005", Int128(0)), ("0.0000000000015", Int128(2)),
        (".5", Int128(500_000_000_000)),
    ])
    func amountsParseExactly(text: String, pico: Int128) {
        #expect(ProviderBill.picoUSD(parsing: text) == pico)
    }

    @Test(arguments: ["", "abc", "1.2.3", "1e", "--1", "0x10"])
    func nonNumbersAreRefused(text: String) {
        #expect(ProviderBill.picoUSD(parsing: text) == nil)
    }
}
