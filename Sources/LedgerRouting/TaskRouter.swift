import LedgerCore

/// One routing rule: a task type containing `contains` (case-insensitive) goes to `model`.
package struct RouteRule: Sendable, Hashable {
    package var contains: String
    package var model: String

    package init(contains: String, model: String) {
        self.contains = contains
        self.model = model
    }
}

/// The router's answer: what the client asked for and what the proxy will call (both go into the ledger row).
package struct RouteDecision: Sendable, Hashable {
    package var requestedModel: String
    package var routedModel: String
    /// The task type the decision was made on, when the model was routed.
    package var taskType: String?
    /// The rule that matched; nil when the default model was taken or the model was not routed.
    package var matchedRule: RouteRule?

    /// True when the requested model was `auto` or an alias and the router chose the model.
    package var wasRouted: Bool

    package init(
        requestedModel: String, routedModel: String, taskType: String?, matchedRule: RouteRule?, wasRouted: Bool
    ) {
        self.requestedModel = requestedModel
        self.routedModel = routedModel
        self.taskType = taskType
        self.matchedRule = matchedRule
        self.wasRouted = wasRouted
    }
}

/// Chooses a model by task type for requests whose model is `auto` or a configured alias (the migration guide's
/// `SmartRouter.route`). Any other model passes through unchanged.
package struct TaskRouter: Sendable, Hashable {
    /// Model names that mean "choose for me". Compared case-insensitively.
    package var routedModelNames: Set<String>
    /// Tried in order; the first whose `contains` occurs in the task type wins.
    package var rules: [RouteRule]
    /// The model when no rule matches or there is no task type.
    package var defaultModel: String

    /// The migration guide's defaults: code → deepseek-v3.2, analysis → claude-sonnet-4.5,
    /// fast → gemini-2.5-flash, anything else → gpt-4.1.
    package static let guideDefaults = TaskRouter(
        routedModelNames: ["auto"],
        rules: [
            RouteRule(contains: "code", model: "deepseek-v3.2"),
            RouteRule(contains: "analysis", model: "claude-sonnet-4.5"),
            RouteRule(contains: "fast", model: "gemini-2.5-flash"),
        ],
        defaultModel: "gpt-4.1"
    )

    package init(routedModelNames: Set<String>, rules: [RouteRule], defaultModel: String) {
        self.routedModelNames = Set(routedModelNames.map { $0.lowercased() })
        self.rules = rules
        self.defaultModel = defaultModel
    }

    /// Whether `model` is `auto` or an alias, so the task type decides.
    package func routes(model: String) -> Bool {
        routedModelNames.contains(model) || routedModelNames.contains(model.lowercased())
    }

    /// The model for a task type, with the rule that matched (nil for the default).
    package func model(forTaskType taskType: String?) -> (model: String, rule: RouteRule?) {
        guard let taskType, !taskType.isEmpty else { return (defaultModel, nil) }
        let lowered = Array(taskType.lowercased().utf8)
        for rule in rules where lowered.firstOffset(of: Array(rule.contains.lowercased().utf8)) != nil {
            return (rule.model, rule)
        }
        return (defaultModel, nil)
    }

    /// Routes one request.
    /// - Parameters:
    ///   - model: the request body's `model`.
    ///   - taskType: from ``taskType(header:metadata:)``; ignored unless `model` is routed.
    package func route(model: String, taskType: String?) -> RouteDecision {
        guard routes(model: model) else {
            return RouteDecision(
                requestedModel: model, routedModel: model, taskType: nil, matchedRule: nil, wasRouted: false)
        }
        let chosen = self.model(forTaskType: taskType)
        return RouteDecision(
            requestedModel: model, routedModel: chosen.model, taskType: taskType, matchedRule: chosen.rule,
            wasRouted: true
        )
    }

    /// The task type of a request: the `X-Task-Type` header wins over the body's `metadata.task_type`.
    /// Blank values count as absent.
    package static func taskType(header: String?, metadata: String?) -> String? {
        for candidate in [header, metadata] {
            if let value = candidate?.trimmingSpaces(), !value.isEmpty { return value }
        }
        return nil
    }
}

extension String {
    /// Drops leading and trailing spaces and tabs (no Foundation).
    package func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
