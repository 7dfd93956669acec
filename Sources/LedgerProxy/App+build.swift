import Foundation
import HTTPTypes
package import Hummingbird
import HummingbirdCore
package import LedgerCore
import LedgerRouting
import NIOCore
package import Logging
package import ServiceLifecycle

/// Renders the metrics registry as Prometheus text (the CLI passes swift-prometheus's registry).
package protocol MetricsExposition: Sendable {
    /// The current metrics in Prometheus text format.
    func render() -> String
}

/// Answers whether the ledger can record calls right now (for `/healthz`).
package protocol LedgerHealthCheck: Sendable {
    /// Nil when a write would succeed; otherwise why not (a failing commit, a lock that cannot be taken).
    func ledgerWriteFailure() async -> String?
}

/// Builds the proxy application. The caller adds services (the ledger writer) and runs it.
///
/// - Parameters:
///   - configuration: listener, limits and providers (keys resolved).
///   - upstream: sends requests to providers (`CurlUpstreamClient`).
///   - recorder: the ledger (`LedgerWriter`), or a fake.
///   - keys: verifies client `hsl-…` secrets.
///   - prices: decides which models are known and prices metrics.
///   - metrics: where counters go; `exposition` renders them at `/metrics`.
///   - ledgerHealth: checked by `/healthz` (unchecked when nil).
///   - routing: retries, breakers, pool and fallback shared by every request (default: built from
///     `configuration.routing` on the continuous clock; tests pass a test clock).
///   - reports: serves `GET /reports` behind admin keys (not served when nil).
///   - services: run before the server starts and stopped after it (the ledger writer: it drains last).
///   - now: wall-clock microseconds since 1970, injected for tests.
package func buildApplication(
    configuration: ProxyConfiguration,
    upstream: some UpstreamClient,
    recorder: some UsageRecorder,
    keys: some ClientKeyVerifier,
    prices: some PriceLookup,
    metrics: ProxyMetrics,
    exposition: (any MetricsExposition)? = nil,
    ledgerHealth: (any LedgerHealthCheck)? = nil,
    routing: ProxyRouting? = nil,
    reports: ReportsEndpoint? = nil,
    services: [any Service] = [],
    logger: Logger,
    now: @escaping @Sendable () -> Int64 = { Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()) }
) -> Application<RouterResponder<ProxyRequestContext>> {
    let routing = routing ?? ProxyRouting(configuration: configuration.routing, clock: ContinuousClock())
    let controller = ProxyController(
        configuration: configuration, upstream: upstream, recorder: recorder, keys: keys, prices: prices,
        metrics: metrics, routing: routing, logger: logger, now: now)
    let router = Router(context: ProxyRequestContext.self)
    router.add(middleware: OpenAIErrorMiddleware(controller: controller))
    for endpoint in [ProxyEndpoint.chatCompletions, .completions, .embeddings, .responses, .messages, .countTokens] {
        router.post(RouterPath(endpoint.rawValue)) { request, context in
            await controller.handle(endpoint, request: request, context: context)
        }
    }
    router.get("/v1/models") { request, context in
        await controller.handle(.models, request: request, context: context)
    }
    // Stored responses: passed through unbilled (the row records the route, not the id).
    router.get("/v1/responses/:id") { request, context in
        await controller.handle(.response, request: request, context: context)
    }
    router.delete("/v1/responses/:id") { request, context in
        await controller.handle(.response, request: request, context: context)
    }
    router.get("/v1/responses/:id/input_items") { request, context in
        await controller.handle(.responseInputItems, request: request, context: context)
    }
    router.get("/healthz") { _, _ in
        var ledger: String?? = nil
        if let ledgerHealth { ledger = .some(await ledgerHealth.ledgerWriteFailure()) }
        return healthResponse(configuration, ledger: ledger, circuits: routing.breakerSnapshots())
    }
    router.get("/metrics") { _, _ in
        metrics.publish(circuits: routing.breakerSnapshots(), pool: routing.poolSnapshot())
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: exposition?.render() ?? "")))
    }
    if let reports { ReportsController(endpoint: reports).register(on: router) }
    return Application(
        router: router,
        // One watcher per client connection, and the connection served in a task its close cancels: a call waiting
        // for its upstream is cancelled when its client leaves. Idle keep-alive connections close after
        // `idleTimeout`; a slow request body is bounded in the controller.
        server: HTTPServerBuilder { responder in
            CancellableHTTP1Channel(
                HTTP1Channel(
                    responder: responder,
                    configuration: .init(
                        additionalChannelHandlers: [ClientConnectionWatcher()],
                        idleTimeout: .nanoseconds(
                            configuration.idleTimeout.components.seconds * 1_000_000_000
                                + configuration.idleTimeout.components.attoseconds / 1_000_000_000))))
        },
        configuration: ApplicationConfiguration(
            address: .hostname(configuration.host, port: configuration.port), serverName: "holysheep-ledger"),
        services: services, logger: logger)
}

/// `/healthz`: 200 when the primary provider has a key and the ledger is writable, else 503; says what is missing.
/// `ledger` is nil when unchecked, `.some(nil)` when writable, `.some(reason)` when not.
private func healthResponse(
    _ configuration: ProxyConfiguration, ledger check: String??, circuits: [CircuitSnapshot]
) -> Response {
    let ledgerWritable: Bool? = check.map { $0 == nil }
    let missing = configuration.providersMissingKeys
    let providers = configuration.providers.map { provider in
        let key = provider.apiKey == nil ? "missing:" + provider.apiKeyEnvironment : "set"
        let circuit = circuits.first { $0.provider == provider.name }?.state.rawValue ?? "closed"
        return "{\"name\":\"\(provider.name)\",\"base_url\":\"\(provider.baseURL)\",\"key\":\"\(key)\","
            + "\"circuit\":\"\(circuit)\"}"
    }
    let ready = configuration.providers.first?.apiKey != nil && ledgerWritable != false
    let status = ready ? (missing.isEmpty ? "ok" : "degraded") : "unavailable"
    let ledger = ledgerWritable.map { $0 ? "writable" : "unwritable" } ?? "unchecked"
    let reason = (check ?? nil).map { ",\"ledger_error\":" + JSONString.quote($0) } ?? ""
    let body =
        "{\"status\":\"\(status)\",\"ledger\":\"\(ledger)\"\(reason),"
        + "\"providers\":[\(providers.joined(separator: ","))]}\n"
    return Response(
        status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
}

/// Turns the router's 404 for unknown paths and wrong methods into errors in the path's dialect (Anthropic's shape
/// under `/v1/messages`, OpenAI's elsewhere), recorded as client errors.
struct OpenAIErrorMiddleware: RouterMiddleware {
    typealias Context = ProxyRequestContext
    let controller: ProxyController

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound || error.status == .methodNotAllowed {
            let path = request.uri.path
            let endpoint = ProxyEndpoint.matching(path: path)
            let known = endpoint != nil || path == "/healthz" || path == "/metrics"
            let proxyError: ProxyError =
                known ? .methodNotAllowed(request.method.rawValue, path: path) : .notFound(path: path)
            let shape = endpoint?.adapter.errorShape ?? (path.hasPrefix("/v1/messages") ? .anthropic : .openai)
            let call = controller.begin(endpoint: endpoint?.rawValue ?? path, request: request)
            return await controller.reject(proxyError, status: .clientError, call: call, shape: shape)
        }
    }
}
