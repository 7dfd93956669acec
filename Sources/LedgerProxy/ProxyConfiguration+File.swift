import LedgerCore
import LedgerRouting

/// A configuration file that could not be read.
package struct ProxyConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    package var line: Int
    package var message: String
    package var description: String { "config line \(line): \(message)" }
}

extension ProxyConfiguration {
    /// Applies an INI-style configuration file (`config/holysheep-ledger.example.ini` documents every key) on top of
    /// `self`. `#` and `;` start comments. `[server]` sets listener and limits; each `[provider NAME]` section
    /// defines a provider (`base_url`, `kind`, `api_key_env`, `auth`, `dialects`, `models`, `model_map`, timeouts; a
    /// shipped provider's name starts from its defaults), and when the file has any, they replace the defaults in
    /// file order (first = primary).
    /// `[routing]`, `[retry]`, `[breaker]`, `[pool]` and `[fallback]` hold the routing settings: `key = value` in
    /// `[retry]` is the setting `retry.key` of `RoutingConfiguration(settings:)` (docs/routing.md).
    package func applying(file text: String) throws(ProxyConfigurationError) -> ProxyConfiguration {
        var result = self
        var providers: [ProviderConfiguration] = []
        var section = ""
        var routingSettings: [String: String] = [:]
        var routingLines: [String: Int] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            var line = Substring(rawLine)
            if let comment = line.firstIndex(where: { $0 == "#" || $0 == ";" }) { line = line[..<comment] }
            let trimmed = String(line).trimmingSpaces
            if trimmed.isEmpty { continue }
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]") else { throw ProxyConfigurationError(line: number, message: "unclosed [") }
                section = String(trimmed.dropFirst().dropLast()).trimmingSpaces
                if section.hasPrefix("provider ") || section.hasPrefix("provider.") {
                    let name = String(section.dropFirst("provider ".count)).trimmingSpaces
                    guard !name.isEmpty else {
                        throw ProxyConfigurationError(line: number, message: "provider needs a name")
                    }
                    let template = ProviderConfiguration.defaults[name]
                    providers.append(
                        template
                            ?? ProviderConfiguration(
                                name: name, baseURL: "", kind: .official,
                                apiKeyEnvironment: name.uppercased().replacing("-", with: "_") + "_API_KEY"))
                    section = "provider"
                } else if section != "server" && !Self.routingSections.contains(section) {
                    throw ProxyConfigurationError(line: number, message: "unknown section [\(section)]")
                }
                continue
            }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw ProxyConfigurationError(line: number, message: "expected key = value")
            }
            let key = String(trimmed[..<equals]).trimmingSpaces
            var value = String(trimmed[trimmed.index(after: equals)...]).trimmingSpaces
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            func integer() throws(ProxyConfigurationError) -> Int {
                guard let n = Int(value), n >= 0 else {
                    throw ProxyConfigurationError(
                        line: number, message: "\(key) must be a whole number, got '\(value)'")
                }
                return n
            }
            func seconds() throws(ProxyConfigurationError) -> Duration {
                guard let micros = try? CostCalculator.microUSD(parsing: value), micros > 0 else {
                    throw ProxyConfigurationError(line: number, message: "\(key) must be a positive number of seconds")
                }
                return .microseconds(micros)
            }
            if Self.routingSections.contains(section) {
                routingSettings[section + "." + key] = value
                routingLines[section + "." + key] = number
                continue
            }
            switch (section, key) {
            case ("server", "host"): result.host = value
            case ("server", "port"): result.port = try integer()
            case ("server", "max_body_bytes"): result.maxBodyBytes = try integer()
            case ("server", "drain_timeout_seconds"): result.drainTimeout = try seconds()
            case ("server", "body_timeout_seconds"): result.bodyTimeout = try seconds()
            case ("server", "idle_timeout_seconds"): result.idleTimeout = try seconds()
            case ("server", "models"):
                result.extraModels.formUnion(
                    value.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty })
            case ("provider", "base_url"):
                providers[providers.count - 1].baseURL = value.hasSuffix("/") ? String(value.dropLast()) : value
            case ("provider", "kind"):
                guard let kind = ProviderKind(rawValue: value) else {
                    throw ProxyConfigurationError(line: number, message: "kind must be official or holysheep")
                }
                providers[providers.count - 1].kind = kind
            case ("provider", "api_key_env"):
                // Naming another variable drops the shipped fallback names (OFFICIAL_API_KEY); naming the same keeps them.
                if providers[providers.count - 1].apiKeyEnvironment != value {
                    providers[providers.count - 1].apiKeyEnvironmentFallbacks = []
                }
                providers[providers.count - 1].apiKeyEnvironment = value
            case ("provider", "dialects"):
                do throws(RoutingError) {
                    let listed = try ProviderService.dialects(parsing: value)
                    providers[providers.count - 1].service.dialects = Set(listed)
                    providers[providers.count - 1].service.primaryDialect = listed[0]
                } catch {
                    throw ProxyConfigurationError(line: number, message: error.description)
                }
            case ("provider", "models"):
                do throws(RoutingError) {
                    providers[providers.count - 1].service.models = try ProviderService.models(parsing: value)
                } catch {
                    throw ProxyConfigurationError(line: number, message: error.description)
                }
            case ("provider", "model_map"):
                do throws(RoutingError) {
                    providers[providers.count - 1].service.modelMap = try ProviderService.modelMap(parsing: value)
                } catch {
                    throw ProxyConfigurationError(line: number, message: error.description)
                }
            case ("provider", "auth"):
                guard let auth = UpstreamAuth(rawValue: value.lowercased()) else {
                    throw ProxyConfigurationError(line: number, message: "auth must be bearer or x-api-key")
                }
                providers[providers.count - 1].auth = auth
            case ("provider", "connect_timeout_seconds"): providers[providers.count - 1].connectTimeout = try seconds()
            case ("provider", "timeout_seconds"): providers[providers.count - 1].timeout = try seconds()
            default:
                throw ProxyConfigurationError(
                    line: number,
                    message: "unknown key '\(key)'" + (section.isEmpty ? " outside a section" : " in [\(section)]"))
            }
        }
        do { result.routing = try RoutingConfiguration(settings: routingSettings) } catch {
            let line: Int
            switch error {
            case .invalidSetting(let key, _, _), .unknownSetting(let key): line = routingLines[key] ?? 0
            default: line = 0
            }
            throw ProxyConfigurationError(line: line, message: error.description)
        }
        if !providers.isEmpty {
            for provider in providers where provider.baseURL.isEmpty {
                throw ProxyConfigurationError(line: 0, message: "provider \(provider.name) has no base_url")
            }
            result.providers = providers
        }
        return result
    }

    /// Sets each provider's key from `environment` (the CLI passes the process environment).
    package func resolvingKeys(from environment: [String: String]) -> ProxyConfiguration {
        var result = self
        for index in result.providers.indices {
            let provider = result.providers[index]
            let names = [provider.apiKeyEnvironment] + provider.apiKeyEnvironmentFallbacks
            result.providers[index].apiKey = names.lazy.compactMap { environment[$0] }.first { !$0.isEmpty }
        }
        return result
    }
}

extension ProxyConfiguration {
    /// Sections whose keys are routing settings (`[retry] max_attempts` = `retry.max_attempts`).
    static let routingSections: Set<String> = ["routing", "retry", "breaker", "pool", "fallback"]
}

extension ProviderConfiguration {
    /// The built-in providers by name, used as templates for `[provider NAME]` sections.
    package static let defaults: [String: ProviderConfiguration] = Dictionary(
        uniqueKeysWithValues: shipped.map { ($0.name, $0) })
}
