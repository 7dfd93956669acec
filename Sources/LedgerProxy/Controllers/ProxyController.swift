import HTTPTypes
package import Hummingbird
package import LedgerCore
import LedgerRouting
import NIOCore
import Synchronization
package import Logging

/// The dialect-neutral call pipeline: authenticate, read the body, route, admit, call upstream (retries, breakers,
/// pool, fallback), relay, record exactly one call row, committed before the client gets the reply's last byte.
/// What differs between OpenAI chat, completions, embeddings, Responses and Anthropic Messages is asked of the
/// route's ``DialectAdapter``; the proxy never translates one dialect into another.
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
    /// Configured providers by name, their base URLs and what each serves (for routing plans).
    let providersByName: [String: ProviderConfiguration]
    let baseURLs: [String: String]
    let services: [String: ProviderService]
    /// Calls begun and not yet done with (see ``Call/inProgress``): what tells the ledger a lone call from one with
    /// company.
    let inProgress = CallsInProgress()

    /// - Parameters: as ``buildApplication(configuration:upstream:recorder:keys:prices:metrics:exposition:ledgerHealth:routing:reports:services:logger:now:)``.
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
        self.services = byName.mapValues(\.service)
    }

    /// An in-progress call: the row being filled, when the request arrived, and what admission granted.
    struct Call: Sendable {
        var event: UsageEvent
        let start: ContinuousClock.Instant
        /// Settled once the row is committed.
        var admission: Admission? = nil
        /// The model id sent to the provider that answered.
        var upstreamModel: String? = nil
        /// Counts this call in ``ProxyController/inProgress`` until its last copy is gone (the reply written), so
        /// no path out of the pipeline, however it ends, can leave it counted.
        let inProgress: CallsInProgress.Entry
    }

    /// Starts a call row for a request (reserving its id).
    func begin(endpoint: String, request: Request) -> Call {
        let event = UsageEvent(
            id: recorder.reserveCallID(), startedAtMicros: now(), finishedAtMicros: 0, endpoint: endpoint,
            status: .clientError, latencyMicros: 0,
            tags: Self.normalisedTags(request.headers[.ledgerTags]))
        return Call(event: event, start: ContinuousClock.now, inProgress: inProgress.enter())
    }

    /// Serves one route. If the client goes away while the call waits (for the pool, a retry or the upstream), the
    /// call is cancelled (its connection's task is: ``CancellableHTTP1Channel``): the upstream transfer is aborted
    /// and the row recorded as cancelled. Once a streamed reply has started, a failed write to the client, or the
    /// client's close, does the same.
    func handle(_ endpoint: ProxyEndpoint, request: Request, context: ProxyRequestContext) async -> Response {
        guard let channel = context.channel, let connection = ClientConnections.connection(for: channel) else {
            return await serve(endpoint, request: request, authenticate: true, connection: nil)
        }
        // The connection's task, which this runs in, is the one its close cancels (CancellableHTTP1Channel).
        var response = await serve(endpoint, request: request, authenticate: true, connection: connection)
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
    /// without a client key and attributed by `X-Ledger-Tags`). Same routing, pool and ledger as proxied calls;
    /// no admission (admission budgets client keys).
    package func handleTrusted(_ endpoint: ProxyEndpoint, request: Request) async -> Response {
        await serve(endpoint, request: request, authenticate: false, connection: nil)
    }

    private func serve(
        _ endpoint: ProxyEndpoint, request: Request, authenticate: Bool, connection: ClientConnection?
    ) async -> Response {
        let adapter = endpoint.adapter
        // Fail closed: while the ledger cannot commit, a call would be paid upstream and then go unrecorded.
        if let reason = await recorder.commitFailure() {
            metrics.refusedUnrecordable()
            return ProxyError.ledgerUnavailable(reason).response(shape: adapter.errorShape)
        }
        var call = begin(endpoint: endpoint.rawValue, request: request)
        do {
            return try await proxy(
                endpoint, adapter: adapter, request: request, call: &call, authenticate: authenticate,
                connection: connection)
        } catch let failure as LedgerFailure {
            // The row could not be committed: one 503, and no second (usage-less) row for the same call.
            return ProxyError.ledgerUnavailable(failure.reason).response(shape: adapter.errorShape)
        } catch let rejection as Rejection {
            return await reject(rejection.error, status: rejection.status, call: call, shape: adapter.errorShape)
        } catch {
            logger.error("proxy failure", metadata: ["ledger.call.id": "\(call.event.id)", "error": "\(error)"])
            return await reject(
                ProxyError(status: .internalServerError, message: "Internal error.", type: "server_error"),
                status: .upstreamError, call: call, shape: adapter.errorShape)
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
        _ endpoint: ProxyEndpoint, adapter: any DialectAdapter, request: Request, call: inout Call,
        authenticate: Bool, connection: ClientConnection?
    ) async throws -> Response {
        // 1. Who is calling.
        if authenticate {
            guard let secret = Self.clientSecret(request.headers) else {
                throw Rejection(error: .invalidKey(), status: .clientError)
            }
            let identity: ClientIdentity
            switch await keys.check(secret: secret) {
            case .valid(let valid):
                identity = valid
            case .unverifiable(let reason):
                // A key that could not be looked up (the ledger's server is down) is not a wrong key: 503, as for
                // any call the ledger cannot take, not 401, even if the server is back by now.
                metrics.refusedUnrecordable()
                throw LedgerFailure(reason: reason)
            case .invalid:
                // A verifier whose failed lookup only marks the ledger failing: still the ledger's 503.
                if let reason = await recorder.commitFailure() {
                    metrics.refusedUnrecordable()
                    throw LedgerFailure(reason: reason)
                }
                throw Rejection(error: .invalidKey(), status: .clientError)
            }
            call.event.keyID = identity.keyID
            call.event.team = identity.team
        }

        // The model list comes from the price book, not the upstream: it never waits on a provider or its circuit.
        if endpoint == .models {
            return try await listModels(call: &call, anthropic: request.headers.first(.anthropicVersion) != nil)
        }

        // 2. What they ask for.
        var body: OpenAIRequestBody? = nil
        var clientBuffer = ByteBuffer()
        var bodyBytes = 0
        if adapter.hasBody {
            let limit = configuration.maxBodyBytes
            let length = request.headers.first(.contentLength).flatMap(Int.init)
            if let length, length > limit {
                throw Rejection(error: .tooLarge(limit: limit), status: .clientError)
            }
            guard
                let buffer = try await Self.readBody(
                    request.body, limit: limit, within: configuration.bodyTimeout, connection: connection,
                    expectedBytes: length)
            else {
                connection?.closeAfterResponse()
                throw Rejection(error: .requestTimeout(configuration.bodyTimeout), status: .clientError)
            }
            bodyBytes = buffer.readableBytes
            clientBuffer = buffer
            let parsed: OpenAIRequestBody
            do { parsed = try OpenAIRequestBody(bytes: Array(buffer.readableBytesView)) } catch {
                throw Rejection(error: .invalidJSON(), status: .clientError)
            }
            call.event.stream = parsed.stream
            guard let model = parsed.model, !model.isEmpty else {
                throw Rejection(error: .missing("model"), status: .clientError)
            }
            call.event.requestedModel = model
            do throws(ProxyError) { try adapter.validate(parsed) } catch {
                throw Rejection(error: error, status: .clientError)
            }
            body = parsed
        }

        // 3. Which model and which providers: `auto` and aliases routed by task type; only providers serving the
        // model in this dialect; the priority for the pool.
        let chain: [ProviderEndpoint]
        let priority: RequestPriority
        var routed: String? = nil
        if let body {
            let plan: RoutingPlan
            do throws(RoutingError) {
                plan = try routing.configuration.plan(
                    model: body.model ?? "", taskTypeHeader: request.headers.first(.xTaskType),
                    taskTypeMetadata: body.metadataTaskType, priorityHeader: request.headers.first(.xPriority),
                    priorityMetadata: body.metadataPriority, baseURLs: baseURLs, dialect: adapter.dialect,
                    services: services)
            } catch {
                throw Rejection(error: .routing(error), status: .clientError)
            }
            let model = plan.decision.routedModel
            if adapter.billable {
                guard isKnown(model: model, atMicros: call.event.startedAtMicros) else {
                    throw Rejection(error: .modelNotFound(model), status: .clientError)
                }
                call.event.model = model
            }
            if body.model != model { metrics.routed(requested: body.model ?? "", to: model) }
            routed = model
            chain = plan.chain
            priority = plan.priority
        } else {
            chain = routing.configuration.chain(accepting: adapter.dialect, baseURLs: baseURLs, services: services)
            priority = routing.configuration.defaultPriority
            guard !chain.isEmpty else {
                let names = routing.configuration.defaultChain.filter { baseURLs[$0] != nil }
                throw Rejection(
                    error: .routing(.modelNotServed(model: "", dialect: adapter.dialect.rawValue, providers: names)),
                    status: .clientError)
            }
        }
        // Providers without a key are left out of the chain; with none left, the call says which key is missing.
        let keyed = chain.filter { providersByName[$0.name]?.apiKey != nil }
        guard !keyed.isEmpty else {
            let primary = chain.first.flatMap { providersByName[$0.name] } ?? configuration.providers.first
            call.event.provider = primary?.name
            call.event.providerKind = primary?.kind
            throw Rejection(error: .missingUpstreamKey(primary ?? .holysheep), status: .upstreamError)
        }

        // 4. Admission (spend budgets): once, before any upstream request.
        if adapter.billable, let admission = configuration.admission, let keyID = call.event.keyID {
            let asked = AdmissionRequest(
                keyID: keyID, team: call.event.team, tags: call.event.tags, model: call.event.model ?? "",
                bodyBytes: bodyBytes, maxOutputTokens: body.flatMap { adapter.maxOutputTokens($0) },
                atMicros: call.event.startedAtMicros)
            do throws(AdmissionRefusal) { call.admission = try await admission.admit(asked) } catch {
                throw Rejection(error: .budgetExceeded(error), status: .clientError)
            }
        }

        // 5. Retries, backoff, circuit breakers, the priority pool and fallback, around one attempt per provider.
        let upstreamStart = ContinuousClock.now
        let bodies = body.map { UpstreamBodies(body: $0, original: clientBuffer, adapter: adapter) }
        let target = UpstreamTarget(
            method: request.method.rawValue, path: Self.upstreamPath(endpoint, request: request),
            forwarded: adapter.forwardedHeaders(request), dialect: adapter.dialect)
        let wantsStream = body?.stream ?? false
        let source = call.event.keyID.map { "key:\($0)" } ?? ""
        let routedModel = routed
        let result = await routing.run(chain: keyed, priority: priority, model: routedModel ?? "", source: source) {
            endpointInfo, _ in
            guard let provider = providersByName[endpointInfo.name] else { throw CancellationError() }
            let buffer = bodies?.buffer(for: routedModel.map { provider.service.upstreamModel(for: $0) })
            return try await outcome(adapter, target, provider: provider, body: buffer, stream: wantsStream)
        }
        call.event.attempts = result.attempts
        // A fallback also served when the primary was left out of the chain (no key configured for it).
        call.event.fallbackUsed =
            result.fallbackUsed || (result.error == nil && result.provider?.name != chain.first?.name)
        call.event.queueWaitMicros = DurationText.microseconds(result.queueWait)
        call.event.inflightAtAdmission = result.inFlightAtAdmission
        if let provider = result.provider.flatMap({ providersByName[$0.name] }) {
            call.event.provider = provider.name
            call.event.providerKind = provider.kind
            call.upstreamModel = routed.map { provider.service.upstreamModel(for: $0) }
            call.event.upstreamModel = call.upstreamModel
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
        call.event.upstreamRequestID = Self.requestID(response)
        guard let whole = reply.body else {
            let release = routing.releaseOnce(result.lease)
            return stream(
                response, call: call, upstreamStart: upstreamStart, relay: adapter.streamRelay(body),
                release: release)
        }
        routing.finish(result)
        return try await relayWhole(reply, body: whole, call: &call, upstreamStart: upstreamStart)
    }

    /// The whole request body, or nil when it has not all arrived within `timeout`. Throws the 413 rejection as soon
    /// as it grows past `limit`, and the cancelled rejection when the call is cancelled (the client left) first.
    ///
    /// On a client connection whose requests have all arrived whole (the usual case: a JSON body in the same reads
    /// as its head), the body is read at once, with no timer and no task. While a body is still arriving (a slow or
    /// large upload), it is read in a task of its own that a timer on the connection's event loop cancels at the
    /// deadline; the calling task, the connection's, goes on to answer 408. A cancelled NIO timer is gone at once (a
    /// cancelled `Task.sleep` keeps its timer, and its task's memory, until the deadline: ~0.5 KiB per call for 30 s).
    /// The reading and the timer settle who won with one atomic exchange, so a timer that fires just as the body
    /// completes cancels nothing.
    ///
    /// `expectedBytes` (the request's `Content-Length`, already checked against `limit`) sizes the buffer once, so
    /// a body arriving in many parts is not copied again each time the buffer grows.
    static func readBody(
        _ body: RequestBody, limit: Int, within timeout: Duration, connection: ClientConnection? = nil,
        expectedBytes: Int? = nil
    ) async throws -> ByteBuffer? {
        @Sendable func collect() async throws -> ByteBuffer {
            var buffer = ByteBuffer()
            if let expectedBytes, expectedBytes > 0, expectedBytes <= limit { buffer.reserveCapacity(expectedBytes) }
            for try await var part in body {
                guard buffer.readableBytes + part.readableBytes <= limit else {
                    throw Rejection(error: .tooLarge(limit: limit), status: .clientError)
                }
                buffer.writeBuffer(&part)
            }
            return buffer
        }
        if let connection, !connection.bodyStillArriving {
            // Every request seen on this connection, this one included, is wholly in: the body is buffered and
            // reading it cannot wait for the client, so no timer (arming and cancelling one from this thread would
            // wake the connection's event loop twice per call).
            let buffer = try await collect()
            if Task.isCancelled { throw Rejection(error: .routing(.cancelled), status: .cancelled) }
            return buffer
        }
        if let connection, let eventLoop = connection.eventLoop {
            // Still arriving: read in a task of its own, which the timer cancels at the deadline. (The calling task
            // is the connection's, which must stay able to write the 408; the client leaving cancels both.)
            let race = BodyDeadline()
            let reader = Task { try await collect() }
            let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
            let timer = eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
                if race.expire() { reader.cancel() }
            }
            defer { timer.cancel() }
            let buffer: ByteBuffer
            do {
                buffer = try await withTaskCancellationHandler { try await reader.value } onCancel: { reader.cancel() }
            } catch {
                if !race.finish() { return nil }
                if Task.isCancelled { throw Rejection(error: .routing(.cancelled), status: .cancelled) }
                throw error
            }
            // The timer fired first: the reader was cancelled and the body may be cut short.
            guard race.finish() else { return nil }
            if Task.isCancelled { throw Rejection(error: .routing(.cancelled), status: .cancelled) }
            return buffer
        }
        let buffer = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask { try await collect() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        // Cancelled (the client left) rather than timed out: recorded as such.
        if buffer == nil, Task.isCancelled { throw Rejection(error: .routing(.cancelled), status: .cancelled) }
        return buffer
    }

    /// Answers a call that routing could not complete: the provider's own error reply passed through unchanged when
    /// there is one for a plain HTTP status, otherwise the diagnosis in the caller's error shape.
    private func fail(_ error: RoutingError, reply: UpstreamReply?, call: inout Call) async throws -> Response {
        if case .upstreamStatus = error, let reply, let body = reply.body {
            call.event.httpStatus = reply.response.status
            call.event.upstreamRequestID = Self.requestID(reply.response)
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
        case .emptyChain, .invalidPriority, .modelNotServed: status = .clientError
        default: status = .upstreamError
        }
        throw Rejection(error: .routing(error), status: status)
    }

    /// Records a refused call and answers with the error in the caller's shape.
    func reject(_ error: ProxyError, status: CallStatus, call: Call, shape: ErrorShape = .openai) async -> Response {
        var call = call
        call.event.status = status
        call.event.httpStatus = Int(error.status.code)
        call.event.errorType = error.recordedType
        call.event.usage = nil
        var response = error.response(shape: shape)
        do { try await record(&call) } catch {
            return ProxyError.ledgerUnavailable((error as? LedgerFailure)?.reason ?? "\(error)").response(shape: shape)
        }
        addLedgerHeaders(&response.headers, call: call)
        return response
    }

    /// Stamps the finish time and latency, then awaits the ledger's commit; metrics count the call with the cost
    /// the ledger recorded, and admission is settled with it. Throws ``LedgerFailure`` when the row could not be
    /// committed (admission is then settled with no cost, so nothing it holds leaks).
    func record(_ call: inout Call) async throws {
        call.event.finishedAtMicros = now()
        call.event.latencyMicros = Self.micros(ContinuousClock.now - call.start)
        let event = call.event
        let cost: Int64?
        do {
            // A call alone may have its row committed at once on this thread; one with company is queued, so that
            // rows arriving together share a transaction (at c=32, committing each alone cost 8-11% more CPU per
            // call: bench/README.md, "Caller commits").
            let othersInProgress = inProgress.count > 1
            cost = try await metrics.recording {
                try await recorder.recordCosted(event, othersInProgress: othersInProgress)
            }
        } catch {
            logger.error("ledger write failed", metadata: ["ledger.call.id": "\(event.id)", "error": "\(error)"])
            metrics.commitFailed()
            await settle(call, paidPico: nil)
            throw LedgerFailure(reason: "\(error)")
        }
        metrics.finished(event, costPicoUSD: cost)
        await settle(call, paidPico: cost)
    }

    private func settle(_ call: Call, paidPico: Int64?) async {
        guard let admission = call.admission, let admitter = configuration.admission else { return }
        await admitter.settle(admission, paidPico: paidPico)
    }

    /// `GET /v1/models`: every model priced now, plus the configured extra models, in OpenAI's list shape, or in
    /// Anthropic's when the client sends `anthropic-version` (the Anthropic SDK's `models.list()`).
    private func listModels(call: inout Call, anthropic: Bool) async throws -> Response {
        let ids = Set(prices.models(atMicros: call.event.startedAtMicros)).union(configuration.extraModels).sorted()
        let text: String
        if anthropic {
            let entries = ids.map {
                "{\"type\":\"model\",\"id\":\(JSONString.quote($0)),\"display_name\":\(JSONString.quote($0)),"
                    + "\"created_at\":\"1970-01-01T00:00:00Z\"}"
            }
            let first = ids.first.map(JSONString.quote) ?? "null"
            let last = ids.last.map(JSONString.quote) ?? "null"
            text =
                "{\"data\":[\(entries.joined(separator: ","))],\"has_more\":false,\"first_id\":\(first),"
                + "\"last_id\":\(last)}\n"
        } else {
            let entries = ids.map {
                "{\"id\":\(JSONString.quote($0)),\"object\":\"model\",\"created\":0,\"owned_by\":\"holysheep-ledger\"}"
            }
            text = "{\"object\":\"list\",\"data\":[\(entries.joined(separator: ","))]}\n"
        }
        call.event.status = .ok
        call.event.httpStatus = 200
        try await record(&call)
        var headers: HTTPFields = [.contentType: "application/json"]
        addLedgerHeaders(&headers, call: call)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// Adds the proxy's own headers. `x-ledger-*` ones are appended (the fields they go on never hold one: relayed
    /// headers drop them, the proxy's own answers carry none), which spares a scan of every field per header.
    func addLedgerHeaders(_ headers: inout HTTPFields, call: Call) {
        headers.append(HTTPField(name: .ledgerCallID, value: String(call.event.id)))
        headers[.latencyMilliseconds] = String(Self.micros(ContinuousClock.now - call.start) / 1000)
        if let provider = call.event.provider { headers.append(HTTPField(name: .ledgerProvider, value: provider)) }
        if let model = call.upstreamModel { headers.append(HTTPField(name: .ledgerUpstreamModel, value: model)) }
        if let admission = call.admission {
            for (name, value) in admission.headers.sorted(by: { $0.key < $1.key }) {
                if let field = HTTPField.Name(name) { headers[field] = value }
            }
        }
    }

    private func isKnown(model: String, atMicros micros: Int64) -> Bool {
        configuration.extraModels.contains(model)
            || prices.price(model: model, kind: .holysheep, atMicros: micros) != nil
            || prices.price(model: model, kind: .official, atMicros: micros) != nil
    }
}

/// Who settled a request body first: its reading (``finish()``) or its timer (``expire()``), each asking once.
final class BodyDeadline: Sendable {
    private static let reading = 0
    private static let finished = 1
    private static let expired = 2
    private let state = Atomic<Int>(BodyDeadline.reading)

    /// The timer's side: true when it fired before the body was in (the reading task is then to be cancelled).
    func expire() -> Bool {
        state.compareExchange(expected: Self.reading, desired: Self.expired, ordering: .acquiringAndReleasing).exchanged
    }

    /// The reading's side: true when the body was in before the timer fired.
    func finish() -> Bool {
        state.compareExchange(expected: Self.reading, desired: Self.finished, ordering: .acquiringAndReleasing)
            .exchanged
    }
}

/// A count of the calls in progress in this process, each held by a ``Entry`` that counts while it lives.
final class CallsInProgress: Sendable {
    private let value = Atomic<Int>(0)

    /// Calls counted now.
    var count: Int { value.load(ordering: .relaxed) }

    /// Counts one more call until the returned entry is released.
    func enter() -> Entry { Entry(self) }

    final class Entry: Sendable {
        private let calls: CallsInProgress

        init(_ calls: CallsInProgress) {
            self.calls = calls
            calls.value.add(1, ordering: .relaxed)
        }

        deinit { calls.value.subtract(1, ordering: .relaxed) }
    }
}
