package import LedgerCore
package import Logging
package import Metrics
import ServiceLifecycle

/// What the in-process budgets read from and write to their ledger (the SQLite store implements it).
package protocol LocalBudgetStore: BudgetAlertStore {
    /// The budgets in force.
    func budgets() throws -> [Budget]

    /// A budget's figures for `window` as the ledger has them: the recorded paid cost of its calls, the
    /// reservations kept for calls without usage, and the thresholds already alerted.
    func periodFigures(_ budget: Budget, window: PeriodWindow) throws -> (
        spent: Int128, held: Int128, alerted: Set<Int64>
    )

    /// Records a reservation kept for a call whose usage never arrived (so a restart still counts it).
    func recordHeld(budgetID: Int64, window: PeriodWindow, amountPico: Int64) async throws
}

/// Budgets for one `serve` process that alone records into its ledger (SQLite: the writer lock): an exact in-memory
/// counter per budget, seeded from the ledger's recorded paid cost for the period (docs/budgets.md). Admitting and
/// settling take one lock each and no database statement. A `Service`: it re-reads the definitions every
/// `refreshInterval` (a `budgets set` from another process applies within it), writes kept reservations and
/// delivers alerts.
package final class LocalBudgets: CallAdmission, Service {
    package let counter = BudgetCounter()
    private let store: any LocalBudgetStore
    private let prices: any BudgetPrices
    private let outputCap: Int64
    private let dispatcher: AlertDispatcher
    private let gauges: BudgetGauges
    private let refusals: Counter
    private let logger: Logger
    private let now: @Sendable () -> Int64
    private let refreshInterval: Duration
    private let held: AsyncStream<(Int64, PeriodWindow, Int64)>
    private let heldContinuation: AsyncStream<(Int64, PeriodWindow, Int64)>.Continuation

    /// Loads the budgets and seeds each from the ledger. Throws the store's error when it cannot read them.
    package init(
        store: any LocalBudgetStore, prices: any BudgetPrices, outputCap: Int64 = WorstCase.defaultOutputCap,
        poster: (any WebhookPoster)?, retry: AlertRetry = AlertRetry(), metrics factory: any MetricsFactory,
        logger: Logger, refreshInterval: Duration = .seconds(1), now: @escaping @Sendable () -> Int64
    ) throws {
        self.store = store
        self.prices = prices
        self.outputCap = outputCap
        self.logger = logger
        self.now = now
        self.refreshInterval = refreshInterval
        self.gauges = BudgetGauges(factory: factory)
        self.refusals = Counter(label: "ledger_budget_refusals_total", dimensions: [], factory: factory)
        let counter = self.counter
        dispatcher = AlertDispatcher(
            store: store, poster: poster, retry: retry, metrics: factory, logger: logger, now: now,
            onDuplicate: { c in
                counter.markAlerted(
                    budgetID: c.budget.id, windowStart: c.window.startMicros, thresholdBasisPoints: c.thresholdBasisPoints)
            })
        (held, heldContinuation) = AsyncStream.makeStream(of: (Int64, PeriodWindow, Int64).self)
        try reload()
    }

    /// Re-reads the definitions; new budgets are seeded from the ledger.
    package func reload() throws {
        let store = self.store
        try counter.install(try store.budgets(), atMicros: now()) { budget, window in
            try store.periodFigures(budget, window: window)
        }
    }

    package func admit(_ request: AdmissionRequest) async throws(AdmissionRefusal) -> Admission {
        guard counter.applies(to: request) else { return .open }
        let cost = WorstCase.picoUSD(request, outputCap: outputCap, prices: prices)
        switch counter.admit(request, costPico: cost) {
        case .admitted(let admission, let crossings):
            dispatcher.enqueue(crossings)
            return admission
        case .refused(let refusal, let crossings):
            dispatcher.enqueue(crossings)
            refusals.increment()
            throw refusal
        }
    }

    package func settle(_ admission: Admission, paidPico: Int64?) async {
        guard !admission.holds.isEmpty else { return }
        let (crossings, kept) = counter.settle(admission, paidPico: paidPico, atMicros: now())
        dispatcher.enqueue(crossings)
        for k in kept { heldContinuation.yield((k.budgetID, k.window, k.amount)) }
    }

    /// Every budget's figures now (for `/metrics`, tests and the bench).
    package func uses() -> [BudgetUse] { counter.snapshot(atMicros: now()) }

    /// Records the gauges; `serve` calls it before `/metrics` renders.
    package func publishGauges() { gauges.publish(uses()) }

    /// Alerts queued or being delivered.
    package var pendingAlerts: Int { dispatcher.pending }

    package func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [dispatcher] in try await dispatcher.run() }
            group.addTask { [self] in
                for await (id, window, amount) in held {
                    do { try await store.recordHeld(budgetID: id, window: window, amountPico: amount) } catch {
                        logger.error(
                            "budget \(id): a kept reservation of \(amount) pico-USD was not recorded: \(error)")
                    }
                }
            }
            group.addTask { [self] in
                await withGracefulShutdownHandler {
                    while !Task.isCancelled && !Task.isShuttingDownGracefully {
                        do { try await Task.sleep(for: refreshInterval) } catch { break }
                        do { try reload() } catch { logger.warning("budgets not re-read: \(error)") }
                    }
                } onGracefulShutdown: { [dispatcher, heldContinuation] in
                    dispatcher.finish()
                    heldContinuation.finish()
                }
                // Cancelled rather than shut down (tests): stop the others too.
                dispatcher.finish()
                heldContinuation.finish()
            }
            try await group.waitForAll()
        }
    }
}
