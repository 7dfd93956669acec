package import Hummingbird
package import LedgerCore
package import LedgerRouting

/// `POST /v1/messages` (Anthropic Messages): `model`, `max_tokens` and `messages` required. Usage from the Message,
/// or on streams from `message_start` (input side) and `message_delta` (output, cumulative); `message_stop` ends
/// the stream and is held back until the row is committed. A stream cut before `message_stop` is recorded
/// interrupted with usage missing (never priced at zero or at a partial count).
package struct MessagesAdapter: DialectAdapter {
    static let shared = MessagesAdapter()
    package var dialect: WireDialect { .anthropic }
    package var errorShape: ErrorShape { .anthropic }

    /// Sent upstream when the client names none (the version the SDKs send).
    static let defaultVersion = "2023-06-01"

    package func validate(_ body: OpenAIRequestBody) throws(ProxyError) {
        try body.require("max_tokens", [.number], shape: errorShape)
        try body.require("messages", [.array], shape: errorShape)
        try body.check("stream", [.boolean])
        try body.check("system", [.string, .array])
    }

    package func maxOutputTokens(_ body: OpenAIRequestBody) -> Int64? { body.integer("max_tokens") }

    package func forwardedHeaders(_ request: Request) -> [(name: String, value: String)] {
        Self.anthropicHeaders(request)
    }

    static func anthropicHeaders(_ request: Request) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [
            ("anthropic-version", request.headers.first(.anthropicVersion) ?? defaultVersion)
        ]
        if let beta = request.headers[.anthropicBeta] { headers.append(("anthropic-beta", beta)) }
        return headers
    }

    package func usage(reply object: JSONObjectScan, in bytes: [UInt8]) -> TokenUsage? {
        guard let usage = object.object("usage", in: bytes) else { return nil }
        return AnthropicUsage.parse(usage: usage, in: bytes)
    }

    package func streamRelay(_ body: OpenAIRequestBody?) -> any StreamRelay { MessagesStreamRelay() }
}

/// A Messages stream, read through ``AnthropicUsage/Stream``.
package struct MessagesStreamRelay: StreamRelay {
    private var tracker = AnthropicUsage.Stream()
    package private(set) var failure: String? = nil

    package init() {}

    package var usage: TokenUsage? { tracker.complete ? tracker.usage : nil }
    package var finished: Bool { tracker.complete }

    package mutating func step(_ event: [UInt8]) -> StreamStep {
        let name = SSEEventSplitter.name(of: event)
        switch name {
        case "message_start", "message_delta", "message_stop":
            if let data = SSEEventSplitter.data(of: event) { tracker.consume(event: data) }
        case "error":
            failure = "upstream_stream_error"
        case nil:
            // No event name: only the message_* events matter, and only they have that type prefix.
            guard let data = SSEEventSplitter.data(of: event), data.firstOffset(of: Array("\"message_".utf8)) != nil
            else { break }
            tracker.consume(event: data)
        default:
            break
        }
        return tracker.complete ? .hold : .forward
    }
}

/// `POST /v1/messages/count_tokens`: passed through unbilled (its reply is a count, not usage).
package struct CountTokensAdapter: DialectAdapter {
    static let shared = CountTokensAdapter()
    package var dialect: WireDialect { .anthropic }
    package var errorShape: ErrorShape { .anthropic }
    package var billable: Bool { false }

    package func validate(_ body: OpenAIRequestBody) throws(ProxyError) {
        try body.require("messages", [.array], shape: errorShape)
    }

    package func forwardedHeaders(_ request: Request) -> [(name: String, value: String)] {
        MessagesAdapter.anthropicHeaders(request)
    }

    package func usage(reply object: JSONObjectScan, in bytes: [UInt8]) -> TokenUsage? { nil }
    package func streamRelay(_ body: OpenAIRequestBody?) -> any StreamRelay { MessagesStreamRelay() }
}
