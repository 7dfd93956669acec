print("ledger-bench: no benchmarks yet")
