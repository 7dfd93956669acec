package import LedgerCore
package import LedgerRouting

/// `POST /v1/responses` (OpenAI Responses API): `input` required (text or items); usage from the Response, or on
/// streams from `response.completed` (the event held back until the row is committed). A stream cut before it is
/// recorded interrupted with usage missing.
package struct ResponsesAdapter: DialectAdapter {
    static let shared = ResponsesAdapter()
    package var dialect: WireDialect { .responses }
    package var errorShape: ErrorShape { .openai }

    package func validate(_ body: OpenAIRequestBody) throws(ProxyError) {
        try body.require("input", [.string, .array], shape: errorShape)
        try body.check("stream", [.boolean])
        try body.check("max_output_tokens", [.number])
        try body.check("instructions", [.string])
    }

    package func maxOutputTokens(_ body: OpenAIRequestBody) -> Int64? { body.integer("max_output_tokens") }

    package func usage(reply object: JSONObjectScan, in bytes: [UInt8]) -> TokenUsage? {
        ResponsesUsage.parse(response: object, in: bytes)
    }

    package func streamRelay(_ body: OpenAIRequestBody?) -> any StreamRelay { ResponsesStreamRelay() }
}

/// A Responses stream: `event: response.completed` (or `.incomplete`, `.failed`) ends it and carries the usage.
package struct ResponsesStreamRelay: StreamRelay {
    package private(set) var usage: TokenUsage? = nil
    package private(set) var finished = false
    package private(set) var failure: String? = nil

    package init() {}

    static let terminal: Set<String> = ["response.completed", "response.incomplete", "response.failed"]

    package mutating func step(_ event: [UInt8]) -> StreamStep {
        var type = SSEEventSplitter.name(of: event)
        if type == nil || type == "message" {
            // No event name: the data's `type` says (only the last events can be terminal; scan only those).
            guard let data = SSEEventSplitter.data(of: event),
                data.firstOffset(of: Array("\"response.".utf8)) != nil,
                let object = try? JSONObjectScan(data)
            else { return .forward }
            type = object.string("type", in: data)
        }
        guard let type else { return .forward }
        if type == "error" {
            failure = "upstream_stream_error"
            return .forward
        }
        guard Self.terminal.contains(type) else { return .forward }
        finished = true
        if let data = SSEEventSplitter.data(of: event), let object = try? JSONObjectScan(data),
            let response = object.object("response", in: data)
        {
            usage = ResponsesUsage.parse(response: response, in: data)
        }
        if type == "response.failed" { failure = "upstream_response_failed" }
        return .hold
    }
}

/// `GET`/`DELETE /v1/responses/{id}` and `GET /v1/responses/{id}/input_items`: passed through unbilled to the
/// primary provider that accepts the Responses dialect.
package struct StoredResponsesAdapter: DialectAdapter {
    static let shared = StoredResponsesAdapter()
    package var dialect: WireDialect { .responses }
    package var errorShape: ErrorShape { .openai }
    package var billable: Bool { false }
    package var hasBody: Bool { false }
    package func validate(_ body: OpenAIRequestBody) throws(ProxyError) {}
    package func usage(reply object: JSONObjectScan, in bytes: [UInt8]) -> TokenUsage? { nil }
    package func streamRelay(_ body: OpenAIRequestBody?) -> any StreamRelay { ResponsesStreamRelay() }
}
