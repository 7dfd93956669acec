import ArgumentParser
import LedgerProxy
import LedgerRouting

/// `holysheep-ledger ping`: checks each configured provider with a tiny request in its own dialect (not recorded).
struct Ping: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a tiny request straight to each configured provider, in its own dialect (not recorded).",
        discussion: """
            Each vendor is asked in its own dialect with its own auth: Anthropic a Message (x-api-key, \
            anthropic-version), the OpenAI-compatible vendors a chat completion, each with the first seed model it \
            serves (gpt-4.1, claude-sonnet-4.5, gemini-2.5-flash, deepseek-v3.2) under its vendor's name. \
            Prints one line per provider: name, model, ok or FAILED, latency, and the reply or a diagnosis \
            (a wrong key or base_url, a timeout and its value, an unreachable host). Exits non-zero when any \
            provider fails. Keys come from the environment as for serve.

            Examples:
              holysheep-ledger ping
              holysheep-ledger ping --provider official --model gpt-4.1-mini
              holysheep-ledger ping --config /etc/holysheep-ledger.ini
            """)

    @Option(help: ArgumentHelp("Ping only this provider (a [provider NAME] of the config).", valueName: "name"))
    var provider: String?

    @Option(help: ArgumentHelp("The model to ask (default: the first seed model each provider serves).", valueName: "model"))
    var model: String?

    @Option(help: ArgumentHelp("Configuration file (INI; see config/holysheep-ledger.example.ini).", valueName: "path"))
    var config: String?

    func run() async throws {
        let configuration = try ServeConfiguration.load(path: config, host: nil, port: nil)
        let endpoints = configuration.providers.map { ProviderEndpoint(name: $0.name, baseURL: $0.baseURL) }
        let targets: [PingTarget]
        let services = Dictionary(configuration.providers.map { ($0.name, $0.service) }, uniquingKeysWith: { a, _ in a })
        do {
            targets = try PingPlan.targets(providers: endpoints, only: provider, model: model, services: services)
        } catch {
            throw ValidationError(error.description)
        }
        let upstream = try CurlUpstreamClient()
        defer { upstream.shutdown() }
        var results: [PingResult] = []
        for target in targets {
            guard let provider = configuration.providers.first(where: { $0.name == target.provider.name }) else {
                continue
            }
            let result = await ProviderPing.send(target, provider: provider, upstream: upstream)
            print(result.line)
            results.append(result)
        }
        let status = PingPlan.exitCode(results)
        if status != 0 { throw ExitCode(status) }
    }
}
