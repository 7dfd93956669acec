import Foundation

/// A unique path in the temp directory for a ledger file; the caller removes it (and its -wal/-shm) with `remove()`.
package struct TemporaryLedgerPath: Sendable {
    package let path: String

    package init(_ label: String = "ledger") {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("hsl-\(label)-\(UUID().uuidString).sqlite").path
    }

    package func remove() {
        for suffix in ["", "-wal", "-shm", "-journal", "-writer.lock"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
}
