import LedgerTestSupport
import Testing

@testable import LedgerRouting

@Suite struct CircuitBreakersTests {
    let clock = TestClock()

    private func fail(_ breakers: CircuitBreakers<TestClock>, _ provider: String, times: Int) throws {
        for _ in 0..<times {
            let permit = try #require(breakers.permit(provider))
            breakers.record(.failure, for: permit)
        }
    }

    @Test func opensAfterFiveConsecutiveFailuresAndOnlyForThatProvider() throws {
        let breakers = CircuitBreakers(clock: clock)
        try fail(breakers, "holysheep", times: 4)
        #expect(breakers.snapshot(of: "holysheep").state == .closed)
        #expect(breakers.snapshot(of: "holysheep").consecutiveFailures == 4)
        try fail(breakers, "holysheep", times: 1)
        #expect(breakers.permit("holysheep") == nil)
        let snapshot = breakers.snapshot(of: "holysheep")
        #expect(snapshot.state == .open)
        #expect(snapshot.reopensIn == .seconds(30))
        #expect(snapshot.timesOpened == 1)
        #expect(breakers.permit("official") != nil)
    }

    @Test func aSuccessResetsTheCountAndClientFaultsDoNotCount() throws {
        let breakers = CircuitBreakers(clock: clock)
        try fail(breakers, "p", times: 4)
        breakers.record(.success, for: try #require(breakers.permit("p")))
        try fail(breakers, "p", times: 4)
        for _ in 0..<3 { breakers.record(.neutral, for: try #require(breakers.permit("p"))) }
        #expect(breakers.snapshot(of: "p").state == .closed)
        #expect(breakers.snapshot(of: "p").consecutiveFailures == 4)
    }

    @Test func halfOpensAfterTheCooldownLettingExactlyOneProbeThrough() throws {
        let breakers = CircuitBreakers(
            policy: CircuitBreakerPolicy(failureThreshold: 5, cooldown: .seconds(30)), clock: clock)
        try fail(breakers, "p", times: 5)
        clock.advance(by: .seconds(29))
        #expect(breakers.permit("p") == nil)
        #expect(breakers.snapshot(of: "p").reopensIn == .seconds(1))
        clock.advance(by: .seconds(1))
        #expect(breakers.snapshot(of: "p").state == .halfOpen)
        let probe = try #require(breakers.permit("p"))
        #expect(probe.isProbe)
        #expect(breakers.permit("p") == nil)
        breakers.record(.success, for: probe)
        #expect(breakers.snapshot(of: "p").state == .closed)
        #expect(breakers.snapshot(of: "p").consecutiveFailures == 0)
        let next = try #require(breakers.permit("p"))
        #expect(!next.isProbe)
    }

    @Test func aFailedProbeReopensForAnotherCooldown() throws {
        let breakers = CircuitBreakers(clock: clock)
        try fail(breakers, "p", times: 5)
        clock.advance(by: .seconds(30))
        let probe = try #require(breakers.permit("p"))
        breakers.record(.failure, for: probe)
        #expect(breakers.snapshot(of: "p").state == .open)
        #expect(breakers.snapshot(of: "p").timesOpened == 2)
        #expect(breakers.permit("p") == nil)
        clock.advance(by: .seconds(30))
        #expect(breakers.permit("p")?.isProbe == true)
    }

    @Test func anAbandonedProbeHandsItsTurnToTheNextCaller() throws {
        let breakers = CircuitBreakers(clock: clock)
        try fail(breakers, "p", times: 5)
        clock.advance(by: .seconds(30))
        breakers.record(.abandoned, for: try #require(breakers.permit("p")))
        #expect(breakers.snapshot(of: "p").state == .halfOpen)
        #expect(breakers.permit("p")?.isProbe == true)
    }

    @Test func snapshotsListEveryProviderSeenForMetrics() throws {
        let breakers = CircuitBreakers(clock: clock)
        _ = breakers.permit("official")
        try fail(breakers, "holysheep", times: 5)
        let states = breakers.snapshots().map { "\($0.provider)=\($0.state.rawValue)/\($0.state.gaugeValue)" }
        #expect(states == ["holysheep=open/2", "official=closed/0"])
    }

    private func record(
        _ result: CircuitResult, _ breakers: CircuitBreakers<TestClock>, _ source: String, times: Int = 1
    ) throws {
        for _ in 0..<times {
            breakers.record(result, for: try #require(breakers.permit("p", source: source)))
        }
    }

    @Test func oneSourcesFailuresOpenOnlyItsOwnCircuitOnceAnotherSourceIsSeen() throws {
        let breakers = CircuitBreakers(clock: clock)
        try record(.success, breakers, "key:2")
        try record(.failure, breakers, "key:1", times: 5)
        #expect(breakers.snapshot(of: "p").state == .closed)
        #expect(breakers.snapshot(of: "p", source: "key:1").state == .open)
        // The failing source is stopped; the other one is not.
        #expect(breakers.permit("p", source: "key:1") == nil)
        #expect(breakers.permit("p", source: "key:2") != nil)
        #expect(breakers.allows("p", source: "key:2"))
        #expect(!breakers.allows("p", source: "key:1"))
    }

    @Test func failuresFromTwoSourcesOpenTheProviderWithinTheThreshold() throws {
        let breakers = CircuitBreakers(clock: clock)
        try record(.success, breakers, "key:1")
        try record(.success, breakers, "key:2")
        try record(.failure, breakers, "key:1", times: 3)
        try record(.failure, breakers, "key:2", times: 1)
        #expect(breakers.snapshot(of: "p").state == .closed)
        try record(.failure, breakers, "key:2", times: 1)
        #expect(breakers.snapshot(of: "p").state == .open)
        #expect(breakers.permit("p", source: "key:3") == nil)
    }

    @Test func aSuccessFromAnySourceResetsTheProvidersStreak() throws {
        let breakers = CircuitBreakers(clock: clock)
        try record(.success, breakers, "key:2")
        try record(.failure, breakers, "key:1", times: 4)
        try record(.failure, breakers, "key:2", times: 1)
        #expect(breakers.snapshot(of: "p").state == .open)
        let other = CircuitBreakers(clock: clock)
        try record(.success, other, "key:2")
        try record(.failure, other, "key:1", times: 4)
        try record(.success, other, "key:2")
        try record(.failure, other, "key:2", times: 1)
        #expect(other.snapshot(of: "p").state == .closed)
        #expect(other.snapshot(of: "p").consecutiveFailures == 1)
    }

    @Test func aCircuitOneSourceOpenedAloneDoesNotStopANewSource() throws {
        let breakers = CircuitBreakers(clock: clock)
        try record(.failure, breakers, "key:1", times: 5)
        #expect(breakers.snapshot(of: "p").state == .open)
        #expect(breakers.permit("p", source: "key:1") == nil)
        // A second key arrives: it passes, and its success shows the provider is up.
        try record(.success, breakers, "key:2")
        #expect(breakers.snapshot(of: "p").state == .closed)
        #expect(breakers.permit("p", source: "key:1") == nil)

        let outage = CircuitBreakers(clock: clock)
        try record(.failure, outage, "key:1", times: 5)
        try record(.failure, outage, "key:2")
        #expect(outage.permit("p", source: "key:3") == nil)
    }
}
