package import Hummingbird

/// One HTTP request to an upstream provider, fully formed (URL, provider key, body).
package struct UpstreamRequest: Sendable {
    package var method: String
    package var url: String
    /// Header lines sent as is ("Authorization: Bearer …" included); never logged.
    package var headers: [(name: String, value: String)]
    package var body: ByteBuffer?
    /// Limit on establishing the connection (TCP + TLS).
    package var connectTimeout: Duration
    /// Limit on the whole transfer, body included; with `timeoutIsIdle`, on each silence instead.
    package var totalTimeout: Duration
    /// For streamed replies, which may run for minutes: `totalTimeout` bounds the wait for the first byte and every
    /// wait between two chunks (the read timeout of HTTP clients such as the OpenAI SDK's), not the whole transfer.
    package var timeoutIsIdle: Bool
    /// When set, the reply is wanted whole (a non-streamed call): the client may answer only once the body has
    /// arrived, with at most this many bytes (past it the transfer fails with `UpstreamError.bodyTooLarge`). One
    /// hand-off per call instead of one for the head and more for the body.
    package var wholeBodyLimit: Int?

    package init(
        method: String, url: String, headers: [(name: String, value: String)] = [], body: ByteBuffer? = nil,
        connectTimeout: Duration = .seconds(10), totalTimeout: Duration = .seconds(30), wholeBodyLimit: Int? = nil,
        timeoutIsIdle: Bool = false
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.wholeBodyLimit = wholeBodyLimit
        self.timeoutIsIdle = timeoutIsIdle
    }
}

/// An upstream's answer: status and headers at once, the body as it arrives.
package struct UpstreamResponse: Sendable {
    package var status: Int
    /// Header fields in arrival order (names as the upstream spelled them).
    package var headers: [(name: String, value: String)]
    /// Body chunks as they arrive (what arrived while the reader was busy comes as one chunk); throws
    /// `UpstreamError` when the transfer fails mid-way.
    package var body: UpstreamBody
    /// Aborts the transfer (the client went away). Idempotent; harmless after the body ended.
    package var cancel: @Sendable () -> Void
    /// The whole body, when the client read it before answering (`UpstreamRequest.wholeBodyLimit`); `body` then
    /// yields the same bytes.
    package var wholeBody: ByteBuffer?

    package init(
        status: Int, headers: [(name: String, value: String)], body: UpstreamBody,
        cancel: @escaping @Sendable () -> Void = {}
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.cancel = cancel
    }

    /// A reply whose body has already arrived whole.
    package init(status: Int, headers: [(name: String, value: String)], wholeBody: ByteBuffer) {
        self.init(status: status, headers: headers, body: .whole(wholeBody))
        self.wholeBody = wholeBody
    }

    /// The first header named `name` (case-insensitive).
    package func header(_ name: String) -> String? {
        headers.first { Self.sameName($0.name, name) }?.value
    }

    /// Whether two header names are equal ignoring ASCII case (byte by byte: no lowercased copies per lookup).
    static func sameName(_ a: String, _ b: String) -> Bool {
        let x = a.utf8
        let y = b.utf8
        guard x.count == y.count else { return false }
        var i = x.startIndex
        var j = y.startIndex
        while i != x.endIndex {
            let p = x[i]
            let q = y[j]
            // Equal ignoring case only as the same ASCII letter.
            if p != q, p | 0x20 != q | 0x20 || p | 0x20 < 0x61 || p | 0x20 > 0x7A { return false }
            x.formIndex(after: &i)
            y.formIndex(after: &j)
        }
        return true
    }

    /// The whole body, for non-streamed replies; fails with `UpstreamError.bodyTooLarge` past `limit` bytes.
    package func collectBody(upTo limit: Int) async throws -> ByteBuffer {
        if let wholeBody {
            guard wholeBody.readableBytes <= limit else { throw UpstreamError.bodyTooLarge(limit: limit) }
            return wholeBody
        }
        var all = ByteBuffer()
        for try await var chunk in body {
            guard all.readableBytes + chunk.readableBytes <= limit else {
                cancel()
                throw UpstreamError.bodyTooLarge(limit: limit)
            }
            all.writeBuffer(&chunk)
        }
        return all
    }
}

/// Sends requests to upstream providers. `CurlUpstreamClient` is the real one; tests may use stubs.
///
/// One call is one attempt at one provider: retries, fallback and pooling are layered above it.
package protocol UpstreamClient: Sendable {
    /// Starts `request` and returns once the status line and headers have arrived.
    /// Cancelling the calling task before then aborts the transfer.
    func send(_ request: UpstreamRequest) async throws -> UpstreamResponse
}
