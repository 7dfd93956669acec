import LedgerBudgets
import LedgerCore
import Testing

@Suite struct BudgetCounterTests {
    static let usd: Int64 = 1_000_000_000_000
    static let t0 = UTCDate.micros(parsing: "2026-12-02T10:00:00Z")!

    func request(key: Int64 = 1, team: String? = "ml", tags: String? = nil, at: Int64 = t0) -> AdmissionRequest {
        AdmissionRequest(keyID: key, team: team, tags: tags, model: "m", bodyBytes: 100, maxOutputTokens: 10, atMicros: at)
    }

    func counter(_ budgets: [Budget], spent: Int128 = 0) -> BudgetCounter {
        let c = BudgetCounter()
        c.install(budgets, atMicros: Self.t0) { _, _ in (spent, 0, []) }
        return c
    }

    func admitted(_ d: BudgetCounter.Decision) -> Admission? {
        if case .admitted(let a, _) = d { return a }
        return nil
    }

    @Test func reservesUpToTheLimitExactly() {
        let c = counter([Budget(id: 1, scope: .team("ml"), period: .month, limitPico: 10)])
        var held: [Admission] = []
        for _ in 0..<3 { held.append(admitted(c.admit(request(), costPico: 3))!) }
        // 9 reserved: a fourth call of 3 would make 12 > 10.
        #expect(admitted(c.admit(request(), costPico: 3)) == nil)
        #expect(admitted(c.admit(request(), costPico: 1))?.headers[BudgetCounter.remainingHeader] == "0.00")
        // Settling below the reservation frees the difference.
        _ = c.settle(held[0], paidPico: 1, atMicros: Self.t0)
        #expect(c.snapshot()[0].spentPico == 1)
        #expect(c.snapshot()[0].reservedPico == 7)
        #expect(admitted(c.admit(request(), costPico: 2)) != nil)
        #expect(admitted(c.admit(request(), costPico: 1)) == nil)
    }

    @Test func otherScopesAndAlertBudgetsDoNotRefuse() {
        let c = counter([
            Budget(id: 1, scope: .team("ml"), period: .day, limitPico: 5),
            Budget(id: 2, scope: .key(9), period: .day, limitPico: 5, action: .alert),
        ])
        #expect(admitted(c.admit(request(team: "other"), costPico: 100)) == .open)
        #expect(admitted(c.admit(request(key: 9, team: nil), costPico: 100)) != nil)
        #expect(c.snapshot()[1].remainingPico == -95)
    }

    @Test func overlappingBudgetsAllApplyAndTheTightestRefusesWithoutReservingAnything() {
        let c = counter([
            Budget(id: 1, scope: .team("ml"), period: .month, limitPico: 100),
            Budget(id: 2, scope: .tag(name: "p", value: "x"), period: .day, limitPico: 10),
        ])
        let a = admitted(c.admit(request(tags: "p=x,env=prod"), costPico: 8))!
        #expect(a.headers[BudgetCounter.remainingHeader] == "0.000000000002")
        guard case .refused(let refusal, _) = c.admit(request(tags: "env=prod,p=x"), costPico: 8) else {
            Issue.record("not refused")
            return
        }
        #expect(refusal.message.contains("budget 2 (tag p=x, day)"))
        #expect(refusal.message.contains("resets at 2026-12-03T00:00:00"))
        // The refused call reserved nothing on budget 1 either.
        #expect(c.snapshot().map(\.reservedPico) == [8, 8])
        #expect(admitted(c.admit(request(tags: nil), costPico: 8)) != nil)
    }

    @Test func unpricedCallsAreRefusedByBlockBudgets() {
        let c = counter([Budget(id: 1, scope: .team("ml"), period: .month, limitPico: 100)])
        guard case .refused(let r, _) = c.admit(request(), costPico: nil) else {
            Issue.record("admitted")
            return
        }
        #expect(r.message.contains("no price"))
    }

    @Test func callsWithoutUsageKeepTheirReservationUntilThePeriodEnds() {
        let c = counter([Budget(id: 1, scope: .team("ml"), period: .day, limitPico: 10)])
        let a = admitted(c.admit(request(), costPico: 6))!
        let (_, held) = c.settle(a, paidPico: nil, atMicros: Self.t0)
        #expect(held.count == 1 && held[0].amount == 6)
        #expect(c.snapshot()[0].heldPico == 6 && c.snapshot()[0].reservedPico == 0)
        #expect(admitted(c.admit(request(), costPico: 5)) == nil)
        // The next day starts empty.
        let tomorrow = Self.t0 + UTCDate.microsPerDay
        #expect(admitted(c.admit(request(at: tomorrow), costPico: 10)) != nil)
        #expect(c.snapshot()[0].window.startMicros == UTCDate.micros(parsing: "2026-12-03")!)
        // A call reserved yesterday settles into nothing today.
        _ = c.settle(a, paidPico: 9, atMicros: tomorrow)
        #expect(c.snapshot()[0].spentPico == 0)
    }

    @Test func eachThresholdIsCrossedOncePerPeriod() {
        let c = counter([
            Budget(
                id: 1, scope: .team("ml"), period: .month, limitPico: 100, alertAtBasisPoints: [5000, 8000, 10_000])
        ])
        func spend(_ paid: Int64) -> [Int64] {
            let a = admitted(c.admit(request(), costPico: paid))!
            return c.settle(a, paidPico: paid, atMicros: Self.t0).crossings.map(\.thresholdBasisPoints)
        }
        #expect(spend(49) == [])
        #expect(spend(1) == [5000])
        #expect(spend(10) == [])
        #expect(spend(30) == [8000])
        // Refused at 90 spent: fires 100% (the budget is full for this call), once.
        guard case .refused(_, let crossings) = c.admit(request(), costPico: 20) else {
            Issue.record("admitted")
            return
        }
        #expect(crossings.map(\.thresholdBasisPoints) == [10_000] && crossings[0].reason == .refused)
        guard case .refused(_, let again) = c.admit(request(), costPico: 20) else { return }
        #expect(again.isEmpty)
        #expect(spend(10) == [])
    }

    @Test func installKeepsCountersOfChangedBudgetsAndSeedsNewOnes() {
        let c = counter([Budget(id: 1, scope: .team("ml"), period: .month, limitPico: 100)], spent: 40)
        _ = admitted(c.admit(request(), costPico: 10))!
        c.install(
            [
                Budget(id: 1, scope: .team("ml"), period: .month, limitPico: 200),
                Budget(id: 2, scope: .key(1), period: .day, limitPico: 50),
            ], atMicros: Self.t0
        ) { b, _ in (b.id == 2 ? 7 : 999, 0, []) }
        let s = c.snapshot()
        #expect(s.map(\.spentPico) == [40, 7])
        #expect(s[0].reservedPico == 10 && s[0].budget.limitPico == 200)
        c.install([], atMicros: Self.t0) { _, _ in (0, 0, []) }
        #expect(c.snapshot().isEmpty)
        #expect(!c.applies(to: request()))
    }

    @Test func alertPayloadIsJSON() {
        let crossing = AlertCrossing(
            budget: Budget(
                id: 3, scope: .team("m\"l"), period: .month, limitPico: Self.usd, webhook: "http://x"),
            window: BudgetPeriod.month.window(containing: Self.t0), thresholdBasisPoints: 8000,
            spentPico: 812_000_000_000, reason: .spent, atMicros: Self.t0)
        let text = String(decoding: AlertPayload.json(alertID: 12, crossing), as: UTF8.self)
        #expect(text.contains(#""alert_id":12,"budget_id":3,"scope":"team m\"l""#))
        #expect(text.contains(#""limit_usd":"1.00","spent_usd":"0.812""#))
        #expect(text.contains(#""threshold":"80%""#) && text.contains(#""period":"month""#))
        #expect(text.contains(#""period_start":"2026-12-01T00:00:00.000000Z""#))
    }
}
