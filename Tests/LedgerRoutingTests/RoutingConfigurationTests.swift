import Testing

@testable import LedgerRouting

@Suite struct RoutingConfigurationTests {
    @Test func defaultsAreTheMigrationGuides() {
        let configuration = RoutingConfiguration()
        #expect(configuration.router == .guideDefaults)
        #expect(configuration.retry.maxAttemptsPerProvider == 3)
        #expect(configuration.retry.initialBackoff == .seconds(2))
        #expect(configuration.retry.maxBackoff == .seconds(10))
        #expect(configuration.retry.retryableStatuses == [429, 500, 502, 503, 504])
        #expect(configuration.breaker == CircuitBreakerPolicy(failureThreshold: 5, cooldown: .seconds(30)))
        #expect(configuration.chain(for: "gpt-4.1") == ["holysheep", "official", "anthropic", "gemini", "deepseek"])
    }

    @Test func flatSettingsChangeEveryPart() throws {
        let configuration = try RoutingConfiguration(settings: [
            "routing.auto_models": "auto, Smart",
            "routing.rules": "sql:deepseek-v3.2, summary:gemini-2.5-flash",
            "routing.default_model": "gpt-4.1-mini",
            "retry.max_attempts": "5",
            "retry.initial_backoff": "250ms",
            "retry.multiplier": "3",
            "retry.max_backoff": "1.5s",
            "retry.jitter": "0",
            "retry.statuses": "429,503",
            "retry.connect_errors": "false",
            "retry.max_retry_after": "1m",
            "breaker.failure_threshold": "2",
            "breaker.cooldown": "10",
            "pool.max_concurrent": "8",
            "pool.max_concurrent_per_provider": "4",
            "pool.provider.official.max_concurrent": "2",
            "pool.max_queued": "100",
            "pool.queue_timeout": "5s",
            "pool.retry_after": "3s",
            "pool.default_priority": "2",
            "fallback.default_chain": "official",
            "fallback.chain.deepseek-v3.2": "holysheep, official",
            "server.port": "8080",
        ])
        #expect(configuration.router.route(model: "smart", taskType: "SQL tuning").routedModel == "deepseek-v3.2")
        #expect(configuration.router.route(model: "auto", taskType: "code").routedModel == "gpt-4.1-mini")
        #expect(configuration.retry.maxAttemptsPerProvider == 5)
        #expect(configuration.retry.backoff(beforeRetry: 1, random: 0.9) == .milliseconds(250))
        #expect(configuration.retry.backoff(beforeRetry: 2, random: 0.9) == .milliseconds(750))
        #expect(configuration.retry.backoff(beforeRetry: 3, random: 0.9) == .milliseconds(1500))
        #expect(configuration.retry.retryableStatuses == [429, 503])
        #expect(!configuration.retry.retryConnectErrors)
        #expect(configuration.retry.maxRetryAfter == .seconds(60))
        #expect(configuration.breaker == CircuitBreakerPolicy(failureThreshold: 2, cooldown: .seconds(10)))
        #expect(configuration.pool.limit(for: "official") == 2)
        #expect(configuration.pool.limit(for: "holysheep") == 4)
        #expect(configuration.pool.maxConcurrent == 8)
        #expect(configuration.pool.maxQueued == 100)
        #expect(configuration.pool.queueTimeout == .seconds(5))
        #expect(configuration.pool.retryAfter == .seconds(3))
        #expect(configuration.defaultPriority.value == 2)
        #expect(configuration.chain(for: "gpt-4.1") == ["official"])
        #expect(configuration.chain(for: "deepseek-v3.2") == ["holysheep", "official"])
    }

    @Test func chainsKeepOnlyConfiguredProvidersWithTheirBaseURLs() {
        let chain = RoutingConfiguration().chain(for: "gpt-4.1", baseURLs: ["official": "https://api.openai.com/v1"])
        #expect(chain == [ProviderEndpoint(name: "official", baseURL: "https://api.openai.com/v1")])
    }

    @Test(arguments: [
        ("retry.max_attempts", "0"),
        ("retry.jitter", "1.5"),
        ("retry.statuses", "500,401"),
        ("retry.initial_backoff", "soon"),
        ("retry.initial_backoff", "20s"),
        ("breaker.cooldown", "-1s"),
        ("routing.rules", "code"),
        ("pool.default_priority", "7"),
        ("fallback.default_chain", " , "),
        ("retry.timeouts", "maybe"),
    ])
    func badValuesAreRefusedNamingTheKey(key: String, value: String) {
        #expect {
            try RoutingConfiguration(settings: [key: value])
        } throws: { error in
            guard case .invalidSetting(let badKey, _, _) = error as? RoutingError else { return false }
            return badKey == key
        }
    }

    @Test func anUnknownKeyInsideTheSectionsIsATypo() {
        #expect(throws: RoutingError.unknownSetting(key: "retry.max_atempts")) {
            try RoutingConfiguration(settings: ["retry.max_atempts": "3"])
        }
    }

    @Test func durationsTakeUnits() throws {
        #expect(try RoutingConfiguration.duration("k", "1.5s") == .milliseconds(1500))
        #expect(try RoutingConfiguration.duration("k", "250ms") == .milliseconds(250))
        #expect(try RoutingConfiguration.duration("k", "2m") == .seconds(120))
        #expect(try RoutingConfiguration.duration("k", "30") == .seconds(30))
        #expect(throws: RoutingError.self) { try RoutingConfiguration.duration("k", "1.5ms") }
    }
}
