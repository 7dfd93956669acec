import HTTPTypes
package import Hummingbird
import Synchronization

/// A reply to an in-process call: status, headers and the whole body.
package struct InProcessReply: Sendable {
    package var status: Int
    package var headers: HTTPFields
    package var body: ByteBuffer
}

extension ProxyController {
    /// Sends one request through the proxy's pipeline without HTTP (the `batch` command): routing, retries, the
    /// pool, fallback and the ledger exactly as for a proxied call, and reads the whole reply.
    /// - Parameters:
    ///   - endpoint: the route (batch lines are chat completions).
    ///   - body: the JSON request body.
    ///   - headers: request headers (`X-Task-Type`, `X-Priority`, `X-Ledger-Tags`).
    package func callInProcess(_ endpoint: ProxyEndpoint, body: String, headers: HTTPFields) async -> InProcessReply {
        var fields = headers
        fields[.contentType] = "application/json"
        let head = HTTPRequest(
            method: endpoint.adapter.hasBody ? .post : .get, scheme: nil, authority: nil,
            path: endpoint.rawValue, headerFields: fields)
        let response = await handleTrusted(
            endpoint, request: Request(head: head, body: RequestBody(buffer: ByteBuffer(string: body))))
        let sink = BodySink()
        var reply = InProcessReply(status: Int(response.status.code), headers: response.headers, body: ByteBuffer())
        do { try await response.body.write(sink) } catch {
            // A stream that failed mid-way: what arrived is kept; the ledger row says how it ended.
        }
        reply.body = sink.collected
        return reply
    }
}

/// Collects a response body in memory.
private final class BodySink: ResponseBodyWriter, Sendable {
    private let buffer = Mutex(ByteBuffer())

    var collected: ByteBuffer { buffer.withLock { $0 } }

    func write(_ part: ByteBuffer) async throws {
        buffer.withLock { all in
            var part = part
            all.writeBuffer(&part)
        }
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
