/// What a cost report's rows are: `--by model|provider|team|key|day|tag:NAME`.
package enum ReportGrouping: Sendable, Hashable, CustomStringConvertible {
    case model, provider, team, key, day
    case tag(String)

    /// Parses "model", "team", "tag:project", ...
    package init(parsing text: String) throws(ReportError) {
        switch text {
        case "model": self = .model
        case "provider": self = .provider
        case "team": self = .team
        case "key": self = .key
        case "day": self = .day
        default:
            guard text.hasPrefix("tag:") else { throw .invalidGrouping(text) }
            let name = String(text.dropFirst(4))
            guard !name.isEmpty, !name.contains(","), !name.contains("=") else { throw .invalidGrouping(text) }
            self = .tag(name)
        }
    }

    /// The `:by` value the SQL expects.
    var sqlName: String {
        switch self {
        case .model: "model"
        case .provider: "provider"
        case .team: "team"
        case .key: "key"
        case .day: "day"
        case .tag: "tag"
        }
    }

    /// The tag name (`:tag`), "" unless grouping by a tag.
    var tagName: String { if case .tag(let name) = self { name } else { "" } }

    /// The first column's name in CSV and JSON: `model`, `team`, `tag_project`, ...
    package var columnName: String { if case .tag(let name) = self { "tag_" + name } else { sqlName } }

    /// The first column's header for people: "Model", "Team", "Tag project".
    package var label: String {
        if case .tag(let name) = self { return "Tag " + name }
        let s = sqlName
        return s.prefix(1).uppercased() + s.dropFirst()
    }

    package var description: String { if case .tag(let name) = self { "tag:" + name } else { sqlName } }
}
