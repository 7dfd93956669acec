import Foundation
import LedgerCore
import LedgerStore

/// `ledger-bench keys`: what verifying a client key costs per request on a real ledger file with 1,001 keys:
/// `KeyStore.verify` (GRDB's reader pool) beside `KeyVerifier.verify` (the proxy's: its own connection, one prepared
/// statement through the C API). Hot loop on one thread: the per-request cost when caches are warm.
enum KeyBenchmark {
    static func run(_ arguments: [String]) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("key-bench-\(UUID()).sqlite").path
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let database = try LedgerDatabase(path: path)
        let keys = KeyStore(database: database)
        for i in 0..<1000 { _ = try keys.create(name: "k\(i)", team: "t", nowMicros: 0) }
        let (_, secret) = try keys.create(name: "bench", team: "t", nowMicros: 0)
        let verifiers: [(String, any ClientKeyVerifier)] = [
            ("KeyStore.verify (GRDB pool)", keys), ("KeyVerifier.verify (proxy)", try KeyVerifier(database: database)),
        ]
        let count = 20_000
        for (name, verifier) in verifiers {
            for _ in 0..<1000 { _ = await verifier.verify(secret: secret) }
            let start = ContinuousClock.now
            var ok = 0
            for _ in 0..<count where await verifier.verify(secret: secret) != nil { ok += 1 }
            let elapsed = ContinuousClock.now - start
            let micros = Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
            print(
                "\(name.padding(toLength: 30, withPad: " ", startingAt: 0)) \(count) calls, \(ok) valid, "
                    + "\(String(format: "%.1f", micros / Double(count))) us per call")
        }
    }
}
