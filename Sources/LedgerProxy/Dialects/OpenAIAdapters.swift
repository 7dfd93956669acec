package import LedgerCore
package import LedgerRouting

/// `POST /v1/chat/completions`: `messages` required; streams get `stream_options.include_usage` forced (and the
/// usage chunk hidden again from a client that did not ask for it).
package struct ChatCompletionsAdapter: DialectAdapter {
    static let shared = ChatCompletionsAdapter()
    package var dialect: WireDialect { .openai }
    package var errorShape: ErrorShape { .openai }

    package func validate(_ body: OpenAIRequestBody) throws(ProxyError) {
        guard body.has("messages") else { throw ProxyError.missing("messages") }
    }

    package func maxOutputTokens(_ body: OpenAIRequestBody) -> Int64? {
        body.integer("max_completion_tokens", "max_tokens")
    }

    package func editedBody(_ body: OpenAIRequestBody, model: String) -> [UInt8]? {
        body.editedBytes(model: model)
    }

    package func usage(reply object: JSONObjectScan, in bytes: [UInt8]) -> TokenUsage? {
        OpenAIUsage.parse(object, in: bytes)
    }

    package func streamRelay(_ body: OpenAIRequestBody?) -> any StreamRelay {
        ChatStreamRelay(clientWantsUsage: body?.clientRequestedUsage ?? false)
    }
}

/// `POST /v1/completions` (legacy): `prompt` required; streamed like chat.
package struct CompletionsAdapter: DialectAdapter {
    static let shared = CompletionsAdapter()
    package var dialect: WireDialect { .openai }
    package var errorShape: ErrorShape { .openai }

    package func validate(_ body: OpenAIRequestBody) throws(ProxyError) {
        guard body.has("prompt") else { throw ProxyError.missing("prompt") }
    }

    package func maxOutputTokens(_ body: OpenAIRequestBody) -> Int64? { body.integer("max_tokens") }

    package func editedBody(_ body: OpenAIRequestBody, model: String) -> [UInt8]? {
        body.editedBytes(model: model)
    }

    package func usage(reply object: JSONObjectScan, in bytes: [UInt8]) -> TokenUsage? {
        OpenAIUsage.parse(object, in: bytes)
    }

    package func streamRelay(_ body: OpenAIRequestBody?) -> any StreamRelay {
        ChatStreamRelay(clientWantsUsage: body?.clientRequestedUsage ?? false)
    }
}

/// `POST /v1/embeddings`: `input` required; never streamed, no output tokens.
package struct EmbeddingsAdapter: DialectAdapter {
    static let shared = EmbeddingsAdapter()
    package var dialect: WireDialect { .openai }
    package var errorShape: ErrorShape { .openai }

    package func validate(_ body: OpenAIRequestBody) throws(ProxyError) {
        guard body.has("input") else { throw ProxyError.missing("input") }
    }

    package func maxOutputTokens(_ body: OpenAIRequestBody) -> Int64? { 0 }

    package func usage(reply object: JSONObjectScan, in bytes: [UInt8]) -> TokenUsage? {
        OpenAIUsage.parse(object, in: bytes)
    }

    package func streamRelay(_ body: OpenAIRequestBody?) -> any StreamRelay { ChatStreamRelay(clientWantsUsage: true) }
}

/// `GET /v1/models`: answered from the price book by the pipeline, never sent upstream.
package struct ModelsAdapter: DialectAdapter {
    static let shared = ModelsAdapter()
    package var dialect: WireDialect { .openai }
    package var errorShape: ErrorShape { .openai }
    package var hasBody: Bool { false }
    package var billable: Bool { false }
    package func validate(_ body: OpenAIRequestBody) throws(ProxyError) {}
    package func usage(reply object: JSONObjectScan, in bytes: [UInt8]) -> TokenUsage? { nil }
    package func streamRelay(_ body: OpenAIRequestBody?) -> any StreamRelay { ChatStreamRelay(clientWantsUsage: true) }
}

/// An OpenAI chat or completions stream: usage from the chunk that carries it (the proxy forced `include_usage`),
/// `data: [DONE]` as the end held back until the row is committed.
package struct ChatStreamRelay: StreamRelay {
    let clientWantsUsage: Bool
    package private(set) var usage: TokenUsage? = nil
    private var sawDone = false

    package init(clientWantsUsage: Bool) { self.clientWantsUsage = clientWantsUsage }

    package var finished: Bool { sawDone || usage != nil }
    package var failure: String? { nil }

    package mutating func step(_ event: [UInt8]) -> StreamStep {
        guard let data = SSEEventSplitter.data(of: event) else { return .forward }
        if data.elementsEqual("[DONE]".utf8) {
            sawDone = true
            return .hold
        }
        if Self.mayHoldUsage(data), let object = try? JSONObjectScan(data),
            let parsed = OpenAIUsage.parse(object, in: data)
        {
            usage = parsed
            if !clientWantsUsage && object.isEmptyArray("choices", in: data) { return .drop }
        }
        if !clientWantsUsage, let stripped = Self.removingNullUsage(event) { return .replace(stripped) }
        return .forward
    }

    /// True when an SSE payload has `"usage"` followed by an object (not `null`): a cheap test before scanning.
    static func mayHoldUsage(_ data: [UInt8]) -> Bool {
        let needle = Array("\"usage\"".utf8)
        var from = 0
        while let found = data.firstOffset(of: needle, from: from) {
            var j = found + needle.count
            while j < data.count, data[j] == 0x20 || data[j] == UInt8(ascii: ":") { j += 1 }
            if j < data.count && data[j] == UInt8(ascii: "{") { return true }
            from = found + 1
        }
        return false
    }

    /// The event without its top-level `"usage":null` member, or nil when it has none. Once the proxy has forced
    /// `include_usage`, providers add that member to every chunk; a client that did not ask gets chunks as it would
    /// have without it. Single-line `data:` events only, as providers send them.
    static func removingNullUsage(_ event: [UInt8]) -> [UInt8]? {
        guard event.starts(with: "data:".utf8), event.firstOffset(of: Array(#""usage":null"#.utf8)) != nil else {
            return nil
        }
        var start = 5
        if start < event.count && event[start] == 0x20 { start += 1 }
        guard var end = event[start...].firstIndex(of: 0x0A) else { return nil }
        if end > start && event[end - 1] == 0x0D { end -= 1 }
        guard let object = try? JSONObjectScan(event, start: start, end: end),
            let index = object.members.lastIndex(where: { $0.key == "usage" }),
            event[object.members[index].valueRange].elementsEqual("null".utf8)
        else { return nil }
        let members = object.members
        let cut: Range<Int>
        if index > 0 {
            cut = members[index - 1].range.upperBound..<members[index].range.upperBound
        } else if index + 1 < members.count {
            cut = members[index].range.lowerBound..<members[index + 1].range.lowerBound
        } else {
            cut = members[index].range
        }
        var result = event
        result.removeSubrange(cut)
        return result
    }
}
