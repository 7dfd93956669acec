import LedgerRouting

/// The routes the proxy serves, in every dialect. A call's row records the route's template (`/v1/responses/{id}`),
/// never an id.
package enum ProxyEndpoint: String, Sendable, CaseIterable {
    case chatCompletions = "/v1/chat/completions"
    case completions = "/v1/completions"
    case embeddings = "/v1/embeddings"
    case models = "/v1/models"
    case responses = "/v1/responses"
    /// `GET` or `DELETE` one stored response.
    case response = "/v1/responses/{id}"
    case responseInputItems = "/v1/responses/{id}/input_items"
    case messages = "/v1/messages"
    case countTokens = "/v1/messages/count_tokens"

    /// The request path after the provider's base URL (which ends in "/v1"), for routes without a parameter.
    var upstreamPath: String { String(rawValue.dropFirst(3)) }

    /// The adapter that knows this route's wire dialect.
    package var adapter: any DialectAdapter {
        switch self {
        case .chatCompletions: ChatCompletionsAdapter.shared
        case .completions: CompletionsAdapter.shared
        case .embeddings: EmbeddingsAdapter.shared
        case .models: ModelsAdapter.shared
        case .responses: ResponsesAdapter.shared
        case .response, .responseInputItems: StoredResponsesAdapter.shared
        case .messages: MessagesAdapter.shared
        case .countTokens: CountTokensAdapter.shared
        }
    }

    /// The route a path belongs to, for error shapes and metrics (`/v1/responses/abc` → ``response``).
    package static func matching(path: String) -> ProxyEndpoint? {
        if let exact = ProxyEndpoint(rawValue: path) { return exact }
        guard path.hasPrefix("/v1/responses/") else { return nil }
        let rest = path.dropFirst("/v1/responses/".count)
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 1, !parts[0].isEmpty { return .response }
        if parts.count == 2, !parts[0].isEmpty, parts[1] == "input_items" { return .responseInputItems }
        return nil
    }
}
