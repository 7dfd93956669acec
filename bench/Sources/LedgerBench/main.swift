// ledger-bench: benchmarks that print numbers (bench/README.md). Never timed tests.
// Add a benchmark as its own file with a `run(_ arguments: [String]) async throws` and one line below.
#if canImport(Glibc)
    import Glibc
#endif

let benchmarks: [(name: String, summary: String, run: ([String]) async throws -> Void)] = [
    ("writer", "LedgerWriter group commit at 1, 8, 64 producers vs raw SQLite inserts", WriterBenchmark.run),
    ("keys", "KeyStore.verify per call (indexed lookup + salted SHA-256) on a real ledger file", KeyBenchmark.run),
    ("handoff", "an awaiting task's round trip through a parked thread vs a serial dispatch queue", HandoffBenchmark.run),
    ("budgets", "LocalBudgets admit + settle per call (team + key budgets vs none) at c=1 and c=64", BudgetBenchmark.run),
]

let arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first, let benchmark = benchmarks.first(where: { $0.name == name }) else {
    print("usage: ledger-bench <benchmark> [options]\n")
    for b in benchmarks { print("  \(b.name)\t\(b.summary)") }
    exit(2)
}
try await benchmark.run(Array(arguments.dropFirst()))
