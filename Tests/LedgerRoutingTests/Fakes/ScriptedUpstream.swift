import Synchronization

@testable import LedgerRouting

/// A fault-injecting upstream for the orchestrator: each provider answers from its script, in order, repeating the
/// last entry; every call is logged.
final class ScriptedUpstream: Sendable {
    enum Step: Sendable {
        case ok(String)
        case status(Int, retryAfter: Duration? = nil)
        case connectError
        case timeout(TimeoutKind, Duration)
        case cutAfterBytes
        case cancelled
        case hang
    }

    private let scripts: Mutex<[String: [Step]]>
    private let log = Mutex<[String]>([])

    init(_ scripts: [String: [Step]]) { self.scripts = Mutex(scripts) }

    /// Provider names in call order.
    var calls: [String] { log.withLock { $0 } }

    func attempt(_ provider: ProviderEndpoint, _ context: AttemptContext) async throws -> AttemptOutcome<String> {
        log.withLock { $0.append(provider.name) }
        let step = scripts.withLock { scripts -> Step in
            var script = scripts[provider.name] ?? [.connectError]
            let step = script.count > 1 ? script.removeFirst() : script.first ?? .connectError
            scripts[provider.name] = script
            return step
        }
        switch step {
        case .ok(let body): return .success("\(provider.name): \(body)")
        case .status(let code, let retryAfter):
            return .failure(.status(code, retryAfter: retryAfter), response: "\(provider.name) error \(code)")
        case .connectError: return .failure(AttemptFailure(.connect("connection refused")), response: nil)
        case .timeout(let kind, let limit): return .failure(AttemptFailure(.timeout(kind, limit: limit)), response: nil)
        case .cutAfterBytes:
            return .failedAfterBytesSent(AttemptFailure(.malformedResponse("stream cut")), response: "partial")
        case .cancelled: throw CancellationError()
        case .hang:
            try await Task.sleep(for: .seconds(3600))
            return .success("late")
        }
    }
}
