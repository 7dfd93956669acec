import HTTPTypes
package import Hummingbird
import LedgerCore
import LedgerRouting

/// A request the proxy answers itself: one error type, rendered once per dialect (``response(shape:)``): OpenAI's
/// `{"error":{"message","type","param","code"}}` or Anthropic's `{"type":"error","error":{"type","message"}}`.
package struct ProxyError: Error, HTTPResponseError, CustomStringConvertible {
    package var status: HTTPResponse.Status
    package var message: String
    package var type: String
    package var param: String?
    package var code: String?
    /// Seconds for a `Retry-After` header (queue full, queue timeout, every circuit open).
    package var retryAfterSeconds: Int?

    package init(
        status: HTTPResponse.Status, message: String, type: String, param: String? = nil, code: String? = nil,
        retryAfterSeconds: Int? = nil
    ) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.retryAfterSeconds = retryAfterSeconds
    }

    package var description: String { "\(status.code) \(type): \(message)" }

    /// The `error_type` recorded on the call row: the code when there is one, else the type.
    package var recordedType: String { code ?? type }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }

    /// Anthropic's error `type` for this status (its API's own list).
    package var anthropicType: String {
        switch status.code {
        case 400, 415, 422: "invalid_request_error"
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404, 405: "not_found_error"
        case 408, 504: "timeout_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 529: "overloaded_error"
        default: status.code >= 500 ? "api_error" : "invalid_request_error"
        }
    }

    /// The JSON response in `shape`.
    package func response(shape: ErrorShape = .openai) -> Response {
        func literal(_ text: String?) -> String {
            guard let text else { return "null" }
            return JSONString.quote(text)
        }
        let body: String
        switch shape {
        case .openai:
            body =
                "{\"error\":{\"message\":\(literal(message)),\"type\":\(literal(type)),"
                + "\"param\":\(literal(param)),\"code\":\(literal(code))}}\n"
        case .anthropic:
            body =
                "{\"type\":\"error\",\"error\":{\"type\":\(literal(anthropicType)),\"message\":\(literal(message))}}\n"
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}

extension ProxyError {
    /// The ledger cannot commit rows: the call is not made (or, if its commit failed, not answered as a success).
    static func ledgerUnavailable(_ reason: String) -> ProxyError {
        ProxyError(
            status: .serviceUnavailable,
            message: "The ledger could not record this call (\(reason)); no upstream request is made until it can.",
            type: "server_error", code: "ledger_unavailable")
    }

    static func requestTimeout(_ limit: Duration) -> ProxyError {
        ProxyError(
            status: .requestTimeout,
            message: "The request body did not arrive within \(DurationText.format(limit)).",
            type: "invalid_request_error", code: "request_timeout")
    }

    static func invalidJSON() -> ProxyError {
        ProxyError(
            status: .badRequest,
            message: "We could not parse the JSON body of your request. The body must be a single JSON object.",
            type: "invalid_request_error")
    }

    static func missing(_ parameter: String) -> ProxyError {
        ProxyError(
            status: .badRequest, message: "Missing required parameter: '\(parameter)'.",
            type: "invalid_request_error", param: parameter, code: "missing_required_parameter")
    }

    static func invalidType(_ parameter: String, expected: Set<JSONKind>) -> ProxyError {
        let kinds = expected.sorted().map(\.rawValue).joined(separator: " or ")
        return ProxyError(
            status: .badRequest, message: "Invalid type for '\(parameter)': expected \(kinds).",
            type: "invalid_request_error", param: parameter, code: "invalid_type")
    }

    /// A spend budget refused the call before it went upstream.
    static func budgetExceeded(_ refusal: AdmissionRefusal) -> ProxyError {
        ProxyError(
            status: .tooManyRequests, message: refusal.message, type: "insufficient_quota", code: "budget_exceeded")
    }

    static func tooLarge(limit: Int) -> ProxyError {
        ProxyError(
            status: .contentTooLarge, message: "The request body exceeds the limit of \(limit) bytes.",
            type: "invalid_request_error", code: "request_too_large")
    }

    static func modelNotFound(_ model: String) -> ProxyError {
        ProxyError(
            status: .notFound,
            message:
                "The model '\(model)' does not exist: it is neither in the ledger's price book nor in the proxy configuration.",
            type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    static func invalidKey() -> ProxyError {
        ProxyError(
            status: .unauthorized,
            message:
                "Invalid or revoked API key. Send a ledger client key as 'Authorization: Bearer hsl-…' "
                + "(or 'x-api-key: hsl-…').",
            type: "invalid_request_error", code: "invalid_api_key")
    }

    static func notFound(path: String) -> ProxyError {
        ProxyError(
            status: .notFound, message: "Unknown path \(path).", type: "invalid_request_error", code: "not_found")
    }

    static func methodNotAllowed(_ method: String, path: String) -> ProxyError {
        ProxyError(
            status: .methodNotAllowed, message: "Method \(method) is not allowed on \(path).",
            type: "invalid_request_error", code: "method_not_allowed")
    }

    static func missingUpstreamKey(_ provider: ProviderConfiguration) -> ProxyError {
        ProxyError(
            status: .serviceUnavailable,
            message:
                "The proxy has no API key for provider '\(provider.name)' (\(provider.baseURL)): set the environment variable \(provider.keyVariables) and restart.",
            type: "server_error", code: "upstream_key_missing")
    }

    /// A routing failure with no provider reply to pass through: its diagnosis, OpenAI-shaped.
    static func routing(_ error: RoutingError) -> ProxyError {
        let status = error.httpStatus
        let type =
            status == 429 ? "requests" : status >= 500 ? "server_error" : "invalid_request_error"
        return ProxyError(
            status: HTTPResponse.Status(code: status), message: error.description, type: type,
            code: error.openAICode, retryAfterSeconds: error.retryAfterSeconds)
    }

    static func upstream(_ error: UpstreamError, provider: ProviderConfiguration) -> ProxyError {
        switch error {
        case .connectTimeout, .timeout, .idleTimeout:
            ProxyError(
                status: .gatewayTimeout, message: "Provider '\(provider.name)': \(error).", type: "server_error",
                code: "upstream_timeout")
        default:
            ProxyError(
                status: .badGateway, message: "Provider '\(provider.name)': \(error).", type: "server_error",
                code: "upstream_unavailable")
        }
    }
}
