import Foundation
import LedgerStore

/// `ledger-bench keys`: what verifying a client key costs per request (KeyStore.verify on a real ledger file).
enum KeyBenchmark {
    static func run(_ arguments: [String]) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("key-bench-\(UUID()).sqlite").path
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let keys = KeyStore(database: try LedgerDatabase(path: path))
        for i in 0..<1000 { _ = try keys.create(name: "k\(i)", team: "t", nowMicros: 0) }
        let (_, secret) = try keys.create(name: "bench", team: "t", nowMicros: 0)
        let count = 20_000
        for _ in 0..<1000 { _ = await keys.verify(secret: secret) }
        let start = ContinuousClock.now
        var ok = 0
        for _ in 0..<count where await keys.verify(secret: secret) != nil { ok += 1 }
        let elapsed = ContinuousClock.now - start
        let micros = Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
        print("KeyStore.verify: \(count) calls, \(ok) valid, \(String(format: "%.1f", micros / Double(count))) us per call")
    }
}
