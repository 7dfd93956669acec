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

/// Permission to call a provider, from ``CircuitBreakers/permit(_:source:)``. Hand it back with the call's result.
package struct CircuitPermit: Sendable, Hashable {
    package var provider: String
    /// This call is the provider circuit's half-open probe: its result decides that circuit.
    package var isProbe: Bool
    /// Who made the call (the client key; "" for calls without one).
    package var source: String = ""
    /// This call is the half-open probe of its source's own circuit at the provider.
    package var isSourceProbe = false
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

/// One circuit's state. Times are durations since the breakers' origin (see ``CircuitBreakers``), so this and
/// ``Provider`` are not generic over the clock: the state under the lock needs no generic metadata at run time.
private struct Circuit {
    var consecutiveFailures = 0
    var timesOpened = 0
    var openUntil: Duration?
    var probeInFlight = false
    var halfOpen = false

    /// Lets a call through (taking the half-open probe when due): nil when refused, else whether it probes.
    mutating func admit(now: Duration) -> Bool? {
        if let until = openUntil {
            guard now >= until else { return nil }
            openUntil = nil
            halfOpen = true
        }
        if halfOpen {
            guard !probeInFlight else { return nil }
            probeInFlight = true
            return true
        }
        return false
    }

    func allows(now: Duration) -> Bool {
        if let until = openUntil { return now >= until }
        return !(halfOpen && probeInFlight)
    }

    /// Applies a result; `mayOpen` says whether a failure streak at the threshold opens this circuit.
    mutating func apply(
        _ result: CircuitResult, probe: Bool, mayOpen: Bool, policy: CircuitBreakerPolicy, now: Duration
    ) {
        if probe {
            probeInFlight = false
            switch result {
            case .success, .neutral:
                self = Circuit(timesOpened: timesOpened)
            case .failure:
                consecutiveFailures += 1
                halfOpen = false
                openUntil = now + policy.cooldown
                timesOpened += 1
            case .abandoned:
                break
            }
            return
        }
        switch result {
        case .success: consecutiveFailures = 0
        case .neutral, .abandoned: break
        case .failure:
            consecutiveFailures += 1
            // Calls that were already out when the circuit opened do not push its reopening further.
            if mayOpen, openUntil == nil, !halfOpen, consecutiveFailures >= policy.failureThreshold {
                openUntil = now + policy.cooldown
                timesOpened += 1
            }
        }
    }

    var isIdle: Bool { consecutiveFailures == 0 && openUntil == nil && !halfOpen }
}

/// A provider's circuit and what it knows of the sources that call it.
private struct Provider {
    var circuit = Circuit()
    /// Sources whose failures make up the current streak (cleared by any success).
    var failingSources: Set<String> = []
    /// The first source seen, until a second one shows up.
    var onlySource: String?
    var sawSeveralSources = false
    /// Each source's own circuit (idle ones are dropped).
    var sources: [String: Circuit] = [:]
    /// The one source whose failures opened the provider's circuit (a single-tenant opening): other sources
    /// still pass, and a success from one of them closes it, a failure makes it everyone's.
    var openedBy: String?

    mutating func saw(_ source: String) {
        guard !sawSeveralSources else { return }
        if let onlySource { sawSeveralSources = onlySource != source } else { onlySource = source }
    }
}

/// Per-provider circuit breakers: `failureThreshold` consecutive failures open a circuit for `cooldown`; then one
/// probe passes; its success closes the circuit and its failure reopens it for another cooldown.
///
/// Isolation between sources (client keys): every call names its source, and there are two kinds of circuit.
/// - Each (provider, source) pair has its own circuit, opened by `failureThreshold` consecutive failures of that
///   source's calls: a key whose requests make the provider fail is stopped without touching anyone else.
/// - The provider's circuit, the one `/healthz` and `/metrics` show, opens on `failureThreshold` consecutive
///   failures (no success from any source in between) only when they come from at least two sources, or when no
///   second source has ever called the provider (a single-tenant proxy behaves as a plain breaker). A success from
///   any source resets it: a provider that answers other keys is up. A circuit that one source's failures opened
///   alone does not stop other sources: the first answer one of them gets closes it, its first failure makes the
///   opening everyone's.
/// A call passes when both its source's circuit and the provider's let it.
///
/// Synchronous state under a `Mutex`; time comes from the injected clock, so tests step through cooldowns. The
/// state keeps times as durations since the breakers were made, so it is not generic over the clock.
package final class CircuitBreakers<C: Clock>: Sendable where C.Duration == Duration {
    package let policy: CircuitBreakerPolicy
    private let clock: C
    /// The instant the breakers' times count from.
    private let origin: C.Instant
    private let providers: Mutex<[String: Provider]>

    package init(policy: CircuitBreakerPolicy = CircuitBreakerPolicy(), clock: C) {
        self.policy = policy
        self.clock = clock
        self.origin = clock.now
        self.providers = Mutex([:])
    }

    /// Now, as a duration since `origin`.
    private var now: Duration { origin.duration(to: clock.now) }

    /// Asks to call `provider` for `source`: nil while the provider's circuit or the source's own circuit there is
    /// open, or its half-open probe is already out.
    package func permit(_ provider: String, source: String = "") -> CircuitPermit? {
        let now = self.now
        return providers.withLock { providers -> CircuitPermit? in
            var entry = providers[provider, default: Provider()]
            defer { providers[provider] = entry }
            var own = entry.sources[source] ?? Circuit()
            // A circuit one other source opened alone does not stop this one.
            let bypass = entry.openedBy != nil && entry.openedBy != source
            // Check both before taking a probe slot in either, so a refusal leaves no probe out.
            guard bypass || entry.circuit.allows(now: now), own.allows(now: now) else { return nil }
            guard let probe = bypass ? false : entry.circuit.admit(now: now) else { return nil }
            guard let sourceProbe = own.admit(now: now) else {
                if probe { entry.circuit.probeInFlight = false }
                return nil
            }
            if !own.isIdle || sourceProbe { entry.sources[source] = own }
            return CircuitPermit(provider: provider, isProbe: probe, source: source, isSourceProbe: sourceProbe)
        }
    }

    /// Whether `permit(_:source:)` would let a call through now, without taking a half-open probe.
    package func allows(_ provider: String, source: String = "") -> Bool {
        let now = self.now
        return providers.withLock { providers in
            guard let entry = providers[provider] else { return true }
            return entry.circuit.allows(now: now) && (entry.sources[source]?.allows(now: now) ?? true)
        }
    }

    /// Reports how a permitted call went.
    package func record(_ result: CircuitResult, for permit: CircuitPermit) {
        let now = self.now
        providers.withLock { providers in
            var entry = providers[permit.provider, default: Provider()]
            defer { providers[permit.provider] = entry }
            if result != .abandoned { entry.saw(permit.source) }
            switch result {
            case .success: entry.failingSources.removeAll()
            case .failure: entry.failingSources.insert(permit.source)
            case .neutral, .abandoned: break
            }
            let shared = entry.failingSources.count >= 2 || !entry.sawSeveralSources
            let wasOpen = entry.circuit.openUntil != nil
            entry.circuit.apply(result, probe: permit.isProbe, mayOpen: shared, policy: policy, now: now)
            if !wasOpen, entry.circuit.openUntil != nil {
                entry.openedBy = entry.failingSources.count == 1 ? entry.failingSources.first : nil
            } else if let openedBy = entry.openedBy, openedBy != permit.source {
                switch result {
                case .success, .neutral:
                    // Another source got an answer: the provider is up for it.
                    entry.circuit = Circuit(timesOpened: entry.circuit.timesOpened)
                    entry.openedBy = nil
                case .failure: entry.openedBy = nil  // now everyone's
                case .abandoned: break
                }
            } else if entry.circuit.isIdle {
                entry.openedBy = nil
            }
            var own = entry.sources[permit.source] ?? Circuit()
            own.apply(result, probe: permit.isSourceProbe, mayOpen: true, policy: policy, now: now)
            if own.isIdle && !own.probeInFlight {
                entry.sources[permit.source] = nil
            } else {
                entry.sources[permit.source] = own
            }
        }
    }

    /// The state of one provider's circuit (a never-seen provider is closed).
    package func snapshot(of provider: String) -> CircuitSnapshot {
        let now = self.now
        return providers.withLock { providers in
            Self.snapshot(provider, providers[provider]?.circuit ?? Circuit(), now: now)
        }
    }

    /// The state of `source`'s own circuit at `provider`.
    package func snapshot(of provider: String, source: String) -> CircuitSnapshot {
        let now = self.now
        return providers.withLock { providers in
            Self.snapshot(provider, providers[provider]?.sources[source] ?? Circuit(), now: now)
        }
    }

    /// Every provider circuit seen so far, sorted by provider, for /metrics and /healthz.
    package func snapshots() -> [CircuitSnapshot] {
        let now = self.now
        return providers.withLock { providers in
            providers.map { Self.snapshot($0.key, $0.value.circuit, now: now) }.sorted { $0.provider < $1.provider }
        }
    }

    private static func snapshot(_ provider: String, _ circuit: Circuit, now: Duration) -> CircuitSnapshot {
        var state = CircuitState.closed
        var reopensIn: Duration?
        if let until = circuit.openUntil {
            if now >= until {
                state = .halfOpen
            } else {
                state = .open
                reopensIn = until - now
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
