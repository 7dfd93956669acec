import LedgerBudgets
import LedgerProxy
import NIOCore

/// Budget alerts' webhook POSTs through the proxy's libcurl client (no second HTTP stack).
struct CurlWebhookPoster: WebhookPoster {
    let client: any UpstreamClient

    func post(url: String, json: [UInt8], headers: [(name: String, value: String)]) async throws -> Int {
        let reply = try await client.send(
            UpstreamRequest(
                method: "POST", url: url, headers: headers.map { ($0.name, $0.value) },
                body: ByteBuffer(bytes: json), connectTimeout: .seconds(5), totalTimeout: .seconds(10),
                wholeBodyLimit: 64 * 1024))
        // The body is not needed, only read so the transfer completes.
        _ = try? await reply.collectBody(upTo: 64 * 1024)
        return reply.status
    }
}
