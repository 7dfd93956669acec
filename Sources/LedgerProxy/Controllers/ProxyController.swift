import HTTPTypes
package import Hummingbird
package import LedgerCore
import LedgerRouting
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
    let routing: ProxyRouting
    let logger: Logger
    /// Wall-clock microseconds since 1970 (injected for tests).
    let now: @Sendable () -> Int64
    /// Configured providers by name, and their base URLs (for routing plans).
    let providersByName: [String: ProviderConfiguration]
    let baseURLs: [String: String]

    /// - Parameters: as ``buildApplication(configuration:upstream:recorder:keys:prices:metrics:exposition:ledgerHealth:routing:services:logger:now:)``.
    package init(
        configuration: ProxyConfiguration, upstream: any UpstreamClient, recorder: any UsageRecorder,
        keys: any ClientKeyVerifier, prices: any PriceLookup, metrics: ProxyMetrics, routing: ProxyRouting,
        logger: Logger, now: @escaping @Sendable () -> Int64
    ) {
        self.configuration = configuration
        self.upstream = upstream
        self.recorder = recorder
        self.keys = keys
        self.prices = prices
        self.metrics = metrics
        self.routing = routing
        self.logger = logger
        self.now = now
        var byName: [String: ProviderConfiguration] = [:]
        for provider in configuration.providers where byName[provider.name] == nil { byName[provider.name] = provider }
        self.providersByName = byName
        self.baseURLs = byName.mapValues(\.baseURL)
    }

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

    /// Serves one OpenAI route. If the client goes away while the call waits (for the pool, a retry or the upstream),
    /// the call is cancelled: the upstream transfer is aborted and the row recorded as cancelled. Once a streamed
    /// reply has started, a failed write to the client does the same.
    func handle(_ endpoint: OpenAIEndpoint, request: Request, context: ProxyRequestContext) async -> Response {
        guard let channel = context.channel, let connection = ClientConnections.connection(for: channel) else {
            return await serve(endpoint, request: request, authenticate: true, connection: nil)
        }
        var response = await connection.cancellingOnClose { [self] in
            await serve(endpoint, request: request, authenticate: true, connection: connection)
        }
        if connection.closesAfterResponse {
            // The request's body never finished arriving: close once the answer is out, rather than let the server
            // wait for (or misread) the rest of it.
            let answer = response.body
            response.body = ResponseBody(contentLength: answer.contentLength) { writer in
                try await answer.write(writer)
                channel.close(promise: nil)
            }
        }
        return response
    }

    /// Serves one request in-process, already trusted (the `batch` command: the operator's own calls, recorded
    /// without a client key and attributed by `X-Ledger-Tags`). Same routing, pool and ledger as proxied calls.
    package func handleTrusted(_ endpoint: OpenAIEndpoint, request: Request) async -> Response {
        await serve(endpoint, request: request, authenticate: false, connection: nil)
    }

    private func serve(
        _ endpoint: OpenAIEndpoint, request: Request, authenticate: Bool, connection: ClientConnection?
    ) async -> Response {
        // Fail closed: while the ledger cannot commit, a call would be paid upstream and then go unrecorded.
        if let reason = await recorder.commitFailure() {
            metrics.refusedUnrecordable()
            return ProxyError.ledgerUnavailable(reason).response()
        }
        var call = begin(endpoint: endpoint.rawValue, request: request)
        do {
            return try await proxy(
                endpoint, request: request, call: &call, authenticate: authenticate, connection: connection)
        } catch let failure as LedgerFailure {
            // The row could not be committed: one 503, and no second (usage-less) row for the same call.
            return ProxyError.ledgerUnavailable(failure.reason).response()
        } catch let rejection as Rejection {
            return await reject(rejection.error, status: rejection.status, call: call)
        } catch {
            logger.error("proxy failure", metadata: ["ledger.call.id": "\(call.event.id)", "error": "\(error)"])
            return await reject(
                ProxyError(status: .internalServerError, message: "Internal error.", type: "server_error"),
                status: .upstreamError, call: call)
        }
    }

    /// The ledger could not commit a call's row.
    struct LedgerFailure: Error {
        var reason: String
    }

    /// A refusal and how it is recorded.
    struct Rejection: Error {
        var error: ProxyError
        var status: CallStatus
    }

    private func proxy(
        _ endpoint: OpenAIEndpoint, request: Request, call: inout Call, authenticate: Bool,
        connection: ClientConnection?
    ) async throws -> Response {
        // 1. Who is calling.
        if authenticate {
            guard let secret = Self.bearer(request.headers[.authorization]),
                let identity = await keys.verify(secret: secret)
            else { throw Rejection(error: .invalidKey(), status: .clientError) }
            call.event.keyID = identity.keyID
            call.event.team = identity.team
        }

        // The model list comes from the price book, not the upstream: it never waits on a provider or its circuit.
        if endpoint == .models { return try await listModels(call: &call) }

        // 2. What they ask for.
        var body: OpenAIRequestBody? = nil
        if endpoint.method == "POST" {
            let limit = configuration.maxBodyBytes
            if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
                throw Rejection(error: .tooLarge(limit: limit), status: .clientError)
            }
            guard let buffer = try await Self.readBody(request.body, limit: limit, within: configuration.bodyTimeout)
            else {
                // Cancelled (the client left) rather than timed out: recorded as such.
                if Task.isCancelled { throw Rejection(error: .routing(.cancelled), status: .cancelled) }
                connection?.closeAfterResponse()
                throw Rejection(error: .requestTimeout(configuration.bodyTimeout), status: .clientError)
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
            body = parsed
        }

        // 3. Which model and which providers: `auto` and aliases routed by task type; the priority for the pool.
        let plan: RoutingPlan
        do throws(RoutingError) {
            plan = try routing.configuration.plan(
                model: body?.model ?? "", taskTypeHeader: request.headers[.xTaskType],
                taskTypeMetadata: body?.metadataTaskType, priorityHeader: request.headers[.xPriority],
                priorityMetadata: body?.metadataPriority, baseURLs: baseURLs)
        } catch {
            throw Rejection(error: .routing(error), status: .clientError)
        }
        if let body {
            let routed = plan.decision.routedModel
            guard isKnown(model: routed, atMicros: call.event.startedAtMicros) else {
                throw Rejection(error: .modelNotFound(routed), status: .clientError)
            }
            call.event.model = routed
            if body.model != routed { metrics.routed(requested: body.model ?? "", to: routed) }
        }
        // Providers without a key are left out of the chain; with none left, the call says which key is missing.
        let chain = plan.chain.filter { providersByName[$0.name]?.apiKey != nil }
        guard !chain.isEmpty else {
            let primary = plan.chain.first.flatMap { providersByName[$0.name] } ?? configuration.providers.first
            call.event.provider = primary?.name
            call.event.providerKind = primary?.kind
            throw Rejection(error: .missingUpstreamKey(primary ?? .holysheep), status: .upstreamError)
        }

        // 4. Retries, backoff, circuit breakers, the priority pool and fallback, around one attempt per provider.
        let upstreamStart = ContinuousClock.now
        let bytes = body.map { ByteBuffer(bytes: $0.upstreamBytes(model: call.event.model)) }
        let wantsStream = body?.stream ?? false
        let source = call.event.keyID.map { "key:\($0)" } ?? ""
        let result = await routing.run(
            chain: chain, priority: plan.priority, model: plan.decision.routedModel, source: source
        ) { endpointInfo, _ in
            guard let provider = providersByName[endpointInfo.name] else { throw CancellationError() }
            return try await outcome(endpoint, provider: provider, body: bytes, stream: wantsStream)
        }
        call.event.attempts = result.attempts
        // A fallback also served when the primary was left out of the chain (no key configured for it).
        call.event.fallbackUsed =
            result.fallbackUsed || (result.error == nil && result.provider?.name != plan.chain.first?.name)
        call.event.queueWaitMicros = DurationText.microseconds(result.queueWait)
        call.event.inflightAtAdmission = result.inFlightAtAdmission
        if let provider = result.provider.flatMap({ providersByName[$0.name] }) {
            call.event.provider = provider.name
            call.event.providerKind = provider.kind
        }
        if let error = result.error {
            call.event.upstreamLatencyMicros = Self.micros(ContinuousClock.now - upstreamStart)
            routing.finish(result)
            return try await fail(error, reply: result.response, call: &call)
        }
        guard let reply = result.response else {
            routing.finish(result)
            throw Rejection(error: .routing(.cancelled), status: .cancelled)
        }
        let response = reply.response
        call.event.httpStatus = response.status
        call.event.upstreamRequestID = response.header("x-request-id")
        guard let whole = reply.body else {
            let release = routing.releaseOnce(result.lease)
            return stream(
                response, call: call, upstreamStart: upstreamStart,
                clientWantsUsage: body?.clientRequestedUsage ?? false, release: release)
        }
        routing.finish(result)
        return try await relayWhole(reply, body: whole, call: &call, upstreamStart: upstreamStart)
    }

    /// The whole request body, or nil when it has not all arrived within `timeout` (the reading is then cancelled).
    /// Throws the 413 rejection as soon as it grows past `limit`.
    static func readBody(_ body: RequestBody, limit: Int, within timeout: Duration) async throws -> ByteBuffer? {
        try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                var buffer = ByteBuffer()
                for try await var part in body {
                    guard buffer.readableBytes + part.readableBytes <= limit else {
                        throw Rejection(error: .tooLarge(limit: limit), status: .clientError)
                    }
                    buffer.writeBuffer(&part)
                }
                return buffer
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }

    /// Answers a call that routing could not complete: the provider's own error reply passed through unchanged when
    /// there is one for a plain HTTP status, otherwise the diagnosis in OpenAI's shape.
    private func fail(_ error: RoutingError, reply: UpstreamReply?, call: inout Call) async throws -> Response {
        if case .upstreamStatus = error, let reply, let body = reply.body {
            call.event.httpStatus = reply.response.status
            call.event.upstreamRequestID = reply.response.header("x-request-id")
            call.event.status = .upstreamError
            call.event.errorType = "upstream_http_\(reply.response.status)"
            try await record(&call)
            var headers = Self.relayedHeaders(reply.response.headers)
            addLedgerHeaders(&headers, call: call)
            return Response(
                status: HTTPResponse.Status(code: reply.response.status), headers: headers,
                body: ResponseBody(byteBuffer: body))
        }
        let status: CallStatus
        switch error {
        case .upstreamTimeout: status = .timeout
        case .cancelled: status = .cancelled
        case .emptyChain, .invalidPriority: status = .clientError
        default: status = .upstreamError
        }
        throw Rejection(error: .routing(error), status: status)
    }

    /// One attempt at `provider`, classified for ``ResilientCall``: error statuses and bodies that are not JSON
    /// are read whole (nothing has reached the client yet, so they may be retried or fallen back from).
    private func outcome(_ endpoint: OpenAIEndpoint, provider: ProviderConfiguration, body: ByteBuffer?, stream: Bool)
        async throws -> AttemptOutcome<UpstreamReply>
    {
        let response: UpstreamResponse
        // A reply relayed whole is read whole by the upstream client (one hand-off) within the provider's timeout;
        // a stream comes as it arrives, for as long as it keeps coming: the timeout bounds its silences instead.
        do {
            response = try await attempt(
                endpoint, provider: provider, body: body, wholeBodyLimit: stream ? nil : configuration.maxUpstreamBodyBytes,
                idleTimeout: stream)
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
        guard endpoint != .models else { return .success(reply) }
        // One scan both checks the reply is JSON (a garbled 2xx is retried or fallen back from) and finds its usage.
        let bytes = Array(whole.readableBytesView)
        guard let object = try? JSONObjectScan(bytes) else {
            return .failure(AttemptFailure(.malformedResponse("the reply body is not a JSON object")), response: nil)
        }
        reply.usage = OpenAIUsage.parse(object, in: bytes)
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

    /// One upstream attempt at `provider`: the seam where retries, fallback, the circuit breaker and the pool wrap.
    package func attempt(
        _ endpoint: OpenAIEndpoint, provider: ProviderConfiguration, body: ByteBuffer?, wholeBodyLimit: Int? = nil,
        idleTimeout: Bool = false
    ) async throws -> UpstreamResponse {
        var headers: [(name: String, value: String)] = [("Authorization", "Bearer \(provider.apiKey ?? "")")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        return try await upstream.send(
            UpstreamRequest(
                method: endpoint.method, url: provider.baseURL + endpoint.upstreamPath, headers: headers, body: body,
                connectTimeout: provider.connectTimeout, totalTimeout: provider.timeout, wholeBodyLimit: wholeBodyLimit,
                timeoutIsIdle: idleTimeout))
    }

    /// Non-streamed reply (already read whole): take its usage, record, then answer.
    private func relayWhole(
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

    /// Streamed reply: forward each SSE event as it completes, take the usage chunk (hidden when the client did not
    /// ask for it), record, and only then send `data: [DONE]` and the end of the body.
    private func stream(
        _ response: UpstreamResponse, call: Call, upstreamStart: ContinuousClock.Instant, clientWantsUsage: Bool,
        release: LeaseRelease
    ) -> Response {
        var headers = Self.relayedHeaders(response.headers)
        addLedgerHeaders(&headers, call: call)
        let initial = call
        let body = ResponseBody { [self] writer in
            defer { release() }
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
                        if !clientWantsUsage, let stripped = Self.removingNullUsage(event) {
                            out.writeBytes(stripped)
                            continue
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
            release()
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
            return ProxyError.ledgerUnavailable((error as? LedgerFailure)?.reason ?? "\(error)").response()
        }
        addLedgerHeaders(&response.headers, call: call)
        return response
    }

    /// Stamps the finish time and latency, then awaits the ledger's commit; metrics count the call with the cost
    /// the ledger recorded. Throws ``LedgerFailure`` when the row could not be committed.
    private func record(_ call: inout Call) async throws {
        call.event.finishedAtMicros = now()
        call.event.latencyMicros = Self.micros(ContinuousClock.now - call.start)
        let event = call.event
        let cost: Int64?
        do {
            cost = try await metrics.recording { try await recorder.recordCosted(event) }
        } catch {
            logger.error("ledger write failed", metadata: ["ledger.call.id": "\(event.id)", "error": "\(error)"])
            metrics.commitFailed()
            throw LedgerFailure(reason: "\(error)")
        }
        metrics.finished(event, costPicoUSD: cost)
    }

    /// `GET /v1/models`: every model priced now, plus the configured extra models, in OpenAI's list shape.
    private func listModels(call: inout Call) async throws -> Response {
        let ids = Set(prices.models(atMicros: call.event.startedAtMicros)).union(configuration.extraModels).sorted()
        let entries = ids.map {
            "{\"id\":\(JSONString.quote($0)),\"object\":\"model\",\"created\":0,\"owned_by\":\"holysheep-ledger\"}"
        }
        let text = "{\"object\":\"list\",\"data\":[\(entries.joined(separator: ","))]}\n"
        call.event.status = .ok
        call.event.httpStatus = 200
        try await record(&call)
        var headers: HTTPFields = [.contentType: "application/json"]
        addLedgerHeaders(&headers, call: call)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
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
