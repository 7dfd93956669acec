/// The OpenAI routes the proxy serves.
package enum OpenAIEndpoint: String, Sendable, CaseIterable {
    case chatCompletions = "/v1/chat/completions"
    case completions = "/v1/completions"
    case embeddings = "/v1/embeddings"
    case models = "/v1/models"

    /// The path after the provider's base URL (which ends in "/v1").
    var upstreamPath: String { String(rawValue.dropFirst(3)) }

    /// The body member every request must carry besides `model`.
    var requiredMember: String? {
        switch self {
        case .chatCompletions: "messages"
        case .completions: "prompt"
        case .embeddings: "input"
        case .models: nil
        }
    }

    var method: String { self == .models ? "GET" : "POST" }
}
