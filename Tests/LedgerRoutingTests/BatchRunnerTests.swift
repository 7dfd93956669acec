import Synchronization
import Testing

@testable import LedgerRouting

@Suite struct BatchRunnerTests {
    /// Tracks how many sends run at once.
    final class Gauge: Sendable {
        private let state = Mutex((current: 0, peak: 0))
        func enter() {
            state.withLock {
                $0.current += 1; $0.peak = max($0.peak, $0.current)
            }
        }
        func leave() { state.withLock { $0.current -= 1 } }
        var peak: Int { state.withLock { $0.peak } }
    }

    @Test func resultsComeBackInInputOrderWithFailuresReportedAndConcurrencyBounded() async {
        let lines = (1...20).map { number in
            number == 7
                ? BatchLine(line: 7, request: .failure(.malformedBatchLine(line: 7, reason: "not valid JSON")))
                : BatchLine(
                    line: number,
                    request: .success(
                        BatchRequest(
                            line: number, customID: nil, model: "auto", body: #"{"model":"auto"}"#,
                            taskType: "t\(number)", priority: nil, stream: false)))
        }
        let gauge = Gauge()
        var ticks: [(Int, Int, Int)] = []
        let results = await BatchRunner.run(
            lines, concurrency: 3,
            send: { request in
                gauge.enter()
                // Later lines finish first, so order must come from the runner, not from completion.
                for _ in 0..<(25 - request.line) { await Task.yield() }
                gauge.leave()
                if request.line == 13 {
                    return BatchResult(line: request.line, errorMessage: "upstream 500", errorCode: "upstream_error")
                }
                return BatchResult(
                    line: request.line, requestedModel: request.model, model: request.taskType, attempts: 1)
            }, progress: { done, total, failed in ticks.append((done, total, failed)) })
        #expect(results.map(\.line) == Array(1...20))
        // Routing names the failure; its wire code is the proxy's to give (the CLI's JSONL line shows it).
        guard case .malformedBatchLine(line: 7, _)? = results[6].failure else {
            Issue.record("line 7 should carry its malformed-line failure")
            return
        }
        #expect(results[6].errorMessage?.hasPrefix("line 7: not valid JSON") == true)
        #expect(results[12].errorMessage == "upstream 500")
        #expect(results[0].model == "t1")
        #expect(results.filter { !$0.succeeded }.count == 2)
        #expect(gauge.peak <= 3)
        #expect(gauge.peak >= 2)
        #expect(ticks.count == 20)
        #expect(ticks.last.map { [$0.0, $0.1, $0.2] } == [20, 20, 2])
    }
}
