extension RoutingConfiguration {
    /// The keys ``init(settings:)`` understands, with what their values look like. Durations are "2s", "500ms",
    /// "1.5s", "1m" or a bare number of seconds; lists are comma-separated.
    package static let settingKeys: [(key: String, example: String)] = [
        ("routing.auto_models", "auto,smart"),
        ("routing.rules", "code:deepseek-v3.2,analysis:claude-sonnet-4.5,fast:gemini-2.5-flash"),
        ("routing.default_model", "gpt-4.1"),
        ("retry.max_attempts", "3"),
        ("retry.initial_backoff", "2s"),
        ("retry.multiplier", "2"),
        ("retry.max_backoff", "10s"),
        ("retry.jitter", "0.2"),
        ("retry.statuses", "429,500,502,503,504"),
        ("retry.connect_errors", "true"),
        ("retry.timeouts", "true"),
        ("retry.honour_retry_after", "true"),
        ("retry.max_retry_after", "30s"),
        ("breaker.failure_threshold", "5"),
        ("breaker.cooldown", "30s"),
        ("pool.max_concurrent", "64"),
        ("pool.max_concurrent_per_provider", "64"),
        ("pool.provider.NAME.max_concurrent", "16"),
        ("pool.max_queued", "1024"),
        ("pool.queue_timeout", "30s"),
        ("pool.retry_after", "1s"),
        ("pool.default_priority", "3"),
        ("fallback.default_chain", "holysheep,official"),
        ("fallback.chain.MODEL", "official,holysheep"),
    ]

    private static let sections = ["routing.", "retry.", "breaker.", "pool.", "fallback."]

    /// The defaults, changed by flat key/value settings (the keys of ``settingKeys``). Keys outside the `routing.`,
    /// `retry.`, `breaker.`, `pool.` and `fallback.` sections are ignored, so the proxy may pass its whole flattened
    /// config file; an unknown key inside them is an error, so a typo is not silently ignored.
    package init(settings: [String: String]) throws(RoutingError) {
        self.init()
        var router = self.router
        for key in settings.keys.sorted() where Self.sections.contains(where: { key.hasPrefix($0) }) {
            let value = settings[key]!.trimmingSpaces()
            switch key {
            case "routing.auto_models":
                router.routedModelNames = Set(try Self.list(key, value).map { $0.lowercased() })
            case "routing.rules":
                router.rules = try Self.rules(key, value)
            case "routing.default_model":
                guard !value.isEmpty else { throw .invalidSetting(key: key, value: value, reason: "must name a model") }
                router.defaultModel = value
            case "retry.max_attempts": retry.maxAttemptsPerProvider = try Self.integer(key, value, atLeast: 1)
            case "retry.initial_backoff": retry.initialBackoff = try Self.duration(key, value)
            case "retry.multiplier": retry.backoffMultiplier = try Self.integer(key, value, atLeast: 1)
            case "retry.max_backoff": retry.maxBackoff = try Self.duration(key, value)
            case "retry.jitter":
                guard let jitter = Double(value), (0...1).contains(jitter) else {
                    throw .invalidSetting(key: key, value: value, reason: "must be a fraction from 0 to 1")
                }
                retry.jitter = jitter
            case "retry.statuses": retry.retryableStatuses = try Self.statuses(key, value)
            case "retry.connect_errors": retry.retryConnectErrors = try Self.boolean(key, value)
            case "retry.timeouts": retry.retryTimeouts = try Self.boolean(key, value)
            case "retry.honour_retry_after": retry.honourRetryAfter = try Self.boolean(key, value)
            case "retry.max_retry_after": retry.maxRetryAfter = try Self.duration(key, value)
            case "breaker.failure_threshold": breaker.failureThreshold = try Self.integer(key, value, atLeast: 1)
            case "breaker.cooldown": breaker.cooldown = try Self.duration(key, value)
            case "pool.max_concurrent": pool.maxConcurrent = try Self.integer(key, value, atLeast: 1)
            case "pool.max_concurrent_per_provider":
                pool.maxConcurrentPerProvider = try Self.integer(key, value, atLeast: 1)
            case "pool.max_queued": pool.maxQueued = try Self.integer(key, value, atLeast: 0)
            case "pool.queue_timeout": pool.queueTimeout = try Self.duration(key, value)
            case "pool.retry_after": pool.retryAfter = try Self.duration(key, value)
            case "pool.default_priority":
                do { defaultPriority = try RequestPriority(parsing: value) } catch {
                    throw .invalidSetting(key: key, value: value, reason: "must be a whole number from 1 to 5")
                }
            case "fallback.default_chain": defaultChain = try Self.list(key, value)
            default:
                if key.hasPrefix("pool.provider."), key.hasSuffix(".max_concurrent") {
                    let name = String(key.dropFirst("pool.provider.".count).dropLast(".max_concurrent".count))
                    guard !name.isEmpty else { throw .unknownSetting(key: key) }
                    pool.providerLimits[name] = try Self.integer(key, value, atLeast: 1)
                } else if key.hasPrefix("fallback.chain."), key.count > "fallback.chain.".count {
                    chains[String(key.dropFirst("fallback.chain.".count))] = try Self.list(key, value)
                } else {
                    throw .unknownSetting(key: key)
                }
            }
        }
        self.router = router
        guard retry.initialBackoff <= retry.maxBackoff else {
            throw .invalidSetting(
                key: "retry.initial_backoff", value: DurationText.format(retry.initialBackoff),
                reason: "must not exceed retry.max_backoff (\(DurationText.format(retry.maxBackoff)))"
            )
        }
    }

    private static func list(_ key: String, _ value: String) throws(RoutingError) -> [String] {
        let items = value.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
        guard !items.isEmpty else {
            throw .invalidSetting(key: key, value: value, reason: "must list at least one name")
        }
        return items
    }

    private static func rules(_ key: String, _ value: String) throws(RoutingError) -> [RouteRule] {
        var rules: [RouteRule] = []
        for item in value.split(separator: ",") {
            let parts = item.split(separator: ":", maxSplits: 1).map { String($0).trimmingSpaces() }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw .invalidSetting(
                    key: key, value: value, reason: "each rule is 'contains:model' ('\(item)' is not)")
            }
            rules.append(RouteRule(contains: parts[0], model: parts[1]))
        }
        return rules
    }

    private static func integer(_ key: String, _ value: String, atLeast minimum: Int) throws(RoutingError) -> Int {
        guard let number = Int(value), number >= minimum else {
            throw .invalidSetting(key: key, value: value, reason: "must be a whole number of at least \(minimum)")
        }
        return number
    }

    private static func boolean(_ key: String, _ value: String) throws(RoutingError) -> Bool {
        switch value.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw .invalidSetting(key: key, value: value, reason: "must be true or false")
        }
    }

    private static func statuses(_ key: String, _ value: String) throws(RoutingError) -> Set<Int> {
        var statuses: Set<Int> = []
        for item in value.split(separator: ",") {
            let text = String(item).trimmingSpaces()
            guard let code = Int(text), (100...599).contains(code) else {
                throw .invalidSetting(key: key, value: value, reason: "'\(text)' is not an HTTP status")
            }
            guard !RetryPolicy.neverRetriedStatuses.contains(code) else {
                throw .invalidSetting(key: key, value: value, reason: "\(code) is never retried")
            }
            statuses.insert(code)
        }
        return statuses
    }

    /// "2s", "500ms", "1.5s", "1m", or a bare number of seconds; millisecond precision.
    package static func duration(_ key: String, _ value: String) throws(RoutingError) -> Duration {
        var text = Substring(value.lowercased())
        var millisPerUnit: Int64 = 1000
        if text.hasSuffix("ms") {
            text = text.dropLast(2)
            millisPerUnit = 1
        } else if text.hasSuffix("s") {
            text = text.dropLast(1)
        } else if text.hasSuffix("m") {
            text = text.dropLast(1)
            millisPerUnit = 60_000
        }
        let parts = text.trimmingPrefixAndSuffixSpaces().split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = Int64(parts[0]), whole >= 0 else {
            throw .invalidSetting(key: key, value: value, reason: "must be a duration such as 2s or 500ms")
        }
        var millis = whole * millisPerUnit
        if parts.count == 2 {
            let fraction = parts[1]
            guard !fraction.isEmpty, fraction.count <= 3, let digits = Int64(fraction), millisPerUnit > 1 else {
                throw .invalidSetting(key: key, value: value, reason: "must be a duration such as 2s or 500ms")
            }
            var scale: Int64 = 1
            for _ in 0..<fraction.count { scale *= 10 }
            millis += digits * millisPerUnit / scale
        }
        return .milliseconds(millis)
    }
}

extension Substring {
    fileprivate func trimmingPrefixAndSuffixSpaces() -> String { String(self).trimmingSpaces() }
}
