import LedgerCore
import Testing

@testable import LedgerRouting

@Suite struct PingPlanTests {
    let holysheep = ProviderEndpoint(name: "holysheep", baseURL: "http://127.0.0.1:9001/v1")
    let official = ProviderEndpoint(name: "official", baseURL: "http://127.0.0.1:9002/v1")

    @Test func pingsEveryProviderOrOnlyTheNamedOne() throws {
        let all = try PingPlan.targets(providers: [holysheep, official])
        #expect(all.map(\.provider.name) == ["holysheep", "official"])
        #expect(all[0].model == "gpt-4.1")
        let document = try JSONScanner.parse(all[0].body)
        #expect(document["model"]?.stringValue == "gpt-4.1")
        #expect(document["max_tokens"]?.integerValue == 5)
        let one = try PingPlan.targets(providers: [holysheep, official], only: "official", model: "deepseek-v3.2")
        #expect(one.map(\.provider) == [official])
        #expect(try JSONScanner.parse(one[0].body)["model"]?.stringValue == "deepseek-v3.2")
        #expect(throws: RoutingError.self) { try PingPlan.targets(providers: [holysheep], only: "nope") }
    }

    @Test func theExitCodeFailsWhenAnyProviderFailsOrNoneWasPinged() {
        let ok = PingResult(provider: holysheep, model: "m", latencyMicros: 1, reply: "pong", error: nil)
        let denied = PingResult(provider: official, model: "gpt-4.1", latencyMicros: 5_000, status: 401, body: "{}")
        #expect(PingPlan.exitCode([ok]) == 0)
        #expect(PingPlan.exitCode([ok, denied]) == 1)
        #expect(PingPlan.exitCode([]) == 1)
    }
}
