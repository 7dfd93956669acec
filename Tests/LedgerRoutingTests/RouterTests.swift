import Testing

@testable import LedgerRouting

@Suite struct TaskRouterTests {
    let router = TaskRouter.guideDefaults

    @Test(arguments: [
        ("code generation", "deepseek-v3.2"),
        ("Code Review", "deepseek-v3.2"),
        ("data analysis", "claude-sonnet-4.5"),
        ("FAST reply", "gemini-2.5-flash"),
        ("chat", "gpt-4.1"),
    ])
    func autoIsRoutedByTaskTypeWithTheGuideDefaults(taskType: String, expected: String) {
        let decision = router.route(model: "auto", taskType: taskType)
        #expect(decision.requestedModel == "auto")
        #expect(decision.routedModel == expected)
        #expect(decision.wasRouted)
        #expect(decision.taskType == taskType)
    }

    @Test func autoWithoutTaskTypeTakesTheDefaultModel() {
        let decision = router.route(model: "AUTO", taskType: nil)
        #expect(decision.routedModel == "gpt-4.1")
        #expect(decision.matchedRule == nil)
        #expect(decision.wasRouted)
    }

    @Test func aConcreteModelPassesThroughWhateverTheTaskType() {
        let decision = router.route(model: "gpt-4.1-mini", taskType: "code")
        #expect(decision.routedModel == "gpt-4.1-mini")
        #expect(!decision.wasRouted)
        #expect(decision.taskType == nil)
    }

    @Test func rulesAreTriedInOrderAndAliasesRouteToo() {
        let custom = TaskRouter(
            routedModelNames: ["auto", "Smart"],
            rules: [RouteRule(contains: "fast", model: "m-fast"), RouteRule(contains: "code", model: "m-code")],
            defaultModel: "m-default"
        )
        #expect(custom.route(model: "smart", taskType: "fast code").routedModel == "m-fast")
        #expect(
            custom.route(model: "smart", taskType: "fast code").matchedRule
                == RouteRule(contains: "fast", model: "m-fast"))
        #expect(router.route(model: "auto", taskType: "fast code").routedModel == "deepseek-v3.2")
        #expect(custom.route(model: "auto", taskType: "poetry").routedModel == "m-default")
    }

    @Test func theHeaderWinsOverMetadataAndBlankCountsAsAbsent() {
        #expect(TaskRouter.taskType(header: "code", metadata: "analysis") == "code")
        #expect(TaskRouter.taskType(header: "  ", metadata: " analysis ") == "analysis")
        #expect(TaskRouter.taskType(header: nil, metadata: nil) == nil)
    }
}

@Suite struct RequestPriorityTests {
    @Test func parsesOneToFiveAndRejectsTheRest() throws {
        #expect(try RequestPriority(parsing: " 4 ").value == 4)
        for bad in ["0", "6", "high", "", "2.5"] {
            #expect(throws: RoutingError.invalidPriority(bad)) { try RequestPriority(parsing: bad) }
        }
    }

    @Test func headerWinsOverMetadataThenTheDefault() throws {
        #expect(try RequestPriority.resolve(header: "5", metadata: 1).value == 5)
        #expect(try RequestPriority.resolve(header: nil, metadata: 1).value == 1)
        #expect(try RequestPriority.resolve(header: nil, metadata: nil) == .normal)
        #expect(throws: RoutingError.invalidPriority("9")) { try RequestPriority.resolve(header: nil, metadata: 9) }
    }
}
