import LedgerTestSupport
import Testing

@testable import LedgerRouting

@Suite struct ResilientCallTests {
    let clock = TestClock(.autoAdvance)
    let holysheep = ProviderEndpoint(name: "holysheep", baseURL: "http://127.0.0.1:9001/v1")
    let official = ProviderEndpoint(name: "official", baseURL: "http://127.0.0.1:9002/v1")
    var chain: [ProviderEndpoint] { [holysheep, official] }

    private func caller(
        policy: RetryPolicy = RetryPolicy(), breakers: CircuitBreakers<TestClock>? = nil,
        pool: PriorityPool<TestClock>? = nil
    ) -> ResilientCall<TestClock> {
        ResilientCall(
            policy: policy, breakers: breakers ?? CircuitBreakers(clock: clock), pool: pool, clock: clock,
            random: { 0.5 }
        )
    }

    @Test func a500ThenSuccessRetriesTheSameProviderAfterTwoSeconds() async {
        let upstream = ScriptedUpstream(["holysheep": [.status(500), .ok("hi")]])
        let result = await caller().run(chain: chain, attempt: upstream.attempt)
        #expect(result.succeeded)
        #expect(result.response == "holysheep: hi")
        #expect(result.provider == holysheep)
        #expect(result.attempts == 2)
        #expect(!result.fallbackUsed)
        #expect(clock.recordedSleeps == [.seconds(2)])
        #expect(upstream.calls == ["holysheep", "holysheep"])
    }

    @Test func backoffDoublesAndJitterComesFromTheInjectedSource() async {
        let upstream = ScriptedUpstream(["holysheep": [.status(503), .status(502), .ok("hi")]])
        let draws = Draws([0, 1])
        let call = ResilientCall(
            policy: RetryPolicy(), breakers: CircuitBreakers(clock: clock), pool: nil, clock: clock,
            random: { draws.next() }
        )
        let result = await call.run(chain: chain, attempt: upstream.attempt)
        #expect(result.attempts == 3)
        #expect(clock.recordedSleeps == [.milliseconds(1600), .milliseconds(4800)])
    }

    @Test func a429WaitsWhatRetryAfterSays() async {
        let upstream = ScriptedUpstream(["holysheep": [.status(429, retryAfter: .seconds(7)), .ok("hi")]])
        let result = await caller().run(chain: chain, attempt: upstream.attempt)
        #expect(result.succeeded)
        #expect(result.attempts == 2)
        #expect(clock.recordedSleeps == [.seconds(7)])
    }

    @Test func aRetryAfterLongerThanTheMaximumFallsBackAtOnce() async {
        let upstream = ScriptedUpstream([
            "holysheep": [.status(429, retryAfter: .seconds(600))], "official": [.ok("hi")],
        ])
        let result = await caller().run(chain: chain, attempt: upstream.attempt)
        #expect(result.response == "official: hi")
        #expect(result.fallbackUsed)
        #expect(result.attempts == 2)
        #expect(clock.recordedSleeps.isEmpty)
    }

    @Test func timeoutsUseUpThePrimaryThenTheFallbackAnswers() async {
        let upstream = ScriptedUpstream([
            "holysheep": [.timeout(.total, .seconds(30))], "official": [.ok("hi")],
        ])
        let result = await caller().run(chain: chain, attempt: upstream.attempt)
        #expect(result.succeeded)
        #expect(result.provider == official)
        #expect(result.fallbackUsed)
        #expect(result.attempts == 4)
        #expect(clock.recordedSleeps == [.seconds(2), .seconds(4)])
        #expect(upstream.calls == ["holysheep", "holysheep", "holysheep", "official"])
        #expect(result.trail.last?.event == .succeeded)
    }

    @Test func primaryDownFallsBackToOfficial() async {
        let upstream = ScriptedUpstream(["holysheep": [.connectError], "official": [.ok("hi")]])
        let result = await caller().run(chain: chain, attempt: upstream.attempt)
        #expect(result.response == "official: hi")
        #expect(result.fallbackUsed)
        #expect(result.attempts == 4)
    }

    @Test func a400IsNeitherRetriedNorFallenBackFromAndIsPassedThrough() async {
        let upstream = ScriptedUpstream(["holysheep": [.status(400)], "official": [.ok("hi")]])
        let result = await caller().run(chain: chain, attempt: upstream.attempt)
        #expect(result.attempts == 1)
        #expect(result.response == "holysheep error 400")
        #expect(
            result.error == .upstreamStatus(provider: "holysheep", baseURL: holysheep.baseURL, status: 400, attempts: 1)
        )
        #expect(upstream.calls == ["holysheep"])
        #expect(clock.recordedSleeps.isEmpty)
    }

    @Test func a401IsDiagnosedWithTheProviderItsBaseURLAndWhatToCheck() async throws {
        let upstream = ScriptedUpstream(["holysheep": [.status(401)]])
        let result = await caller().run(chain: chain, attempt: upstream.attempt)
        #expect(result.attempts == 1)
        let message = try #require(result.error?.description)
        #expect(message.contains("'holysheep'"))
        #expect(message.contains("http://127.0.0.1:9001/v1"))
        #expect(message.contains("401"))
        #expect(message.contains("API key"))
        #expect(message.contains("base_url"))
        #expect(
            ResilientCall<TestClock>.diagnose(.status(403), at: official, attempts: 1).description.contains(
                "403 Forbidden"))
    }

    @Test func aTimeoutIsDiagnosedWithWhichTimeoutFiredAndItsValue() async throws {
        let upstream = ScriptedUpstream([
            "holysheep": [.timeout(.connect, .seconds(30))], "official": [.timeout(.total, .seconds(60))],
        ])
        let result = await caller().run(chain: chain, attempt: upstream.attempt)
        #expect(result.attempts == 6)
        #expect(result.provider == official)
        #expect(result.fallbackUsed)
        let error = try #require(result.error)
        #expect(
            error
                == .upstreamTimeout(
                    provider: "official", baseURL: official.baseURL, kind: .total, limit: .seconds(60), attempts: 3))
        #expect(error.description.contains("total timeout (60 s)"))
        #expect(error.description.contains("'official'"))
    }

    @Test func nothingIsRetriedOnceABytesReachedTheClient() async {
        let upstream = ScriptedUpstream(["holysheep": [.cutAfterBytes], "official": [.ok("hi")]])
        let result = await caller().run(chain: chain, attempt: upstream.attempt)
        #expect(result.attempts == 1)
        #expect(upstream.calls == ["holysheep"])
        #expect(
            result.error
                == .failedAfterBytesSent(
                    provider: "holysheep", baseURL: holysheep.baseURL, failure: "malformed response: stream cut"))
        #expect(!result.fallbackUsed)
    }

    @Test func theBreakerOpensAfterFiveFailuresThenSkipsThePrimaryUntilAProbeSucceeds() async {
        let breakers = CircuitBreakers(clock: clock)
        let upstream = ScriptedUpstream([
            "holysheep": [.status(503), .status(503), .status(503), .status(503), .status(503), .ok("back")],
            "official": [.ok("hi")],
        ])
        let call = caller(breakers: breakers)
        // 3 failures, then fallback; 2 more failures open the circuit, then fallback.
        let first = await call.run(chain: chain, attempt: upstream.attempt)
        #expect(first.response == "official: hi")
        let second = await call.run(chain: chain, attempt: upstream.attempt)
        #expect(second.response == "official: hi")
        #expect(second.attempts == 3)
        #expect(breakers.snapshot(of: "holysheep").state == .open)
        // Open: the primary is skipped without a call.
        let callsBefore = upstream.calls.count
        let third = await call.run(chain: chain, attempt: upstream.attempt)
        #expect(third.response == "official: hi")
        #expect(third.attempts == 1)
        #expect(third.fallbackUsed)
        #expect(third.trail.first?.event == .skippedOpenCircuit)
        #expect(upstream.calls.count == callsBefore + 1)
        // After the cooldown one probe goes through and closes the circuit.
        clock.advance(by: .seconds(30))
        let fourth = await call.run(chain: chain, attempt: upstream.attempt)
        #expect(fourth.response == "holysheep: back")
        #expect(!fourth.fallbackUsed)
        #expect(breakers.snapshot(of: "holysheep").state == .closed)
    }

    @Test func everyCircuitOpenAnswers503WithRetryAfter() async throws {
        let breakers = CircuitBreakers(
            policy: CircuitBreakerPolicy(failureThreshold: 1, cooldown: .seconds(20)), clock: clock)
        let upstream = ScriptedUpstream(["holysheep": [.connectError], "official": [.connectError]])
        let call = caller(breakers: breakers)
        let first = await call.run(chain: chain, attempt: upstream.attempt)
        #expect(first.attempts == 2)
        #expect(
            first.error
                == .upstreamUnreachable(
                    provider: "official", baseURL: official.baseURL, reason: "connection refused", attempts: 1))
        let second = await call.run(chain: chain, attempt: upstream.attempt)
        #expect(second.attempts == 0)
        let error = try #require(second.error)
        #expect(error == .circuitOpen(providers: ["holysheep", "official"], retryAfter: .seconds(20)))
        #expect(error.retryAfterSeconds == 20)
    }

    @Test func aCancelledClientEndsTheCallWithoutRetryAndWithoutBlamingTheProvider() async {
        let breakers = CircuitBreakers(policy: CircuitBreakerPolicy(failureThreshold: 1), clock: clock)
        let upstream = ScriptedUpstream(["holysheep": [.cancelled], "official": [.ok("hi")]])
        let result = await caller(breakers: breakers).run(chain: chain, attempt: upstream.attempt)
        #expect(result.error == .cancelled)
        #expect(upstream.calls == ["holysheep"])
        #expect(breakers.snapshot(of: "holysheep").state == .closed)
    }

    @Test func anEmptyChainIsAModelNotFound() async {
        let result = await caller().run(chain: [], model: "mystery") { _, _ -> AttemptOutcome<String> in .success("x") }
        #expect(result.error == .emptyChain(model: "mystery"))
    }

    @Test func poolAdmissionIsRecordedAndEveryAttemptHandsItsSlotBack() async {
        let pool = PriorityPool(policy: PoolPolicy(maxConcurrent: 2), clock: clock)
        let upstream = ScriptedUpstream(["holysheep": [.status(500), .ok("hi")]])
        let result = await caller(pool: pool).run(chain: chain, priority: .highest, attempt: upstream.attempt)
        #expect(result.succeeded)
        #expect(result.queueWait == .zero)
        #expect(result.inFlightAtAdmission == 0)
        #expect(pool.snapshot().inFlight == 0)
        #expect(pool.snapshot().admitted == 2)
    }

    @Test func aFullQueueEndsTheCallWith429BeforeAnyAttempt() async throws {
        let pool = PriorityPool(policy: PoolPolicy(maxConcurrent: 1, maxQueued: 0), clock: clock)
        let holder = try await pool.acquire(provider: "holysheep", priority: .normal)
        let upstream = ScriptedUpstream(["holysheep": [.ok("hi")]])
        let result = await caller(pool: pool).run(chain: chain, attempt: upstream.attempt)
        #expect(result.attempts == 0)
        guard case .queueFull? = result.error else {
            Issue.record("expected queueFull, got \(String(describing: result.error))")
            return
        }
        #expect(upstream.calls.isEmpty)
        pool.release(holder)
    }

    @Test func aStreamedReplyKeepsItsSlotUntilFinished() async throws {
        let pool = PriorityPool(policy: PoolPolicy(maxConcurrent: 1, maxQueued: 0), clock: clock)
        let upstream = ScriptedUpstream(["holysheep": [.ok("stream")]])
        let call = caller(pool: pool)
        let result = await call.run(chain: chain, holdLeaseOnSuccess: true, attempt: upstream.attempt)
        let lease = try #require(result.lease)
        #expect(lease.provider == "holysheep")
        #expect(pool.snapshot().inFlight == 1)
        let refused = await call.run(chain: chain, attempt: upstream.attempt)
        guard case .queueFull? = refused.error else {
            Issue.record("expected queueFull, got \(String(describing: refused.error))")
            return
        }
        call.finish(result)
        #expect(pool.snapshot().inFlight == 0)
    }
}
