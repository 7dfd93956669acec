import Foundation
import HTTPTypes
import Hummingbird
import LedgerCore

/// What `GET /reports` needs from outside the proxy: the CLI passes closures built on LedgerReports, so the proxy
/// itself holds no report code.
package struct ReportsEndpoint: Sendable {
    /// A rendered reply.
    package struct Reply: Sendable {
        package var contentType: String
        package var body: [UInt8]
        package init(contentType: String, body: [UInt8]) {
            self.contentType = contentType
            self.body = body
        }
    }

    /// A report request the caller got wrong (an unknown month, format...): answered 400 with this message.
    package struct BadRequest: Error, Sendable {
        package var message: String
        package init(_ message: String) { self.message = message }
    }

    /// nil when the secret is no valid key; false for a client key; true for an admin key.
    package var isAdmin: @Sendable (String) async -> Bool?
    /// The report for the query's parameters (`month`, `year`, `from`/`to`, `by`, `format`, `currency`, ...).
    package var render: @Sendable ([(String, String)]) async throws -> Reply
    /// The index page (links to the last 12 months).
    package var index: @Sendable () async throws -> Reply

    package init(
        isAdmin: @escaping @Sendable (String) async -> Bool?,
        render: @escaping @Sendable ([(String, String)]) async throws -> Reply,
        index: @escaping @Sendable () async throws -> Reply
    ) {
        self.isAdmin = isAdmin
        self.render = render
        self.index = index
    }
}

/// `GET /reports` (the index) and `GET /reports?month=...` (a report), behind an admin key: no key 401 (with a
/// Basic challenge, so a browser asks for it: any user name, the key as the password), a client key 403.
struct ReportsController {
    let endpoint: ReportsEndpoint

    func register(on router: Router<ProxyRequestContext>) {
        router.get("/reports") { request, _ in await handle(request) }
    }

    func handle(_ request: Request) async -> Response {
        guard let secret = Self.secret(request.headers[.authorization]) else {
            var response = ProxyError(
                status: .unauthorized,
                message: "Reports need an admin key: Authorization: Bearer hsl-... (or Basic with the key as "
                    + "password).", type: "invalid_request_error", code: "missing_api_key"
            ).response()
            response.headers[.wwwAuthenticate] = "Basic realm=\"holysheep-ledger reports\", charset=\"UTF-8\""
            return response
        }
        switch await endpoint.isAdmin(secret) {
        case nil:
            var response = ProxyError(
                status: .unauthorized, message: "The key is not valid (unknown or revoked).",
                type: "invalid_request_error", code: "invalid_api_key"
            ).response()
            response.headers[.wwwAuthenticate] = "Basic realm=\"holysheep-ledger reports\", charset=\"UTF-8\""
            return response
        case false?:
            return ProxyError(
                status: .forbidden, message: "Reports need an admin key (keys create --admin); this is a client key.",
                type: "permission_error", code: "admin_key_required"
            ).response()
        case true?:
            break
        }
        let query = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
        do {
            let reply = try await query.isEmpty ? endpoint.index() : endpoint.render(query)
            return Response(
                status: .ok, headers: [.contentType: reply.contentType, .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply.body)))
        } catch let error as ReportsEndpoint.BadRequest {
            return ProxyError(status: .badRequest, message: error.message, type: "invalid_request_error").response()
        } catch {
            return ProxyError(
                status: .internalServerError, message: "The report could not be made: \(error)", type: "server_error"
            ).response()
        }
    }

    /// The key of `Authorization: Bearer KEY` or `Authorization: Basic base64(user:KEY)`.
    static func secret(_ header: String?) -> String? {
        guard let header else { return nil }
        if header.count > 7, header.prefix(7).lowercased() == "bearer " {
            return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        if header.count > 6, header.prefix(6).lowercased() == "basic ",
            let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        {
            let password = String(text[text.index(after: colon)...])
            return password.isEmpty ? nil : password
        }
        return nil
    }
}
