/// Why an upstream attempt failed before or while its body arrived.
package enum UpstreamError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The connection could not be made (refused, DNS, TLS).
    case connectFailed(url: String, detail: String)
    /// The connect timeout fired.
    case connectTimeout(url: String, after: Duration)
    /// The total timeout fired.
    case timeout(url: String, after: Duration)
    /// A streamed reply sent nothing for this long (before its first byte or between chunks).
    case idleTimeout(url: String, after: Duration)
    /// The connection broke or the body ended early.
    case interrupted(url: String, detail: String)
    /// The transfer was cancelled (the client went away).
    case cancelled
    /// A body exceeded the limit the caller set.
    case bodyTooLarge(limit: Int)
    /// libcurl refused to start the transfer.
    case curl(code: Int, detail: String)
    /// The client was shut down.
    case shutDown

    package var description: String {
        switch self {
        case .connectFailed(let url, let detail): "could not connect to \(url): \(detail)"
        case .connectTimeout(let url, let after): "connect timeout (\(after)) to \(url)"
        case .timeout(let url, let after): "total timeout (\(after)) waiting for \(url)"
        case .idleTimeout(let url, let after): "idle timeout: no data for \(after) from \(url)"
        case .interrupted(let url, let detail): "transfer from \(url) was interrupted: \(detail)"
        case .cancelled: "upstream transfer cancelled"
        case .bodyTooLarge(let limit): "upstream body exceeds \(limit) bytes"
        case .curl(let code, let detail): "libcurl error \(code): \(detail)"
        case .shutDown: "the upstream client is shut down"
        }
    }

    /// True for a timeout of either kind.
    package var isTimeout: Bool {
        switch self {
        case .connectTimeout, .timeout, .idleTimeout: true
        default: false
        }
    }
}
