import LedgerCore
package import Logging
package import Metrics
import ServiceLifecycle
import Synchronization

/// Where alerts are recorded: once per (budget, period, threshold), with every delivery attempt. Both stores
/// implement it in the ledger itself, so replicas sharing a ledger send one webhook per threshold and period.
package protocol BudgetAlertStore: Sendable {
    /// Records the alert; returns its id when this call recorded it, nil when it was recorded already (by this
    /// instance or another).
    func claimAlert(_ crossing: AlertCrossing, atMicros: Int64) async throws -> Int64?

    /// Records one delivery attempt (`delivered`: the receiver answered 2xx).
    func recordAttempt(alertID: Int64, attempt: Int, atMicros: Int64, httpStatus: Int?, error: String?, delivered: Bool)
        async throws
}

/// POSTs a JSON body (a libcurl client in `serve`; a local receiver's client in tests).
package protocol WebhookPoster: Sendable {
    /// The HTTP status the receiver answered; throws when it could not be reached.
    func post(url: String, json: [UInt8], headers: [(name: String, value: String)]) async throws -> Int
}

/// How webhook deliveries are retried.
package struct AlertRetry: Sendable, Hashable {
    package var attempts: Int
    package var firstDelay: Duration
    package var maxDelay: Duration

    package init(attempts: Int = 8, firstDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(60)) {
        self.attempts = attempts
        self.firstDelay = firstDelay
        self.maxDelay = maxDelay
    }

    /// The wait before attempt `n + 1` (n >= 1): doubling from `firstDelay`, at most `maxDelay`.
    package func delay(after attempt: Int) -> Duration {
        var d = firstDelay
        for _ in 1..<max(1, attempt) {
            d = d * 2
            if d >= maxDelay { return maxDelay }
        }
        return min(d, maxDelay)
    }
}

/// The webhook's JSON body (docs/budgets.md, "Alerts").
package enum AlertPayload {
    package static func json(alertID: Int64, _ c: AlertCrossing) -> [UInt8] {
        let b = c.budget
        let fields: [(String, String)] = [
            ("alert_id", String(alertID)),
            ("budget_id", String(b.id)),
            ("scope", JSONString.quote(b.scope.description)),
            ("scope_kind", JSONString.quote(b.scope.kind)),
            ("scope_value", JSONString.quote(b.scope.value)),
            ("period", JSONString.quote(b.period.rawValue)),
            ("period_start", JSONString.quote(UTCDate.isoTimestamp(micros: c.window.startMicros))),
            ("period_end", JSONString.quote(UTCDate.isoTimestamp(micros: c.window.endMicros))),
            ("limit_usd", JSONString.quote(BudgetParsing.usd(Int128(b.limitPico)))),
            ("spent_usd", JSONString.quote(BudgetParsing.usd(c.spentPico))),
            ("limit_pusd", String(b.limitPico)),
            ("spent_pusd", String(c.spentPico)),
            ("threshold", JSONString.quote(BudgetParsing.percent(c.thresholdBasisPoints))),
            ("threshold_basis_points", String(c.thresholdBasisPoints)),
            ("reason", JSONString.quote(c.reason.rawValue)),
            ("action", JSONString.quote(b.action.rawValue)),
            ("time", JSONString.quote(UTCDate.isoTimestamp(micros: c.atMicros))),
        ]
        return Array(("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}").utf8)
    }
}

/// Sends alerts: records each crossing in the ledger (the dedup), logs it, counts it, and POSTs it to the budget's
/// webhook with retries and backoff, recording every attempt. A `Service`: crossings queue while it runs.
package final class AlertDispatcher: Service {
    private let store: any BudgetAlertStore
    private let poster: (any WebhookPoster)?
    private let retry: AlertRetry
    private let logger: Logger
    private let now: @Sendable () -> Int64
    private let factory: any MetricsFactory
    private let stream: AsyncStream<AlertCrossing>
    private let continuation: AsyncStream<AlertCrossing>.Continuation
    /// Called when another instance had already recorded a crossing (so this one stops re-sending it).
    private let onDuplicate: @Sendable (AlertCrossing) -> Void
    private let busy = Mutex(0)

    package init(
        store: any BudgetAlertStore, poster: (any WebhookPoster)?, retry: AlertRetry = AlertRetry(),
        metrics factory: any MetricsFactory, logger: Logger, now: @escaping @Sendable () -> Int64,
        onDuplicate: @escaping @Sendable (AlertCrossing) -> Void = { _ in }
    ) {
        self.store = store
        self.poster = poster
        self.retry = retry
        self.logger = logger
        self.now = now
        self.factory = factory
        self.onDuplicate = onDuplicate
        (stream, continuation) = AsyncStream.makeStream(of: AlertCrossing.self)
    }

    /// Queues crossings (never blocks the request path).
    package func enqueue(_ crossings: [AlertCrossing]) {
        guard !crossings.isEmpty else { return }
        busy.withLock { $0 += crossings.count }
        for c in crossings { continuation.yield(c) }
    }

    /// Crossings queued or being delivered (tests wait for 0).
    package var pending: Int { busy.withLock { $0 } }

    package func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await crossing in stream {
                    group.addTask { [self] in
                        await handle(crossing)
                        busy.withLock { $0 -= 1 }
                    }
                }
            }
        } onGracefulShutdown: { [continuation] in
            continuation.finish()
        }
    }

    /// Stops taking crossings (tests; `run` ends once the queued ones are handled).
    package func finish() { continuation.finish() }

    private func handle(_ crossing: AlertCrossing) async {
        let b = crossing.budget
        let alertID: Int64?
        do {
            alertID = try await store.claimAlert(crossing, atMicros: now())
        } catch {
            logger.error(
                "budget alert not recorded: \(error)", metadata: ["ledger.budget.id": "\(b.id)"])
            return
        }
        guard let alertID else {
            onDuplicate(crossing)
            return
        }
        let metadata: Logger.Metadata = [
            "ledger.budget.id": "\(b.id)", "ledger.budget.scope": "\(b.scope)",
            "ledger.budget.threshold": "\(BudgetParsing.percent(crossing.thresholdBasisPoints))",
        ]
        let line =
            "budget \(b.id) (\(b.scope), \(b.period.rawValue) from \(crossing.window.label)) reached "
            + "\(BudgetParsing.percent(crossing.thresholdBasisPoints)) of \(BudgetParsing.usd(Int128(b.limitPico))) USD: "
            + "\(BudgetParsing.usd(crossing.spentPico)) spent (\(crossing.reason.rawValue)), alert \(alertID)"
        logger.notice("\(line)", metadata: metadata)
        Counter(
            label: "ledger_budget_alerts_total",
            dimensions: [
                ("budget", String(b.id)), ("threshold", BudgetParsing.percent(crossing.thresholdBasisPoints)),
            ], factory: factory
        ).increment()
        guard let url = b.webhook, let poster else { return }
        let body = AlertPayload.json(alertID: alertID, crossing)
        let headers = [("Content-Type", "application/json"), ("Idempotency-Key", "ledger-budget-alert-\(alertID)")]
        for attempt in 1...max(1, retry.attempts) {
            var status: Int?
            var failure: String?
            do {
                status = try await poster.post(url: url, json: body, headers: headers)
            } catch {
                failure = "\(error)"
            }
            let delivered = status.map { (200..<300).contains($0) } ?? false
            if failure == nil, !delivered { failure = "HTTP \(status ?? 0)" }
            do {
                try await store.recordAttempt(
                    alertID: alertID, attempt: attempt, atMicros: now(), httpStatus: status, error: failure,
                    delivered: delivered)
            } catch {
                logger.error("budget alert attempt not recorded: \(error)", metadata: metadata)
            }
            Counter(
                label: "ledger_budget_webhook_attempts_total",
                dimensions: [("result", delivered ? "delivered" : "failed")], factory: factory
            ).increment()
            if delivered { return }
            logger.warning(
                "budget alert \(alertID) webhook attempt \(attempt) failed: \(failure ?? "")", metadata: metadata)
            if attempt < retry.attempts {
                do { try await Task.sleep(for: retry.delay(after: attempt)) } catch { return }
            }
        }
        logger.error("budget alert \(alertID) webhook gave up after \(retry.attempts) attempts", metadata: metadata)
    }
}

/// The budget gauges of `/metrics`: limit, spent (held reservations included) and reserved per budget, in whole
/// micro-USD (truncated; a gauge in USD would be a Double).
package struct BudgetGauges: Sendable {
    private let factory: any MetricsFactory

    package init(factory: any MetricsFactory) { self.factory = factory }

    package func publish(_ uses: [BudgetUse]) {
        for use in uses {
            let d = [
                ("budget", String(use.budget.id)), ("scope", use.budget.scope.description),
                ("period", use.budget.period.rawValue),
            ]
            Gauge(label: "ledger_budget_limit_musd", dimensions: d, factory: factory)
                .record(Int64(use.budget.limitPico / 1_000_000))
            Gauge(label: "ledger_budget_spent_musd", dimensions: d, factory: factory)
                .record(Int64(clamping: (use.spentPico + use.heldPico) / 1_000_000))
            Gauge(label: "ledger_budget_reserved_musd", dimensions: d, factory: factory)
                .record(Int64(clamping: use.reservedPico / 1_000_000))
        }
    }
}
