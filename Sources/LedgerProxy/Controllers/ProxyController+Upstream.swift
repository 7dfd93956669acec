import HTTPTypes
import Hummingbird
import LedgerCore
import LedgerRouting
import Synchronization

/// Where one call goes at each provider: method, path after the base URL, client headers passed on, dialect.
struct UpstreamTarget: Sendable {
    var method: String
    var path: String
    var forwarded: [(name: String, value: String)]
    var dialect: WireDialect
}

/// The upstream body per provider model name: the client's own buffer, uncopied, when nothing needs editing (the
/// usual case: one body for every attempt); an edited copy, made once per name, when the provider's `model_map`
/// renames the model or a stream needs its usage asked for.
final class UpstreamBodies: Sendable {
    private let body: OpenAIRequestBody
    private let original: ByteBuffer
    private let adapter: any DialectAdapter
    private let made = Mutex<[String: ByteBuffer]>([:])

    /// - Parameter original: the buffer `body` was read from (its bytes are `body.bytes`).
    init(body: OpenAIRequestBody, original: ByteBuffer, adapter: any DialectAdapter) {
        self.body = body
        self.original = original
        self.adapter = adapter
    }

    func buffer(for model: String?) -> ByteBuffer {
        let name = model ?? body.model ?? ""
        guard let edited = adapter.editedBody(body, model: name) else { return original }
        return made.withLock { made in
            if let done = made[name] { return done }
            let buffer = ByteBuffer(bytes: edited)
            made[name] = buffer
            return buffer
        }
    }
}

extension ProxyController {
    /// One attempt at `provider`, classified for ``ResilientCall``: error statuses and bodies that are not JSON
    /// are read whole (nothing has reached the client yet, so they may be retried or fallen back from).
    func outcome(
        _ adapter: any DialectAdapter, _ target: UpstreamTarget, provider: ProviderConfiguration, body: ByteBuffer?,
        stream: Bool
    ) async throws -> AttemptOutcome<UpstreamReply> {
        let response: UpstreamResponse
        // A reply relayed whole is read whole by the upstream client (one hand-off) within the provider's timeout;
        // a stream comes as it arrives, for as long as it keeps coming: the timeout bounds its silences instead.
        do {
            response = try await send(
                target, provider: provider, body: body,
                wholeBodyLimit: stream ? nil : configuration.maxUpstreamBodyBytes, idleTimeout: stream)
        } catch let error as UpstreamError {
            return try Self.failure(error)
        }
        let success = (200..<300).contains(response.status)
        if stream, success, response.header("content-type")?.lowercased().hasPrefix("text/event-stream") ?? false {
            return .success(UpstreamReply(provider: provider, response: response, body: nil))
        }
        let whole: ByteBuffer
        do { whole = try await response.collectBody(upTo: configuration.maxUpstreamBodyBytes) } catch let error
            as UpstreamError
        {
            return try Self.failure(error)
        }
        var reply = UpstreamReply(provider: provider, response: response, body: whole)
        guard success else {
            let retryAfter = response.header("retry-after").flatMap { RetryAfter.parse($0, nowMicros: now()) }
            return .failure(.status(response.status, retryAfter: retryAfter), response: reply)
        }
        guard adapter.billable else { return .success(reply) }
        // One scan both checks the reply is JSON (a garbled 2xx is retried or fallen back from) and finds its usage.
        let bytes = Array(whole.readableBytesView)
        guard let object = try? JSONObjectScan(bytes) else {
            return .failure(AttemptFailure(.malformedResponse("the reply body is not a JSON object")), response: nil)
        }
        reply.usage = adapter.usage(reply: object, in: bytes)
        return .success(reply)
    }

    /// An upstream client error as the retry policy sees it; cancellation (the client left) ends the call.
    static func failure(_ error: UpstreamError) throws -> AttemptOutcome<UpstreamReply> {
        switch error {
        case .cancelled: throw CancellationError()
        case .curl, .shutDown: throw error
        default: return .failure(ProviderPing.attemptFailure(error), response: nil)
        }
    }

    /// One upstream request to `provider`: the seam where retries, fallback, the circuit breaker and the pool wrap.
    func send(
        _ target: UpstreamTarget, provider: ProviderConfiguration, body: ByteBuffer?, wholeBodyLimit: Int? = nil,
        idleTimeout: Bool = false
    ) async throws -> UpstreamResponse {
        var headers = Self.authHeaders(provider, dialect: target.dialect)
        if body != nil { headers.append(("Content-Type", "application/json")) }
        headers += target.forwarded
        return try await upstream.send(
            UpstreamRequest(
                method: target.method, url: provider.baseURL + target.path, headers: headers, body: body,
                connectTimeout: provider.connectTimeout, totalTimeout: provider.timeout, wholeBodyLimit: wholeBodyLimit,
                timeoutIsIdle: idleTimeout))
    }

    /// The provider's key as it wants it. Anthropic's own dialect reads `x-api-key` only; its OpenAI-compatible
    /// endpoint reads the bearer token, so a call in that dialect carries both.
    static func authHeaders(_ provider: ProviderConfiguration, dialect: WireDialect) -> [(name: String, value: String)] {
        let key = provider.apiKey ?? ""
        switch provider.auth {
        case .bearer: return [("Authorization", "Bearer \(key)")]
        case .xAPIKey:
            var headers: [(name: String, value: String)] = [("x-api-key", key)]
            if dialect != .anthropic { headers.append(("Authorization", "Bearer \(key)")) }
            return headers
        }
    }

    /// Non-streamed reply (already read whole): take its usage, record, then answer.
    func relayWhole(
        _ reply: UpstreamReply, body: ByteBuffer, call: inout Call, upstreamStart: ContinuousClock.Instant
    ) async throws -> Response {
        let response = reply.response
        call.event.upstreamLatencyMicros = Self.micros(ContinuousClock.now - upstreamStart)
        if (200..<300).contains(response.status) {
            call.event.status = .ok
            call.event.usage = reply.usage
        } else {
            call.event.status = .upstreamError
            call.event.errorType = "upstream_http_\(response.status)"
        }
        try await record(&call)
        var headers = Self.relayedHeaders(response.headers)
        addLedgerHeaders(&headers, call: call)
        return Response(
            status: HTTPResponse.Status(code: response.status), headers: headers, body: ResponseBody(byteBuffer: body))
    }

    /// Streamed reply: forward each SSE event as it completes (the dialect's relay reads usage and may hide or
    /// edit an event), record, and only then send the held end of the stream (`data: [DONE]`, `message_stop`,
    /// `response.completed`) and the end of the body. Generic over the relay (the adapter's existential is opened
    /// here), so the per-event loop is specialised for each dialect.
    func stream<Relay: StreamRelay>(
        _ response: UpstreamResponse, call: Call, upstreamStart: ContinuousClock.Instant, relay: Relay,
        release: LeaseRelease
    ) -> Response {
        var headers = Self.relayedHeaders(response.headers)
        addLedgerHeaders(&headers, call: call)
        let initial = call
        let initialRelay = relay
        let body = ResponseBody { [self] writer in
            defer { release() }
            var call = initial
            var relay = initialRelay
            var splitter = SSEEventSplitter()
            var held: [UInt8] = []
            var holding = false
            var clientGone = false
            var upstreamFailure: UpstreamError? = nil
            do {
                for try await chunk in response.body {
                    var out = ByteBuffer()
                    for event in splitter.append(chunk.readableBytesView) {
                        if holding {
                            held += event
                            continue
                        }
                        switch relay.step(event) {
                        case .forward: out.writeBytes(event)
                        case .replace(let bytes): out.writeBytes(bytes)
                        case .drop: continue
                        case .hold:
                            holding = true
                            held += event
                        }
                    }
                    guard out.readableBytes > 0 else { continue }
                    if call.event.timeToFirstTokenMicros == nil {
                        call.event.timeToFirstTokenMicros = Self.micros(ContinuousClock.now - call.start)
                    }
                    do { try await writer.write(out) } catch {
                        clientGone = true
                        response.cancel()
                        break
                    }
                }
            } catch let error as UpstreamError {
                upstreamFailure = error
            } catch {
                upstreamFailure = .interrupted(url: "", detail: "\(error)")
            }
            call.event.upstreamLatencyMicros = Self.micros(ContinuousClock.now - upstreamStart)
            call.event.usage = relay.usage
            release()
            if clientGone || Task.isCancelled {
                call.event.status = .cancelled
            } else if let upstreamFailure {
                call.event.status = Self.status(for: upstreamFailure)
                call.event.errorType = upstreamFailure.isTimeout ? "upstream_timeout" : "upstream_interrupted"
            } else if let failure = relay.failure {
                call.event.status = .upstreamError
                call.event.errorType = failure
            } else if !relay.finished {
                call.event.status = .interrupted
                call.event.errorType = "upstream_stream_incomplete"
            } else {
                call.event.status = .ok
            }
            try await record(&call)
            if clientGone { return }
            if let upstreamFailure { throw upstreamFailure }
            held += splitter.remainder
            if !held.isEmpty { try await writer.write(ByteBuffer(bytes: held)) }
            try await writer.finish(nil)
        }
        return Response(status: HTTPResponse.Status(code: response.status), headers: headers, body: body)
    }

    // MARK: pure helpers

    /// Whether an upstream header, by its name in any case, stays out of the relayed reply: hop-by-hop or the
    /// server's own (`connection`, `keep-alive`, `transfer-encoding`, `content-length`, `upgrade`,
    /// `proxy-connection`, `te`, `trailer`, `date`, `server`: the server sets its own framing), or `x-ledger-*` (the
    /// proxy's own, added once by ``addLedgerHeaders(_:call:)``; an upstream cannot forge them). Compared on the
    /// name's bytes, ASCII case folded, by length first: no lowercased copy and no ten string comparisons per header.
    static func isNotRelayed(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { bytes in
            /// Whether the name starts with `word` (all of it, when the lengths are equal).
            func matches(_ word: StaticString) -> Bool {
                let length = word.utf8CodeUnitCount
                guard bytes.count >= length else { return false }
                return word.withUTF8Buffer { word in
                    // Only A-Z are folded (bit 5 set); every other byte is compared as it is.
                    for k in 0..<length where bytes[k] | (bytes[k] >= 0x41 && bytes[k] <= 0x5A ? 0x20 : 0) != word[k] {
                        return false
                    }
                    return true
                }
            }
            if matches("x-ledger-") { return true }
            switch bytes.count {
            case 2: return matches("te")
            case 4: return matches("date")
            case 6: return matches("server")
            case 7: return matches("upgrade") || matches("trailer")
            case 10: return matches("connection") || matches("keep-alive")
            case 14: return matches("content-length")
            case 16: return matches("proxy-connection")
            case 17: return matches("transfer-encoding")
            default: return false
            }
        }
    }

    /// The upstream's headers minus those ``isNotRelayed(_:)`` keeps out.
    static func relayedHeaders(_ upstream: [(name: String, value: String)]) -> HTTPFields {
        var fields = HTTPFields()
        fields.reserveCapacity(upstream.count + 4)
        for (name, value) in upstream {
            guard !isNotRelayed(name), let fieldName = HTTPField.Name(name) else { continue }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        return fields
    }

    /// The provider's request id: OpenAI's `x-request-id`, Anthropic's `request-id`.
    static func requestID(_ response: UpstreamResponse) -> String? {
        response.header("x-request-id") ?? response.header("request-id")
    }

    /// The path after the provider's base URL: the route's, or for routes with an id the request's own (and its
    /// query).
    static func upstreamPath(_ endpoint: ProxyEndpoint, request: Request) -> String {
        switch endpoint {
        case .response, .responseInputItems:
            let path = String(request.uri.path.dropFirst(3))
            guard let query = request.uri.query, !query.isEmpty else { return path }
            return path + "?" + query
        default:
            return endpoint.upstreamPath
        }
    }

    /// The client's ledger key: `Authorization: Bearer hsl-…` (OpenAI SDKs) or `x-api-key: hsl-…` (Anthropic's).
    static func clientSecret(_ headers: HTTPFields) -> String? {
        if let bearer = bearer(headers.first(.authorization)) { return bearer }
        guard let key = headers.first(.xAPIKey)?.trimmingSpaces, !key.isEmpty else { return nil }
        return key
    }

    /// The secret of an `Authorization: Bearer …` header (the scheme's name in any case).
    static func bearer(_ header: String?) -> String? {
        guard let header else { return nil }
        let bytes = header.utf8
        guard bytes.count > 7 else { return nil }
        var index = bytes.startIndex
        for expected in "bearer".utf8 {
            // ASCII letters only: setting bit 5 lowercases them (no other byte becomes one of these letters).
            guard bytes[index] | 0x20 == expected else { return nil }
            index = bytes.index(after: index)
        }
        guard bytes[index] == 0x20 else { return nil }
        let secret = String(decoding: bytes[bytes.index(after: index)...], as: UTF8.self).trimmingSpaces
        return secret.isEmpty ? nil : secret
    }

    /// "project = atlas, env=prod" → "project=atlas,env=prod"; empty parts dropped; nil when nothing is left.
    static func normalisedTags(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: ",").compactMap { part -> String? in
            let pieces = part.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces }
            guard let key = pieces.first, !key.isEmpty else { return nil }
            return pieces.count == 2 ? "\(key)=\(pieces[1])" : key
        }
        return parts.isEmpty ? nil : String(parts.joined(separator: ",").prefix(1024))
    }

    static func status(for error: UpstreamError) -> CallStatus {
        switch error {
        case .connectTimeout, .timeout, .idleTimeout: .timeout
        case .cancelled: .cancelled
        case .interrupted: .interrupted
        default: .upstreamError
        }
    }

    static func micros(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
