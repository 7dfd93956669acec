import LedgerBudgets
import LedgerCore
import Testing

@Suite struct BudgetPeriodTests {
    func micros(_ text: String) -> Int64 { UTCDate.micros(parsing: text)! }

    @Test func dayWeekAndMonthAreCalendarUTC() {
        let t = micros("2026-12-06T23:59:59.999999Z")  // a Sunday
        #expect(BudgetPeriod.day.window(containing: t) == PeriodWindow(startMicros: micros("2026-12-06"), endMicros: micros("2026-12-07")))
        // The week starts on Monday 2026-11-30 and ends (exclusive) on Monday 2026-12-07.
        #expect(BudgetPeriod.week.window(containing: t) == PeriodWindow(startMicros: micros("2026-11-30"), endMicros: micros("2026-12-07")))
        #expect(BudgetPeriod.week.window(containing: micros("2026-12-07")).startMicros == micros("2026-12-07"))
        #expect(BudgetPeriod.month.window(containing: t) == PeriodWindow(startMicros: micros("2026-12-01"), endMicros: micros("2027-01-01")))
        #expect(BudgetPeriod.month.window(containing: micros("2028-02-29T12:00:00Z")) == PeriodWindow(startMicros: micros("2028-02-01"), endMicros: micros("2028-03-01")))
        // 1970-01-01 was a Thursday; before the epoch still floors to the Monday.
        #expect(BudgetPeriod.week.window(containing: 0).startMicros == -3 * UTCDate.microsPerDay)
        #expect(BudgetPeriod.week.window(containing: -1).startMicros == -3 * UTCDate.microsPerDay)
    }

    @Test func everyInstantIsInExactlyOneWindow() {
        for period in BudgetPeriod.allCases {
            var t = micros("2026-01-01")
            while t < micros("2027-01-10") {
                let w = period.window(containing: t)
                #expect(w.contains(t) && !w.contains(w.endMicros) && w.contains(w.endMicros - 1))
                #expect(period.window(containing: w.endMicros).startMicros == w.endMicros)
                t += 7 * 3_600_000_000 + 123
            }
        }
    }
}

@Suite struct BudgetParsingTests {
    @Test func limitsAreExactPicoUSD() throws {
        #expect(try BudgetParsing.limitPico("500") == 500_000_000_000_000)
        #expect(try BudgetParsing.limitPico("1.00") == 1_000_000_000_000)
        #expect(try BudgetParsing.limitPico("0.000000000001") == 1)
        #expect(try BudgetParsing.limitPico(" 0.25 ") == 250_000_000_000)
        for bad in ["-1", "abc", "", "1e3", "0", "0.0", "1.", ".5", "1,5", "10000000", "0.0000000000001"] {
            #expect(throws: BudgetError.self) { try BudgetParsing.limitPico(bad) }
        }
    }

    @Test func thresholdsAreBasisPoints() throws {
        #expect(try BudgetParsing.thresholds("50%,80%,100%") == [5000, 8000, 10_000])
        #expect(try BudgetParsing.thresholds("100,12.5%,50") == [1250, 5000, 10_000])
        #expect(BudgetParsing.percent(1250) == "12.5%")
        #expect(BudgetParsing.percent(8000) == "80%")
        for bad in ["0%", "x", "50%,", "-5%", "1.234%", "2000%"] {
            #expect(throws: BudgetError.self) { try BudgetParsing.thresholds(bad) }
        }
    }

    @Test func webhooksAreHTTP() throws {
        #expect(try BudgetParsing.webhook("https://hooks.example.com/x") == "https://hooks.example.com/x")
        #expect(try BudgetParsing.webhook("http://127.0.0.1:9000") == "http://127.0.0.1:9000")
        for bad in ["ftp://x", "hooks.example.com", "http://", "https:// x"] {
            #expect(throws: BudgetError.self) { try BudgetParsing.webhook(bad) }
        }
    }

    @Test func tagsAreOnePair() throws {
        #expect(try BudgetScope.tagPair("project = search") == ("project", "search"))
        for bad in ["project", "=x", "a=", "a=b,c=d", "a=b=c"] {
            #expect(throws: BudgetError.self) { try BudgetScope.tagPair(bad) }
        }
    }

    @Test func scopesMatchCalls() {
        let r = AdmissionRequest(
            keyID: 7, team: "ml", tags: "project=search,env=prod", model: "m", bodyBytes: 1, maxOutputTokens: 1,
            atMicros: 0)
        #expect(BudgetScope.team("ml").matches(r))
        #expect(!BudgetScope.team("m").matches(r))
        #expect(BudgetScope.key(7).matches(r))
        #expect(BudgetScope.tag(name: "env", value: "prod").matches(r))
        #expect(!BudgetScope.tag(name: "env", value: "pro").matches(r))
        #expect(BudgetScope(kind: "tag", value: "env=prod") == .tag(name: "env", value: "prod"))
        #expect(BudgetScope(kind: "key", value: "x") == nil)
    }
}

@Suite struct WorstCaseTests {
    let price = ModelPrice(input: 2_000_000, cachedInput: 500_000, output: 8_000_000)

    @Test func inputBoundedByBodyBytesOutputByMaxTokens() {
        // 1,000 bytes x 2 USD/MTok + 500 tokens x 8 USD/MTok = 0.002 + 0.004 USD.
        #expect(
            WorstCase.picoUSD(bodyBytes: 1000, maxOutputTokens: 500, outputCap: 99, prices: [price])
                == Int64(1000 * 2_000_000 + 500 * 8_000_000))
        // No max_tokens: the configured cap.
        #expect(
            WorstCase.picoUSD(bodyBytes: 10, maxOutputTokens: nil, outputCap: 4096, prices: [price])
                == Int64(10 * 2_000_000 + 4096 * 8_000_000))
    }

    @Test func dearestRateOfEveryCandidate() {
        let anthropic = ModelPrice(
            input: 3_000_000, cachedInput: 300_000, output: 15_000_000, cacheWriteInput: 3_750_000,
            cacheWrite1hInput: 6_000_000)
        let audio = ModelPrice(input: 1, cachedInput: 1, output: 2, inputAudio: 40_000_000, outputAudio: 80_000_000)
        #expect(
            WorstCase.picoUSD(bodyBytes: 100, maxOutputTokens: 10, outputCap: 0, prices: [anthropic])
                == Int64(100 * 6_000_000 + 10 * 15_000_000))
        #expect(
            WorstCase.picoUSD(bodyBytes: 100, maxOutputTokens: 10, outputCap: 0, prices: [price, audio])
                == Int64(100 * 40_000_000 + 10 * 80_000_000))
        #expect(WorstCase.picoUSD(bodyBytes: 100, maxOutputTokens: 10, outputCap: 0, prices: []) == nil)
    }

    @Test func neverOverflows() {
        let huge = ModelPrice(input: Int64.max, cachedInput: 0, output: Int64.max)
        #expect(WorstCase.picoUSD(bodyBytes: Int.max, maxOutputTokens: Int64.max, outputCap: 0, prices: [huge]) == Int64.max)
    }

    @Test func reservationCoversTheExactCostOfAnyUsageWithinTheBounds() throws {
        // Whatever the reply reports within the bounds (prompt <= body bytes, completion <= max_tokens), its
        // exact cost is at most the reservation.
        let p = ModelPrice(
            input: 3_000_000, cachedInput: 300_000, output: 15_000_000, cacheWriteInput: 3_750_000,
            cacheWrite1hInput: 6_000_000, inputAudio: 4_000_000, outputAudio: 20_000_000)
        let worst = WorstCase.picoUSD(bodyBytes: 200, maxOutputTokens: 50, outputCap: 0, prices: [p])!
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let prompt = Int64.random(in: 0...200, using: &rng)
            var parts = [Int64](repeating: 0, count: 4)
            var left = prompt
            for i in 0..<4 {
                parts[i] = Int64.random(in: 0...left, using: &rng)
                left -= parts[i]
            }
            let completion = Int64.random(in: 0...50, using: &rng)
            let usage = TokenUsage(
                promptTokens: prompt, cachedPromptTokens: parts[0], completionTokens: completion,
                cacheWrite5mTokens: parts[1], cacheWrite1hTokens: parts[2], audioPromptTokens: parts[3],
                audioCompletionTokens: Int64.random(in: 0...completion, using: &rng))
            #expect(try CostCalculator.cost(for: usage, price: p).picoUSD <= Int128(worst))
        }
    }
}
