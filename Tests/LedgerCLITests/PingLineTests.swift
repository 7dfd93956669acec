import LedgerCore
import LedgerRouting
import Testing

@testable import LedgerCLI

/// The lines `ping` prints, one per provider.
@Suite struct PingLineTests {
    let holysheep = ProviderEndpoint(name: "holysheep", baseURL: "http://127.0.0.1:9001/v1")
    let official = ProviderEndpoint(name: "official", baseURL: "http://127.0.0.1:9002/v1")

    @Test func aReplyIsReadAndPrintedOnOneLine() {
        let body = #"{"id":"c1","choices":[{"index":0,"message":{"role":"assistant","content":"pong\nok"}}]}"#
        let result = PingResult(provider: holysheep, model: "gpt-4.1", latencyMicros: 123_456, status: 200, body: body)
        #expect(result.succeeded)
        #expect(result.reply == "pong\nok")
        #expect(result.line == #"holysheep  gpt-4.1  ok  123.456 ms  "pong ok""#)
    }

    @Test func failuresCarryTheDiagnosisAndFailTheExitCode() {
        let denied = PingResult(provider: official, model: "gpt-4.1", latencyMicros: 5_000, status: 401, body: "{}")
        #expect(
            denied.line.hasPrefix(
                "official  gpt-4.1  FAILED  5.000 ms  provider 'official' at http://127.0.0.1:9002/v1 answered 401"))
        #expect(denied.line.contains("check the API key"))
        let slow = PingResult(
            provider: holysheep, model: "gpt-4.1", latencyMicros: 30_000_000,
            failure: AttemptFailure(.timeout(.total, limit: .seconds(30)))
        )
        #expect(slow.line.contains("the total timeout (30 s) fired"))
        let empty = PingResult(provider: holysheep, model: "m", latencyMicros: 1, status: 200, body: #"{"choices":[]}"#)
        #expect(!empty.succeeded)
        let ok = PingResult(provider: holysheep, model: "m", latencyMicros: 1, reply: "pong", error: nil)
        #expect(PingPlan.exitCode([ok]) == 0)
        #expect(PingPlan.exitCode([ok, slow]) == 1)
        #expect(PingPlan.exitCode([]) == 1)
    }
}
