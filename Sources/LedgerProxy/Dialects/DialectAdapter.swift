package import Hummingbird
package import LedgerCore
package import LedgerRouting

/// The error shape a dialect's clients parse.
package enum ErrorShape: Sendable, Hashable {
    /// `{"error":{"message","type","param","code"}}`
    case openai
    /// `{"type":"error","error":{"type","message"}}`
    case anthropic
}

/// What the dialect-neutral pipeline (``ProxyController``) needs to know about one wire dialect's route: where the
/// model, stream flag and output cap are, what a valid request has, how to ask upstream for usage on a stream, how
/// to read usage from a reply and from stream events, and its error shape. No translation between dialects: the
/// body goes upstream byte for byte, except the model name and the stream-usage edit the adapter names.
package protocol DialectAdapter: Sendable {
    /// The dialect providers must accept to be sent this call.
    var dialect: WireDialect { get }
    var errorShape: ErrorShape { get }
    /// False for calls that pass through unbilled (token counting, stored responses): no model check, no
    /// admission, no usage read; the row names no model.
    var billable: Bool { get }
    /// True for routes whose request has a JSON body.
    var hasBody: Bool { get }

    /// Refuses a request this dialect's API would refuse (missing or mistyped members), as a 400 in its shape.
    func validate(_ body: OpenAIRequestBody) throws(ProxyError)
    /// The request's output cap (`max_tokens` and the like), when it names one.
    func maxOutputTokens(_ body: OpenAIRequestBody) -> Int64?
    /// The body for a provider that calls the model `model`, when it differs from the client's bytes: those bytes
    /// with only the model and (for streams that need it) the usage request edited. Nil when nothing needs editing:
    /// the client's own buffer then goes upstream as it came, uncopied.
    func editedBody(_ body: OpenAIRequestBody, model: String) -> [UInt8]?
    /// Client headers to pass upstream (`anthropic-version`, `anthropic-beta`).
    func forwardedHeaders(_ request: Request) -> [(name: String, value: String)]
    /// The usage of a successful reply read whole.
    func usage(reply object: JSONObjectScan, in bytes: [UInt8]) -> TokenUsage?
    /// A fresh reader of this dialect's stream events.
    func streamRelay(_ body: OpenAIRequestBody?) -> any StreamRelay
}

extension DialectAdapter {
    package var billable: Bool { true }
    package var hasBody: Bool { true }
    package func forwardedHeaders(_ request: Request) -> [(name: String, value: String)] { [] }
    package func maxOutputTokens(_ body: OpenAIRequestBody) -> Int64? { nil }
    package func editedBody(_ body: OpenAIRequestBody, model: String) -> [UInt8]? {
        body.editedBytes(model: model, forcingStreamUsage: false)
    }
}

/// What the pipeline does with one stream event.
package enum StreamStep: Sendable {
    /// Relay the event unchanged.
    case forward
    /// Relay these bytes instead.
    case replace([UInt8])
    /// Drop the event (a usage chunk the client did not ask for).
    case drop
    /// The stream's last event: held, with everything after it, until the row is committed.
    case hold
}

/// Reads one dialect's SSE events as they pass: the usage, whether the stream reached its end, a failure it
/// reported. Events arrive whole (``SSEEventSplitter``), terminator included.
package protocol StreamRelay: Sendable {
    mutating func step(_ event: [UInt8]) -> StreamStep
    /// The usage to record; nil when the stream did not say (a cut stream is never priced at zero).
    var usage: TokenUsage? { get }
    /// True when the stream reached its end (or, for chat, delivered its usage): otherwise it was cut.
    var finished: Bool { get }
    /// The recorded `error_type` when the stream reported a failure of its own (an `error` event).
    var failure: String? { get }
}

extension OpenAIRequestBody {
    /// The JSON kind of member `key`'s value, or nil when absent.
    package func kind(of key: String) -> JSONKind? {
        guard let member = object.member(key) else { return nil }
        return JSONKind(first: bytes[member.valueRange.lowerBound])
    }

    /// Refuses a member that is absent (or null) or, when `kinds` is given, of another JSON kind.
    package func require(_ key: String, _ kinds: Set<JSONKind>, shape: ErrorShape) throws(ProxyError) {
        guard let kind = kind(of: key), kind != .null else { throw ProxyError.missing(key) }
        guard kinds.contains(kind) else { throw ProxyError.invalidType(key, expected: kinds) }
    }

    /// Refuses a member present with another JSON kind.
    package func check(_ key: String, _ kinds: Set<JSONKind>) throws(ProxyError) {
        guard let kind = kind(of: key), kind != .null else { return }
        guard kinds.contains(kind) else { throw ProxyError.invalidType(key, expected: kinds) }
    }

    /// The first of `keys` that is a whole number.
    package func integer(_ keys: String...) -> Int64? {
        for key in keys { if let value = object.int64(key, in: bytes) { return value } }
        return nil
    }
}

/// The kind of a JSON value, from its first byte.
package enum JSONKind: String, Sendable, Hashable, Comparable {
    case object, array, string, number, boolean, null

    init(first byte: UInt8) {
        switch byte {
        case UInt8(ascii: "{"): self = .object
        case UInt8(ascii: "["): self = .array
        case UInt8(ascii: "\""): self = .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): self = .boolean
        case UInt8(ascii: "n"): self = .null
        default: self = .number
        }
    }

    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension SSEEventSplitter {
    /// The `event:` name of an event, or nil when it has none.
    package static func name(of event: [UInt8]) -> String? {
        guard event.starts(with: "event:".utf8) else {
            // Rare: a name after other fields (`id:`), or none at all.
            guard let at = event.firstOffset(of: Array("\nevent:".utf8)) else { return nil }
            return line(event, from: at + 7)
        }
        return line(event, from: 6)
    }

    private static func line(_ event: [UInt8], from start: Int) -> String {
        var i = start
        if i < event.count && event[i] == 0x20 { i += 1 }
        var end = i
        while end < event.count && event[end] != 0x0A && event[end] != 0x0D { end += 1 }
        return String(decoding: event[i..<end], as: UTF8.self)
    }
}
