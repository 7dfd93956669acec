import Foundation
import LedgerBudgets
import LedgerCore
import LedgerStore
import Logging
import Metrics

/// `ledger-bench budgets`: what a budget adds per call on the SQLite path (LocalBudgets): admit + settle against a
/// team budget and a key budget (a limit the run never reaches), at concurrency 1 and 64, beside the same calls
/// with no budget over them (the pipeline's `applies` check only). No database statement runs per call.
enum BudgetBenchmark {
    static func run(_ arguments: [String]) async throws {
        let count = Int(arguments.first ?? "") ?? 200_000
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("budget-bench-\(UUID()).sqlite").path
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let database = try LedgerDatabase(path: path)
        let key = try KeyStore(database: database).create(name: "bench", team: "t", nowMicros: 0).key.id
        let store = BudgetStore(database: database)
        for scope in [BudgetScope.team("t"), .key(key)] {
            _ = try store.set(
                scope: scope, period: .month, limitPico: 9_000_000 * 1_000_000_000_000, action: .block,
                alertAtBasisPoints: [5000, 8000, 10_000], webhook: nil, nowMicros: 0)
        }
        var logger = Logger(label: "budget-bench")
        logger.logLevel = .warning
        let budgets = try LocalBudgets(
            store: store, prices: BudgetPriceBook(book: try LivePriceBook(database: database)), poster: nil,
            metrics: NOOPMetricsHandler.instance, logger: logger, now: { nowMicros() })
        func request(_ keyID: Int64, _ team: String?) -> AdmissionRequest {
            AdmissionRequest(
                keyID: keyID, team: team, tags: "project=bench", model: "gpt-4.1", bodyBytes: 600,
                maxOutputTokens: 256, atMicros: nowMicros())
        }
        for (label, keyID, team) in [("no budget", key + 1, "other"), ("team + key budgets", key, "t")] {
            for concurrency in [1, 64] {
                let per = count / concurrency
                let start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<concurrency {
                        group.addTask {
                            for _ in 0..<per {
                                let admission = try await budgets.admit(request(keyID, team))
                                await budgets.settle(admission, paidPico: 1_000_000)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let elapsed = ContinuousClock.now - start
                let micros = Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
                print(
                    "\(label.padding(toLength: 20, withPad: " ", startingAt: 0)) c=\(concurrency)\t"
                        + "\(per * concurrency) admit+settle, \(String(format: "%.2f", micros / Double(per * concurrency))) us per call (wall)")
            }
        }
        let use = budgets.uses()
        print("spent after the run: " + use.map { "budget \($0.budget.id) \(BudgetParsing.usd($0.spentPico)) USD" }.joined(separator: ", "))
    }

    static func nowMicros() -> Int64 { Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()) }
}
