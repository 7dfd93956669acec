package import LedgerRouting

/// How the proxy answers a routing failure it has no provider reply for (docs/ARCHITECTURE.md, "Errors": routing
/// decides, the proxy maps outcomes to statuses and wire codes once, at the edge).
extension RoutingError {
    /// The HTTP status of the proxy's own answer.
    package var httpStatus: Int {
        switch self {
        case .upstreamAuthentication: 502
        case .upstreamTimeout: 504
        case .upstreamStatus(_, _, let status, _): status
        case .upstreamUnreachable, .upstreamMalformed, .failedAfterBytesSent: 502
        case .circuitOpen: 503
        case .queueFull, .queueTimeout: 429
        case .emptyChain, .modelNotServed: 404
        case .cancelled: 499
        case .invalidPriority, .malformedBatchLine: 400
        case .invalidSetting, .unknownSetting: 500
        }
    }

    /// The OpenAI error `code` (also the row's `error_type`).
    package var openAICode: String {
        switch self {
        case .upstreamAuthentication: "upstream_authentication_failed"
        case .upstreamTimeout: "upstream_timeout"
        case .upstreamStatus: "upstream_error"
        case .upstreamUnreachable: "upstream_unreachable"
        case .upstreamMalformed: "upstream_malformed_response"
        case .failedAfterBytesSent: "upstream_interrupted"
        case .circuitOpen: "upstream_circuit_open"
        case .queueFull, .queueTimeout: "rate_limit_exceeded"
        case .emptyChain: "model_not_found"
        case .modelNotServed: "model_not_served"
        case .cancelled: "cancelled"
        case .invalidPriority, .malformedBatchLine: "invalid_request_error"
        case .invalidSetting, .unknownSetting: "configuration_error"
        }
    }
}
