import Synchronization

/// When a provider's circuit opens and for how long.
package struct CircuitBreakerPolicy: Sendable, Hashable {
    /// Consecutive failures that open the circuit.
    package var failureThreshold: Int
    /// How long an open circuit skips the provider before letting one probe through.
    package var cooldown: Duration

    package init(failureThreshold: Int = 5, cooldown: Duration = .seconds(30)) {
        self.failureThreshold = failureThreshold
        self.cooldown = cooldown
    }
}

/// A circuit's state, as /metrics and /healthz show it.
package enum CircuitState: String, Sendable, Hashable {
    /// Calls pass.
    case closed
    /// Calls skip the provider until the cooldown ends.
    case open
    /// The cooldown ended: exactly one probe call may pass; its result closes or reopens the circuit.
    case halfOpen = "half_open"

    /// A number for a Prometheus gauge: 0 closed, 1 half-open, 2 open.
    package var gaugeValue: Int {
        switch self {
        case .closed: 0
        case .halfOpen: 1
        case .open: 2
        }
    }
}

/// One provider's circuit, observed at a moment.
package struct CircuitSnapshot: Sendable, Hashable {
    package var provider: String
    package var state: CircuitState
    package var consecutiveFailures: Int
    /// How many times the circuit has opened since start.
    package var timesOpened: Int
    /// For an open circuit, the time left until it lets a probe through.
    package var reopensIn: Duration?
}

/// Permission to call a provider, from ``CircuitBreakers/permit(_:)``. Hand it back with the call's result.
package struct CircuitPermit: Sendable, Hashable {
    package var provider: String
    /// This call is the half-open probe: its result decides the circuit.
    package var isProbe: Bool
}

/// How a call went, for the breaker. Failures that are the request's fault (400, 401, ...) are `neutral`: the
/// provider answered, so they neither count against it nor close its circuit... except that a neutral probe result
/// proves the provider is reachable, so it closes the circuit too.
package enum CircuitResult: Sendable, Hashable {
    case success
    case failure
    case neutral
    /// The call was cancelled before it told us anything: a probe slot is handed back, nothing else changes.
    case abandoned
}

/// Per-provider circuit breakers: `failureThreshold` consecutive failures open a circuit for `cooldown`; then one
/// probe passes; its success closes the circuit and its failure reopens it for another cooldown.
///
/// Synchronous state under a `Mutex`; time comes from the injected clock, so tests step through cooldowns.
package final class CircuitBreakers<C: Clock>: Sendable where C.Duration == Duration {
    private struct Circuit {
        var consecutiveFailures = 0
        var timesOpened = 0
        var openUntil: C.Instant?
        var probeInFlight = false
        var halfOpen = false
    }

    package let policy: CircuitBreakerPolicy
    private let clock: C
    private let circuits: Mutex<[String: Circuit]>

    package init(policy: CircuitBreakerPolicy = CircuitBreakerPolicy(), clock: C) {
        self.policy = policy
        self.clock = clock
        self.circuits = Mutex([:])
    }

    /// Asks to call `provider`: nil while its circuit is open or its half-open probe is already out.
    package func permit(_ provider: String) -> CircuitPermit? {
        let now = clock.now
        return circuits.withLock { circuits -> CircuitPermit? in
            var circuit = circuits[provider, default: Circuit()]
            defer { circuits[provider] = circuit }
            if let until = circuit.openUntil {
                guard now >= until else { return nil }
                circuit.openUntil = nil
                circuit.halfOpen = true
            }
            if circuit.halfOpen {
                guard !circuit.probeInFlight else { return nil }
                circuit.probeInFlight = true
                return CircuitPermit(provider: provider, isProbe: true)
            }
            return CircuitPermit(provider: provider, isProbe: false)
        }
    }

    /// Whether `permit(_:)` would let a call through now, without taking the half-open probe.
    package func allows(_ provider: String) -> Bool {
        let now = clock.now
        return circuits.withLock { circuits in
            guard let circuit = circuits[provider] else { return true }
            if let until = circuit.openUntil { return now >= until }
            return !(circuit.halfOpen && circuit.probeInFlight)
        }
    }

    /// Reports how a permitted call went.
    package func record(_ result: CircuitResult, for permit: CircuitPermit) {
        let now = clock.now
        circuits.withLock { circuits in
            var circuit = circuits[permit.provider, default: Circuit()]
            defer { circuits[permit.provider] = circuit }
            if permit.isProbe {
                circuit.probeInFlight = false
                switch result {
                case .success, .neutral:
                    circuit = Circuit(timesOpened: circuit.timesOpened)
                case .failure:
                    circuit.consecutiveFailures += 1
                    circuit.halfOpen = false
                    circuit.openUntil = now.advanced(by: policy.cooldown)
                    circuit.timesOpened += 1
                case .abandoned:
                    break
                }
                return
            }
            switch result {
            case .success: circuit.consecutiveFailures = 0
            case .neutral, .abandoned: break
            case .failure:
                circuit.consecutiveFailures += 1
                // Calls that were already out when the circuit opened do not push its reopening further.
                if circuit.openUntil == nil, !circuit.halfOpen, circuit.consecutiveFailures >= policy.failureThreshold {
                    circuit.openUntil = now.advanced(by: policy.cooldown)
                    circuit.timesOpened += 1
                }
            }
        }
    }

    /// The state of one provider's circuit (a never-seen provider is closed).
    package func snapshot(of provider: String) -> CircuitSnapshot {
        let now = clock.now
        return circuits.withLock { circuits in
            Self.snapshot(provider, circuits[provider] ?? Circuit(), now: now)
        }
    }

    /// Every circuit seen so far, sorted by provider, for /metrics and /healthz.
    package func snapshots() -> [CircuitSnapshot] {
        let now = clock.now
        return circuits.withLock { circuits in
            circuits.map { Self.snapshot($0.key, $0.value, now: now) }.sorted { $0.provider < $1.provider }
        }
    }

    private static func snapshot(_ provider: String, _ circuit: Circuit, now: C.Instant) -> CircuitSnapshot {
        var state = CircuitState.closed
        var reopensIn: Duration?
        if let until = circuit.openUntil {
            if now >= until {
                state = .halfOpen
            } else {
                state = .open
                reopensIn = now.duration(to: until)
            }
        } else if circuit.halfOpen {
            state = .halfOpen
        }
        return CircuitSnapshot(
            provider: provider, state: state, consecutiveFailures: circuit.consecutiveFailures,
            timesOpened: circuit.timesOpened, reopensIn: reopensIn
        )
    }
}
