import HTTPTypes
package import Hummingbird
package import LedgerCore
package import Logging

/// Handles the OpenAI routes: authenticates, checks the body, makes one upstream attempt, relays the reply and
/// records exactly one call row, committed before the client gets the reply's last byte.
package struct ProxyController: Sendable {
    let configuration: ProxyConfiguration
    let upstream: any UpstreamClient
    let recorder: any UsageRecorder
    let keys: any ClientKeyVerifier
    let prices: any PriceLookup
    let metrics: ProxyMetrics
    let logger: Logger
    /// Wall-clock microseconds since 1970 (injected for tests).
    let now: @Sendable () -> Int64

    /// An in-progress call: the row being filled and when the request arrived.
    struct Call: Sendable {
        var event: UsageEvent
        let start: ContinuousClock.Instant
    }

    /// Starts a call row for a request (reserving its id).
    func begin(endpoint: String, request: Request) -> Call {
        let event = UsageEvent(
            id: recorder.reserveCallID(), startedAtMicros: now(), finishedAtMicros: 0, endpoint: endpoint,
            status: .clientError, latencyMicros: 0,
            tags: Self.normalisedTags(request.headers[.ledgerTags]))
        return Call(event: event, start: ContinuousClock.now)
    }

    /// Serves one OpenAI route.
    func handle(_ endpoint: OpenAIEndpoint, request: Request, context: some RequestContext) async -> Response {
        var call = begin(endpoint: endpoint.rawValue, request: request)
        do {
            return try await proxy(endpoint, request: request, call: &call)
        } catch let rejection as Rejection {
            return await reject(rejection.error, status: rejection.status, call: call)
        } catch {
            logger.error("proxy failure", metadata: ["ledger.call.id": "\(call.event.id)", "error": "\(error)"])
            return await reject(
                ProxyError(status: .internalServerError, message: "Internal error.", type: "server_error"),
                status: .upstreamError, call: call)
        }
    }

    /// A refusal and how it is recorded.
    struct Rejection: Error {
        var error: ProxyError
        var status: CallStatus
    }

    private func proxy(_ endpoint: OpenAIEndpoint, request: Request, call: inout Call) async throws -> Response {
        // 1. Who is calling.
        guard let secret = Self.bearer(request.headers[.authorization]),
            let identity = await keys.verify(secret: secret)
        else { throw Rejection(error: .invalidKey(), status: .clientError) }
        call.event.keyID = identity.keyID
        call.event.team = identity.team

        // 2. What they ask for.
        var body: OpenAIRequestBody? = nil
        if endpoint.method == "POST" {
            let limit = configuration.maxBodyBytes
            if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
                throw Rejection(error: .tooLarge(limit: limit), status: .clientError)
            }
            var buffer = ByteBuffer()
            for try await var part in request.body {
                guard buffer.readableBytes + part.readableBytes <= limit else {
                    throw Rejection(error: .tooLarge(limit: limit), status: .clientError)
                }
                buffer.writeBuffer(&part)
            }
            let parsed: OpenAIRequestBody
            do { parsed = try OpenAIRequestBody(bytes: Array(buffer.readableBytesView)) } catch {
                throw Rejection(error: .invalidJSON(), status: .clientError)
            }
            call.event.stream = parsed.stream
            guard let model = parsed.model, !model.isEmpty else {
                throw Rejection(error: .missing("model"), status: .clientError)
            }
            call.event.requestedModel = model
            if let required = endpoint.requiredMember, !parsed.has(required) {
                throw Rejection(error: .missing(required), status: .clientError)
            }
            guard isKnown(model: model, atMicros: call.event.startedAtMicros) else {
                throw Rejection(error: .modelNotFound(model), status: .clientError)
            }
            call.event.model = model
            body = parsed
        }

        // 3. Where it goes (routing, retries and fallback wrap `attempt`).
        guard let provider = configuration.providers.first else {
            throw Rejection(error: .missingUpstreamKey(.holysheep), status: .upstreamError)
        }
        call.event.provider = provider.name
        call.event.providerKind = provider.kind
        guard provider.apiKey != nil else {
            throw Rejection(error: .missingUpstreamKey(provider), status: .upstreamError)
        }
        let upstreamStart = ContinuousClock.now
        let response: UpstreamResponse
        do {
            let bytes = body?.upstreamBytes(model: call.event.model)
            response = try await attempt(endpoint, provider: provider, body: bytes.map { ByteBuffer(bytes: $0) })
        } catch let error as UpstreamError {
            throw Rejection(error: .upstream(error, provider: provider), status: Self.status(for: error))
        }
        call.event.httpStatus = response.status
        call.event.upstreamRequestID = response.header("x-request-id")

        let isEventStream = response.header("content-type")?.lowercased().hasPrefix("text/event-stream") ?? false
        if let body, body.stream, (200..<300).contains(response.status), isEventStream {
            return stream(
                response, call: call, upstreamStart: upstreamStart, clientWantsUsage: body.clientRequestedUsage)
        }
        return try await relayWhole(response, call: &call, upstreamStart: upstreamStart, endpoint: endpoint)
    }

    /// One upstream attempt at `provider`: the seam where retries, fallback, the circuit breaker and the pool wrap.
    package func attempt(_ endpoint: OpenAIEndpoint, provider: ProviderConfiguration, body: ByteBuffer?) async throws
        -> UpstreamResponse
    {
        var headers: [(name: String, value: String)] = [("Authorization", "Bearer \(provider.apiKey ?? "")")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        return try await upstream.send(
            UpstreamRequest(
                method: endpoint.method, url: provider.baseURL + endpoint.upstreamPath, headers: headers, body: body,
                connectTimeout: provider.connectTimeout, totalTimeout: provider.timeout))
    }

    /// Non-streamed reply: read it whole, take its usage, record, then answer.
    private func relayWhole(
        _ response: UpstreamResponse, call: inout Call, upstreamStart: ContinuousClock.Instant, endpoint: OpenAIEndpoint
    ) async throws -> Response {
        let body: ByteBuffer
        do {
            body = try await response.collectBody(upTo: configuration.maxUpstreamBodyBytes)
        } catch let error as UpstreamError {
            call.event.upstreamLatencyMicros = Self.micros(ContinuousClock.now - upstreamStart)
            throw Rejection(
                error: .upstream(error, provider: configuration.providers[0]), status: Self.status(for: error))
        }
        call.event.upstreamLatencyMicros = Self.micros(ContinuousClock.now - upstreamStart)
        if (200..<300).contains(response.status) {
            call.event.status = .ok
            if endpoint != .models { call.event.usage = OpenAIUsage.parse(body: Array(body.readableBytesView)) }
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

    /// Streamed reply: forward each SSE event as it completes, take the usage chunk (hidden when the client did not
    /// ask for it), record, and only then send `data: [DONE]` and the end of the body.
    private func stream(
        _ response: UpstreamResponse, call: Call, upstreamStart: ContinuousClock.Instant, clientWantsUsage: Bool
    ) -> Response {
        var headers = Self.relayedHeaders(response.headers)
        addLedgerHeaders(&headers, call: call)
        let initial = call
        let body = ResponseBody { [self] writer in
            var call = initial
            var splitter = SSEEventSplitter()
            var held: [UInt8] = []
            var sawDone = false
            var clientGone = false
            var upstreamFailure: UpstreamError? = nil
            do {
                for try await chunk in response.body {
                    var out = ByteBuffer()
                    for event in splitter.append(chunk.readableBytesView) {
                        if sawDone {
                            held += event
                            continue
                        }
                        guard let data = SSEEventSplitter.data(of: event) else {
                            out.writeBytes(event)
                            continue
                        }
                        if data.elementsEqual("[DONE]".utf8) {
                            sawDone = true
                            held += event
                            continue
                        }
                        if Self.mayHoldUsage(data), let object = try? JSONObjectScan(data),
                            let usage = OpenAIUsage.parse(object, in: data)
                        {
                            call.event.usage = usage
                            if !clientWantsUsage && object.isEmptyArray("choices", in: data) { continue }
                        }
                        out.writeBytes(event)
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
            if clientGone || Task.isCancelled {
                call.event.status = .cancelled
            } else if let upstreamFailure {
                call.event.status = Self.status(for: upstreamFailure)
                call.event.errorType = upstreamFailure.isTimeout ? "upstream_timeout" : "upstream_interrupted"
            } else if !sawDone && call.event.usage == nil {
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

    /// Records a refused call and answers with the OpenAI-shaped error.
    func reject(_ error: ProxyError, status: CallStatus, call: Call) async -> Response {
        var call = call
        call.event.status = status
        call.event.httpStatus = Int(error.status.code)
        call.event.errorType = error.recordedType
        call.event.usage = nil
        var response = error.response()
        do { try await record(&call) } catch {
            return ProxyError(
                status: .serviceUnavailable, message: "The ledger could not record this call.", type: "server_error",
                code: "ledger_unavailable"
            ).response()
        }
        addLedgerHeaders(&response.headers, call: call)
        return response
    }

    /// Stamps the finish time and latency, then awaits the ledger's commit.
    private func record(_ call: inout Call) async throws {
        call.event.finishedAtMicros = now()
        call.event.latencyMicros = Self.micros(ContinuousClock.now - call.start)
        let event = call.event
        do {
            try await metrics.recording { try await recorder.record(event) }
        } catch {
            logger.error("ledger write failed", metadata: ["ledger.call.id": "\(event.id)", "error": "\(error)"])
            throw error
        }
        var cost: Int128? = nil
        if let usage = event.usage, let model = event.model, let kind = event.providerKind,
            let price = prices.price(model: model, kind: kind, atMicros: event.startedAtMicros)
        {
            cost = try? CostCalculator.cost(for: usage, price: price).picoUSD
        }
        metrics.finished(event, costPicoUSD: cost)
    }

    private func addLedgerHeaders(_ headers: inout HTTPFields, call: Call) {
        headers[.ledgerCallID] = String(call.event.id)
        headers[.latencyMilliseconds] = String(Self.micros(ContinuousClock.now - call.start) / 1000)
        if let provider = call.event.provider { headers[.ledgerProvider] = provider }
    }

    private func isKnown(model: String, atMicros micros: Int64) -> Bool {
        configuration.extraModels.contains(model)
            || prices.price(model: model, kind: .holysheep, atMicros: micros) != nil
            || prices.price(model: model, kind: .official, atMicros: micros) != nil
    }

    // MARK: pure helpers

    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "transfer-encoding", "content-length", "upgrade", "proxy-connection", "te",
        "trailer", "date", "server",
    ]

    /// The upstream's headers minus hop-by-hop ones (the server sets its own framing).
    static func relayedHeaders(_ upstream: [(name: String, value: String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in upstream where !hopByHop.contains(name.lowercased()) {
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        return fields
    }

    /// The secret of an `Authorization: Bearer …` header.
    static func bearer(_ header: String?) -> String? {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        let secret = String(header.dropFirst(7)).trimmingSpaces
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

    /// True when an SSE payload has `"usage"` followed by an object (not `null`): a cheap test before scanning.
    static func mayHoldUsage(_ data: [UInt8]) -> Bool {
        let needle = Array("\"usage\"".utf8)
        var i = 0
        while i + needle.count <= data.count {
            if data[i] == needle[0] && data[i..<(i + needle.count)].elementsEqual(needle) {
                var j = i + needle.count
                while j < data.count, data[j] == 0x20 || data[j] == UInt8(ascii: ":") { j += 1 }
                if j < data.count && data[j] == UInt8(ascii: "{") { return true }
            }
            i += 1
        }
        return false
    }

    static func status(for error: UpstreamError) -> CallStatus {
        switch error {
        case .connectTimeout, .timeout: .timeout
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
