import Testing

@testable import LedgerRouting

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy()

    @Test func backoffDoublesFromTwoSecondsToATenSecondCap() {
        let waits = (1...5).map { policy.backoff(beforeRetry: $0, random: 0.5) }
        #expect(waits == [.seconds(2), .seconds(4), .seconds(8), .seconds(10), .seconds(10)])
    }

    @Test func jitterSpreadsAWaitByAFractionAndNeverPassesTheCap() {
        #expect(policy.backoff(beforeRetry: 1, random: 0) == .milliseconds(1600))
        #expect(policy.backoff(beforeRetry: 1, random: 1) == .milliseconds(2400))
        #expect(policy.backoff(beforeRetry: 4, random: 1) == .seconds(10))
        var still = policy
        still.jitter = 0
        #expect(still.backoff(beforeRetry: 2, random: 0.99) == .seconds(4))
    }

    @Test func retriesConnectErrorsTimeoutsAnd429And5xxOnly() {
        for code in [429, 500, 502, 503, 504] { #expect(policy.isRetryable(.status(code))) }
        for code in [400, 401, 403, 404, 422, 501] { #expect(!policy.isRetryable(.status(code))) }
        #expect(policy.isRetryable(AttemptFailure(.connect("refused"))))
        #expect(policy.isRetryable(AttemptFailure(.timeout(.total, limit: .seconds(30)))))
        #expect(!policy.isRetryable(AttemptFailure(.malformedResponse("bad json"))))
    }

    @Test func neverRetries400To404EvenIfConfiguredTo() {
        var lax = policy
        lax.retryableStatuses = [400, 401, 403, 404, 500]
        for code in [400, 401, 403, 404] { #expect(!lax.isRetryable(.status(code))) }
        #expect(lax.isRetryable(.status(500)))
    }

    @Test func stopsAfterThreeAttemptsAtAProvider() {
        #expect(policy.delay(beforeRetry: 1, after: .status(500), random: 0.5) == .seconds(2))
        #expect(policy.delay(beforeRetry: 2, after: .status(500), random: 0.5) == .seconds(4))
        #expect(policy.delay(beforeRetry: 3, after: .status(500), random: 0.5) == nil)
        #expect(policy.delay(beforeRetry: 1, after: .status(400), random: 0.5) == nil)
    }

    @Test func honoursRetryAfterUnlessItIsLongerThanTheMaximum() {
        #expect(policy.delay(beforeRetry: 1, after: .status(429, retryAfter: .seconds(7)), random: 0.5) == .seconds(7))
        #expect(policy.delay(beforeRetry: 1, after: .status(429, retryAfter: .seconds(31)), random: 0.5) == nil)
        var ignoring = policy
        ignoring.honourRetryAfter = false
        #expect(
            ignoring.delay(beforeRetry: 1, after: .status(429, retryAfter: .seconds(7)), random: 0.5) == .seconds(2))
    }
}

@Suite struct RetryAfterTests {
    // 2015-10-21T07:28:00Z
    let now: Int64 = 1_445_412_480 * 1_000_000

    @Test func parsesDelaySeconds() {
        #expect(RetryAfter.parse("120", nowMicros: now) == .seconds(120))
        #expect(RetryAfter.parse(" 0 ", nowMicros: now) == .zero)
    }

    @Test func parsesTheThreeHTTPDateForms() {
        #expect(RetryAfter.parse("Wed, 21 Oct 2015 07:28:30 GMT", nowMicros: now) == .seconds(30))
        #expect(RetryAfter.parse("Wednesday, 21-Oct-15 07:29:00 GMT", nowMicros: now) == .seconds(60))
        #expect(RetryAfter.parse("Wed Oct 21 07:28:05 2015", nowMicros: now) == .seconds(5))
    }

    @Test func aDateInThePastMeansNowAndGarbageIsNil() {
        #expect(RetryAfter.parse("Wed, 21 Oct 2015 07:00:00 GMT", nowMicros: now) == .zero)
        #expect(RetryAfter.parse("soon", nowMicros: now) == nil)
        #expect(RetryAfter.parse("-5", nowMicros: now) == nil)
        #expect(RetryAfter.parse("Wed, 31 Feb 2015 07:00:00 GMT", nowMicros: now) == nil)
    }
}
