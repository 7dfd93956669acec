import ArgumentParser
import Foundation
import LedgerCore
import LedgerStore
import Logging
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// Hidden: records synthetic calls through `LedgerWriter` and prints `ack <id>` as each commit is acknowledged.
/// The durability test (e2e/test_store_cli.py) kills it with SIGKILL mid-stream and checks every acknowledged row.
struct RecordSynthetic: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record-synthetic",
        abstract: "Test hook: record synthetic calls and acknowledge each on stdout.",
        shouldDisplay: false)

    @OptionGroup var ledger: LedgerOptions

    @Option(help: "How many calls to record.")
    var count = 1000

    @Option(help: "How many concurrent producers.")
    var producers = 8

    func run() async throws {
        // Either store: the SQLite writer or the PostgreSQL ledger (the replica-SIGKILL tests use both).
        let store = try await ledger.openForRecording(
            logger: Logger(label: "holysheep-ledger.synthetic"), live: false)
        let writer = store.recorder
        let service = store.service
        let perProducer = (count + producers - 1) / producers
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            try await withThrowingTaskGroup(of: Void.self) { producersGroup in
                for _ in 0..<producers {
                    producersGroup.addTask {
                        for _ in 0..<perProducer {
                            let id = writer.reserveCallID()
                            try await writer.record(SyntheticCall.event(id: id))
                            // write(2) directly: unbuffered, so a printed ack reached the pipe before the next.
                            let line = Array("ack \(id)\n".utf8)
                            _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
                        }
                    }
                }
                try await producersGroup.waitForAll()
            }
            group.cancelAll()
            try await group.waitForAll()
        }
    }
}

/// A call whose every field follows from its id, so a test can check a row is intact.
enum SyntheticCall {
    static func event(id: Int64) -> UsageEvent {
        let prompt = id % 997 + 10
        return UsageEvent(
            id: id, startedAtMicros: 1_764_547_200_000_000 + id, finishedAtMicros: 1_764_547_200_000_000 + id + 1000,
            endpoint: "/v1/chat/completions", requestedModel: "gpt-4.1", model: "gpt-4.1", provider: "holysheep",
            providerKind: .holysheep, status: .ok, httpStatus: 200,
            usage: TokenUsage(promptTokens: prompt, cachedPromptTokens: id % 7, completionTokens: id % 89 + 1),
            latencyMicros: 1000, tags: "synthetic-\(id)")
    }
}
