/// When and how long to wait before trying the same provider again (the guide's tenacity
/// `stop_after_attempt(3), wait_exponential(min=2, max=10)`, plus jitter and `Retry-After`).
package struct RetryPolicy: Sendable, Hashable {
    /// Attempts at one provider before falling back to the next, including the first.
    package var maxAttemptsPerProvider: Int
    /// The wait before the first retry.
    package var initialBackoff: Duration
    /// Each further retry waits this many times longer.
    package var backoffMultiplier: Int
    /// No computed wait exceeds this (a provider's `Retry-After` may).
    package var maxBackoff: Duration
    /// Each wait is spread uniformly over ±`jitter` of itself (0.2 = ±20 %), so retries from many clients do not
    /// arrive in lockstep. 0 disables jitter.
    package var jitter: Double
    /// Upstream statuses worth another attempt. 400, 401, 403 and 404 are never retried, whatever this says.
    package var retryableStatuses: Set<Int>
    package var retryConnectErrors: Bool
    package var retryTimeouts: Bool
    /// Wait what the provider's `Retry-After` asks instead of the computed backoff.
    package var honourRetryAfter: Bool
    /// A `Retry-After` longer than this is not waited out: the call falls back to the next provider instead.
    package var maxRetryAfter: Duration

    /// Statuses that mean the request itself or its credentials are wrong: another attempt cannot help.
    package static let neverRetriedStatuses: Set<Int> = [400, 401, 403, 404]

    package init(
        maxAttemptsPerProvider: Int = 3, initialBackoff: Duration = .seconds(2), backoffMultiplier: Int = 2,
        maxBackoff: Duration = .seconds(10), jitter: Double = 0.2,
        retryableStatuses: Set<Int> = [429, 500, 502, 503, 504], retryConnectErrors: Bool = true,
        retryTimeouts: Bool = true, honourRetryAfter: Bool = true, maxRetryAfter: Duration = .seconds(30)
    ) {
        self.maxAttemptsPerProvider = maxAttemptsPerProvider
        self.initialBackoff = initialBackoff
        self.backoffMultiplier = backoffMultiplier
        self.maxBackoff = maxBackoff
        self.jitter = jitter
        self.retryableStatuses = retryableStatuses
        self.retryConnectErrors = retryConnectErrors
        self.retryTimeouts = retryTimeouts
        self.honourRetryAfter = honourRetryAfter
        self.maxRetryAfter = maxRetryAfter
    }

    /// Whether another attempt (at this provider or the next) may help.
    package func isRetryable(_ failure: AttemptFailure) -> Bool {
        switch failure.kind {
        case .status(let code):
            !Self.neverRetriedStatuses.contains(code) && retryableStatuses.contains(code)
        case .connect: retryConnectErrors
        case .timeout: retryTimeouts
        case .malformedResponse: false
        }
    }

    /// The computed wait before retry number `retry` (1 = after the first attempt): `initialBackoff ×
    /// multiplier^(retry-1)`, capped at `maxBackoff`, then jittered by `random` in [0, 1) and capped again.
    package func backoff(beforeRetry retry: Int, random: Double) -> Duration {
        var base = initialBackoff
        var step = 1
        while step < retry && base < maxBackoff {
            base = base * backoffMultiplier
            step += 1
        }
        base = min(base, maxBackoff)
        guard jitter > 0 else { return base }
        let unit = min(max(random, 0), 1)
        let jittered = base * (1 + jitter * (2 * unit - 1))
        return min(max(jittered, .zero), maxBackoff)
    }

    /// How long to wait before retry number `retry` after `failure` at the same provider, or nil when the provider
    /// should not be tried again (attempts used up, failure not retryable, `Retry-After` too long).
    /// - Parameters:
    ///   - retry: 1 for the wait after the first attempt.
    ///   - random: a draw in [0, 1) for the jitter.
    package func delay(beforeRetry retry: Int, after failure: AttemptFailure, random: Double) -> Duration? {
        guard retry < maxAttemptsPerProvider, isRetryable(failure) else { return nil }
        if honourRetryAfter, let asked = failure.retryAfter {
            guard asked <= maxRetryAfter else { return nil }
            return max(asked, .zero)
        }
        return backoff(beforeRetry: retry, random: random)
    }
}
