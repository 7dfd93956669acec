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

    @Test func eachVendorIsPingedInItsOwnDialectWithAModelItServes() throws {
        let anthropic = ProviderEndpoint(name: "anthropic", baseURL: "http://a/v1")
        let deepseek = ProviderEndpoint(name: "deepseek", baseURL: "http://d/v1")
        let services = [
            "anthropic": ProviderService(
                dialects: [.anthropic, .openai], models: ["claude-*"], modelMap: ["claude-sonnet-4.5": "claude-sonnet-4-5"],
                primaryDialect: .anthropic),
            "deepseek": ProviderService(
                dialects: [.openai], models: ["deepseek-*"], modelMap: ["deepseek-v3.2": "deepseek-chat"]),
        ]
        let targets = try PingPlan.targets(providers: [holysheep, anthropic, deepseek], services: services)
        #expect(targets.map(\.dialect) == [.openai, .anthropic, .openai])
        #expect(targets.map(\.path) == ["/chat/completions", "/messages", "/chat/completions"])
        #expect(targets.map(\.model) == ["gpt-4.1", "claude-sonnet-4.5", "deepseek-v3.2"])
        let claude = try JSONScanner.parse(targets[1].body)
        #expect(claude["model"]?.stringValue == "claude-sonnet-4-5" && claude["max_tokens"]?.integerValue == 5)
        #expect(try JSONScanner.parse(targets[2].body)["model"]?.stringValue == "deepseek-chat")
        let reply = #"{"id":"msg_1","type":"message","content":[{"type":"text","text":"pong"}]}"#
        #expect(PingPlan.replyText(reply, dialect: .anthropic) == "pong")
        let ok = PingResult(
            provider: anthropic, model: "claude-sonnet-4.5", latencyMicros: 1, status: 200, body: reply, dialect: .anthropic)
        #expect(ok.succeeded && ok.reply == "pong")
        let responses = #"{"output":[{"type":"message","content":[{"type":"output_text","text":"pong"}]}]}"#
        #expect(PingPlan.replyText(responses, dialect: .responses) == "pong")
    }

    @Test func theExitCodeFailsWhenAnyProviderFailsOrNoneWasPinged() {
        let ok = PingResult(provider: holysheep, model: "m", latencyMicros: 1, reply: "pong", error: nil)
        let denied = PingResult(provider: official, model: "gpt-4.1", latencyMicros: 5_000, status: 401, body: "{}")
        #expect(PingPlan.exitCode([ok]) == 0)
        #expect(PingPlan.exitCode([ok, denied]) == 1)
        #expect(PingPlan.exitCode([]) == 1)
    }
}
