import LedgerCore

/// One chat request read from a batch file, ready to go through the router, pool and ledger like a proxied call.
package struct BatchRequest: Sendable, Hashable {
    /// 1-based line number in the file (results are reported by it, in input order).
    package var line: Int
    /// The OpenAI Batch API's `custom_id`, when the line used that form.
    package var customID: String?
    /// The request's `model` (`auto` or an alias is routed like a proxied call).
    package var model: String
    /// The chat request JSON to send upstream: the line (or its `body`) byte-for-byte, minus the batch-only members
    /// `task_type`, `priority` and `custom_id`.
    package var body: String
    /// From the line's `task_type` or the request's `metadata.task_type`.
    package var taskType: String?
    /// From the line's `priority` or the request's `metadata.priority`; nil means the configured default.
    package var priority: RequestPriority?
    package var stream: Bool

    package init(
        line: Int, customID: String?, model: String, body: String, taskType: String?, priority: RequestPriority?,
        stream: Bool
    ) {
        self.line = line
        self.customID = customID
        self.model = model
        self.body = body
        self.taskType = taskType
        self.priority = priority
        self.stream = stream
    }
}

/// One line of a batch file: a request, or why it could not be read.
package struct BatchLine: Sendable {
    package var line: Int
    package var request: Result<BatchRequest, RoutingError>

    package init(line: Int, request: Result<BatchRequest, RoutingError>) {
        self.line = line
        self.request = request
    }
}
