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
