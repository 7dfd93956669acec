import LedgerTestSupport
import Testing

@testable import LedgerRouting

@Suite struct RoutingPlanTests {
    let baseURLs = ["holysheep": "http://127.0.0.1:9001/v1", "official": "http://127.0.0.1:9002/v1"]

    @Test func plansModelPriorityAndChainFromHeadersAndMetadata() throws {
        let configuration = try RoutingConfiguration(settings: ["fallback.chain.claude-sonnet-4.5": "official"])
        let plan = try configuration.plan(
            model: "auto", taskTypeHeader: nil, taskTypeMetadata: "risk analysis", priorityHeader: "5",
            priorityMetadata: "1", baseURLs: baseURLs
        )
        #expect(plan.decision.requestedModel == "auto")
        #expect(plan.decision.routedModel == "claude-sonnet-4.5")
        #expect(plan.priority == .highest)
        #expect(plan.chain == [ProviderEndpoint(name: "official", baseURL: "http://127.0.0.1:9002/v1")])
    }

    @Test func defaultsApplyWhenTheRequestSaysNothing() throws {
        let plan = try RoutingConfiguration().plan(model: "gpt-4.1", baseURLs: baseURLs)
        #expect(!plan.decision.wasRouted)
        #expect(plan.priority == .normal)
        #expect(plan.chain.map(\.name) == ["holysheep", "official"])
    }

    @Test func aBadPriorityOrNoConfiguredProviderIsRefused() {
        #expect(throws: RoutingError.invalidPriority("urgent")) {
            try RoutingConfiguration().plan(model: "auto", priorityHeader: "urgent", baseURLs: baseURLs)
        }
        #expect(throws: RoutingError.emptyChain(model: "gpt-4.1")) {
            try RoutingConfiguration().plan(model: "gpt-4.1", baseURLs: [:])
        }
    }

    @Test func aCallerBuiltFromConfigurationUsesItsLimits() async throws {
        let configuration = try RoutingConfiguration(settings: ["pool.max_concurrent": "1", "pool.max_queued": "0"])
        let call = ResilientCall(configuration: configuration, clock: TestClock(.autoAdvance), random: { 0.5 })
        let plan = try configuration.plan(model: "gpt-4.1", baseURLs: baseURLs)
        let held = await call.run(chain: plan.chain, holdLeaseOnSuccess: true) { _, _ in AttemptOutcome<Int>.success(1)
        }
        let refused = await call.run(chain: plan.chain) { _, _ in AttemptOutcome<Int>.success(2) }
        #expect(held.succeeded)
        #expect(refused.error == .queueFull(limit: 0, retryAfter: .seconds(1)))
        call.finish(held)
        #expect(call.pool?.snapshot().inFlight == 0)
    }
}

/// Each model falls back to its own vendor: chains keep only providers serving the model in the call's dialect.
@Suite struct ProviderServiceTests {
    let baseURLs = [
        "holysheep": "http://h/v1", "official": "http://o/v1", "anthropic": "http://a/v1", "gemini": "http://g/v1",
        "deepseek": "http://d/v1",
    ]
    let services: [String: ProviderService] = [
        "holysheep": .everything,
        "official": ProviderService(dialects: [.openai, .responses], models: ["gpt-*", "o1*", "o3*", "o4*"]),
        "anthropic": ProviderService(
            dialects: [.anthropic, .openai], models: ["claude-*"], modelMap: ["claude-sonnet-4.5": "claude-sonnet-4-5"]),
        "gemini": ProviderService(dialects: [.openai], models: ["gemini-*"]),
        "deepseek": ProviderService(dialects: [.openai], models: ["deepseek-*"], modelMap: ["deepseek-v3.2": "deepseek-chat"]),
    ]

    func chain(_ model: String, _ dialect: WireDialect) throws -> [String] {
        try RoutingConfiguration().plan(model: model, baseURLs: baseURLs, dialect: dialect, services: services)
            .chain.map(\.name)
    }

    @Test func everySeedModelFallsBackToItsOwnVendor() throws {
        #expect(try chain("gpt-4.1", .openai) == ["holysheep", "official"])
        #expect(try chain("gpt-4.1", .responses) == ["holysheep", "official"])
        #expect(try chain("claude-sonnet-4.5", .anthropic) == ["holysheep", "anthropic"])
        #expect(try chain("claude-sonnet-4.5", .openai) == ["holysheep", "anthropic"])
        #expect(try chain("gemini-2.5-flash", .openai) == ["holysheep", "gemini"])
        #expect(try chain("deepseek-v3.2", .openai) == ["holysheep", "deepseek"])
        #expect(services["deepseek"]?.upstreamModel(for: "deepseek-v3.2") == "deepseek-chat")
        #expect(services["anthropic"]?.upstreamModel(for: "claude-sonnet-4.5") == "claude-sonnet-4-5")
        #expect(services["anthropic"]?.upstreamModel(for: "claude-opus-4") == "claude-opus-4")
    }

    @Test func noProviderServingTheModelInTheDialectIsAClearError() {
        let only = ["official": "http://o/v1", "gemini": "http://g/v1"]
        #expect(throws: RoutingError.modelNotServed(model: "gemini-2.5-flash", dialect: "anthropic", providers: ["official", "gemini"])) {
            try RoutingConfiguration().plan(model: "gemini-2.5-flash", baseURLs: only, dialect: .anthropic, services: services)
        }
        let error = RoutingError.modelNotServed(model: "m", dialect: "anthropic", providers: ["official"])
        #expect(error.description.contains("'m'") && error.description.contains("anthropic dialect"))
        #expect(error.description.contains("does not translate"))
    }

    @Test func patternsAndConfigValuesParse() throws {
        #expect(ProviderService.matches(pattern: "claude-*", "claude-sonnet-4.5"))
        #expect(!ProviderService.matches(pattern: "claude-*", "gpt-4.1"))
        #expect(ProviderService.matches(pattern: "*", ""))
        #expect(ProviderService.matches(pattern: "*sonnet*", "claude-sonnet-4.5"))
        #expect(!ProviderService.matches(pattern: "claude-*", "claude"))
        #expect(ProviderService.matches(pattern: "o*-mini", "o4-mini"))
        #expect(!ProviderService.matches(pattern: "o*-mini", "o4-mini-high"))
        #expect(ProviderService.matches(pattern: "gpt-4.1", "gpt-4.1"))
        #expect(try ProviderService.dialects(parsing: " anthropic, OpenAI ") == [.anthropic, .openai])
        #expect(ProviderService(dialects: [.anthropic, .openai], primaryDialect: .anthropic).primaryDialect == .anthropic)
        #expect(ProviderService(dialects: [.anthropic, .openai]).primaryDialect == .openai)
        #expect(throws: RoutingError.self) { try ProviderService.dialects(parsing: "anthropic, grpc") }
        #expect(try ProviderService.modelMap(parsing: "a=b, c = d") == ["a": "b", "c": "d"])
        #expect(throws: RoutingError.self) { try ProviderService.modelMap(parsing: "a") }
        #expect(try ProviderService.models(parsing: "claude-*, x") == ["claude-*", "x"])
    }

    @Test func callsWithoutAModelGoToTheDefaultChainsProvidersOfTheDialect() {
        let chain = RoutingConfiguration().chain(accepting: .responses, baseURLs: baseURLs, services: services)
        #expect(chain.map(\.name) == ["holysheep", "official"])
    }
}
