package import LedgerCore
import Synchronization

/// A threshold a budget crossed, or the refusal that filled it: what an alert is made from.
package struct AlertCrossing: Sendable, Hashable {
    package enum Reason: String, Sendable, Hashable {
        /// Spent (recorded cost plus reservations kept for calls without usage) reached the threshold.
        case spent
        /// The budget refused a call (it is full for calls of that size): fires the 100% threshold.
        case refused
    }

    package var budget: Budget
    package var window: PeriodWindow
    package var thresholdBasisPoints: Int64
    package var spentPico: Int128
    package var reason: Reason
    package var atMicros: Int64

    package init(
        budget: Budget, window: PeriodWindow, thresholdBasisPoints: Int64, spentPico: Int128, reason: Reason,
        atMicros: Int64
    ) {
        self.budget = budget
        self.window = window
        self.thresholdBasisPoints = thresholdBasisPoints
        self.spentPico = spentPico
        self.reason = reason
        self.atMicros = atMicros
    }
}

/// One budget's figures for its current period.
package struct BudgetUse: Sendable, Hashable {
    package var budget: Budget
    package var window: PeriodWindow
    /// The exact paid cost the ledger recorded for the period's calls under the budget.
    package var spentPico: Int128
    /// Reservations kept for calls whose usage never arrived (cut streams): counted as spent until the period ends.
    package var heldPico: Int128
    /// Reservations of calls in flight.
    package var reservedPico: Int128

    package init(budget: Budget, window: PeriodWindow, spentPico: Int128, heldPico: Int128, reservedPico: Int128) {
        self.budget = budget
        self.window = window
        self.spentPico = spentPico
        self.heldPico = heldPico
        self.reservedPico = reservedPico
    }

    /// What is left for new calls (negative when an alert-only budget is over).
    package var remainingPico: Int128 { Int128(budget.limitPico) - spentPico - heldPico - reservedPico }
}

/// The exact budget state of one process: definitions, each budget's counters for its period, and the calls in
/// flight. Every check-and-reserve runs under one lock, so it is one atomic step, as the single statement of the
/// PostgreSQL store is (docs/budgets.md, "One process, SQLite").
package final class BudgetCounter: Sendable {
    private struct Entry {
        var use: BudgetUse
        var alerted: Set<Int64>
    }

    private struct Hold {
        var budgetID: Int64
        var windowStart: Int64
        var amount: Int64
    }

    private struct State {
        var entries: [Int64: Entry] = [:]
        var byKey: [Int64: [Int64]] = [:]
        var byTeam: [String: [Int64]] = [:]
        var byTag: [String: [Int64]] = [:]
        var holds: [Int64: [Hold]] = [:]
        var nextHold: Int64 = 1

        mutating func reindex() {
            byKey = [:]
            byTeam = [:]
            byTag = [:]
            for (id, entry) in entries.sorted(by: { $0.key < $1.key }) {
                switch entry.use.budget.scope {
                case .key(let key): byKey[key, default: []].append(id)
                case .team(let team): byTeam[team, default: []].append(id)
                case .tag: byTag[entry.use.budget.scope.value, default: []].append(id)
                }
            }
        }

        func applicable(_ request: AdmissionRequest) -> [Int64] {
            var ids = byKey[request.keyID] ?? []
            if let team = request.team, let t = byTeam[team] { ids += t }
            if !byTag.isEmpty, let tags = request.tags {
                for pair in BudgetScope.tagPairs(tags) { if let t = byTag[pair] { ids += t } }
            }
            return ids
        }
    }

    private let state = Mutex(State())

    package init() {}

    /// The outcome of a check-and-reserve.
    package enum Decision: Sendable {
        case admitted(Admission, crossings: [AlertCrossing])
        case refused(AdmissionRefusal, crossings: [AlertCrossing])
    }

    /// True when some budget applies to the call (cheap: dictionary lookups under the lock).
    package func applies(to request: AdmissionRequest) -> Bool {
        state.withLock { !$0.applicable(request).isEmpty }
    }

    /// Checks every budget that applies to the call and reserves `costPico` on all of them, or on none: a `block`
    /// budget that the reservation would take over its limit refuses the call. `costPico` nil: unpriced (a block
    /// budget refuses, it cannot bound the cost; an alert budget admits with nothing reserved).
    package func admit(_ request: AdmissionRequest, costPico: Int64?) -> Decision {
        state.withLock { s in
            let ids = s.applicable(request)
            guard !ids.isEmpty else { return .admitted(.open, crossings: []) }
            for id in ids { Self.roll(&s.entries[id]!, to: request.atMicros) }
            for id in ids {
                let entry = s.entries[id]!
                let use = entry.use
                guard use.budget.action == .block else { continue }
                guard let cost = costPico else {
                    return .refused(
                        AdmissionRefusal(
                            message:
                                "budget \(use.budget.id) (\(use.budget.scope), \(use.budget.period.rawValue)) refuses model "
                                + "\(request.model): it has no price, so the call's cost cannot be bounded"),
                        crossings: [])
                }
                let committed = use.spentPico + use.heldPico + use.reservedPico
                if committed + Int128(cost) > Int128(use.budget.limitPico) {
                    var crossings: [AlertCrossing] = []
                    if use.budget.alertAtBasisPoints.contains(10_000), !entry.alerted.contains(10_000) {
                        s.entries[id]!.alerted.insert(10_000)
                        crossings.append(
                            AlertCrossing(
                                budget: use.budget, window: use.window, thresholdBasisPoints: 10_000,
                                spentPico: use.spentPico + use.heldPico, reason: .refused, atMicros: request.atMicros))
                    }
                    return .refused(Self.refusal(use, costPico: cost), crossings: crossings)
                }
            }
            let amount = costPico ?? 0
            var holds: [Hold] = []
            var tightest: Int128?
            for id in ids {
                s.entries[id]!.use.reservedPico += Int128(amount)
                let use = s.entries[id]!.use
                holds.append(Hold(budgetID: id, windowStart: use.window.startMicros, amount: amount))
                tightest = min(tightest ?? use.remainingPico, use.remainingPico)
            }
            let holdID = s.nextHold
            s.nextHold += 1
            s.holds[holdID] = holds
            var headers: [String: String] = [:]
            if let tightest { headers[Self.remainingHeader] = BudgetParsing.usd(tightest) }
            return .admitted(Admission(holds: [holdID], headers: headers), crossings: [])
        }
    }

    /// The response header naming what is left of the tightest budget over the call (after its reservation).
    package static let remainingHeader = "x-ledger-budget-remaining-usd"

    /// The call's row is committed: its reservations become its exact paid cost, or, when its usage never arrived
    /// (`paidPico` nil), stay counted (held) until the period ends. Returns the thresholds now crossed and the
    /// reservations kept without usage (the store records those so a restart still counts them).
    package func settle(_ admission: Admission, paidPico: Int64?, atMicros: Int64) -> (
        crossings: [AlertCrossing], held: [(budgetID: Int64, window: PeriodWindow, amount: Int64)]
    ) {
        state.withLock { s in
            var crossings: [AlertCrossing] = []
            var held: [(budgetID: Int64, window: PeriodWindow, amount: Int64)] = []
            for holdID in admission.holds {
                guard let holds = s.holds.removeValue(forKey: holdID) else { continue }
                for hold in holds {
                    guard var entry = s.entries[hold.budgetID], entry.use.window.startMicros == hold.windowStart
                    else { continue }  // removed, or its period ended: nothing left to count
                    entry.use.reservedPico -= Int128(hold.amount)
                    if let paidPico {
                        entry.use.spentPico += Int128(paidPico)
                    } else {
                        entry.use.heldPico += Int128(hold.amount)
                        if hold.amount > 0 { held.append((hold.budgetID, entry.use.window, hold.amount)) }
                    }
                    crossings += Self.crossed(&entry, atMicros: atMicros)
                    s.entries[hold.budgetID] = entry
                }
            }
            return (crossings, held)
        }
    }

    /// Installs the definitions as they are now: new budgets with their period's figures (`seed`), changed ones
    /// keep their counters, missing ones go. `seed` runs outside the lock for budgets not yet installed.
    package func install(
        _ budgets: [Budget], atMicros: Int64,
        seed: (Budget, PeriodWindow) throws -> (spent: Int128, held: Int128, alerted: Set<Int64>)
    ) rethrows {
        let known = state.withLock { s in
            Dictionary(uniqueKeysWithValues: s.entries.map { ($0.key, $0.value.use.budget.period) })
        }
        var seeded: [Int64: Entry] = [:]
        for budget in budgets where known[budget.id] != budget.period {
            let window = budget.period.window(containing: atMicros)
            let figures = try seed(budget, window)
            seeded[budget.id] = Entry(
                use: BudgetUse(
                    budget: budget, window: window, spentPico: figures.spent, heldPico: figures.held, reservedPico: 0),
                alerted: figures.alerted)
        }
        state.withLock { s in
            var entries: [Int64: Entry] = [:]
            for budget in budgets {
                if var entry = s.entries[budget.id], entry.use.budget.period == budget.period {
                    entry.use.budget = budget
                    entries[budget.id] = entry
                } else if let entry = seeded[budget.id] {
                    entries[budget.id] = entry
                }
            }
            s.entries = entries
            s.reindex()
        }
    }

    /// Every budget's figures for its current period (rolled to `atMicros` when given), by id.
    package func snapshot(atMicros: Int64? = nil) -> [BudgetUse] {
        state.withLock { s in
            if let atMicros { for id in s.entries.keys { Self.roll(&s.entries[id]!, to: atMicros) } }
            return s.entries.values.map(\.use).sorted { $0.budget.id < $1.budget.id }
        }
    }

    /// Marks a threshold as sent for the period (an alert another instance recorded).
    package func markAlerted(budgetID: Int64, windowStart: Int64, thresholdBasisPoints: Int64) {
        state.withLock { s in
            guard s.entries[budgetID]?.use.window.startMicros == windowStart else { return }
            s.entries[budgetID]!.alerted.insert(thresholdBasisPoints)
        }
    }

    /// A new period starts with nothing spent: one process records every call of the ledger (the writer lock), and
    /// every call it records was admitted here after the period began.
    private static func roll(_ entry: inout Entry, to micros: Int64) {
        guard micros >= entry.use.window.endMicros else { return }
        entry.use.window = entry.use.budget.period.window(containing: micros)
        entry.use.spentPico = 0
        entry.use.heldPico = 0
        entry.use.reservedPico = 0
        entry.alerted = []
    }

    private static func crossed(_ entry: inout Entry, atMicros: Int64) -> [AlertCrossing] {
        let spent = entry.use.spentPico + entry.use.heldPico
        var result: [AlertCrossing] = []
        for bp in entry.use.budget.alertAtBasisPoints where !entry.alerted.contains(bp) {
            guard spent * 10_000 >= Int128(entry.use.budget.limitPico) * Int128(bp) else { break }
            entry.alerted.insert(bp)
            result.append(
                AlertCrossing(
                    budget: entry.use.budget, window: entry.use.window, thresholdBasisPoints: bp, spentPico: spent,
                    reason: .spent, atMicros: atMicros))
        }
        return result
    }

    /// The thresholds `use` has reached by its spend (for stores that keep the counters elsewhere).
    package static func thresholdsReached(limitPico: Int64, spentPico: Int128, thresholds: [Int64]) -> [Int64] {
        thresholds.filter { spentPico * 10_000 >= Int128(limitPico) * Int128($0) }
    }

    /// The refusal's message: the budget, its figures, and when it resets.
    package static func refusal(_ use: BudgetUse, costPico: Int64) -> AdmissionRefusal {
        let b = use.budget
        return AdmissionRefusal(
            message:
                "budget \(b.id) (\(b.scope), \(b.period.rawValue)) would go over its limit of "
                + "\(BudgetParsing.usd(Int128(b.limitPico))) USD: \(BudgetParsing.usd(use.spentPico + use.heldPico)) "
                + "spent, \(BudgetParsing.usd(use.reservedPico)) reserved by calls in flight, this call may cost up to "
                + "\(BudgetParsing.usd(Int128(costPico))); it resets at \(UTCDate.isoTimestamp(micros: use.window.endMicros))")
    }
}
