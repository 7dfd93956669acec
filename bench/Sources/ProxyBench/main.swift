// Proxy benchmark: the stub upstream directly vs through the proxy (ledger on, real SQLite file), non-streamed
// and streamed, at concurrency 1 and 64. Prints req/s, p50/p99 latency, the proxy's added latency (on streamed rows
// also its added time to first byte), and the proxy process's RSS and CPU time per request. Not a test: numbers
// depend on the machine.
//
//   swift run -c release ProxyBench [--requests N] [--soak N] [--ledger on|off|bare|budget]
//                                   [--only streamed|non-stream] [--concurrency N]
//                                   [--dialect chat|messages|responses|all]
//
// Dialects: OpenAI chat completions (the default rows), Anthropic Messages (`POST /v1/messages`, usage from
// message_start/message_delta with cache reads and writes) and the Responses API (`POST /v1/responses`, usage from
// response.completed); `--dialect all` (the default) runs each in turn. `--ledger bare` is chat only.
//
// `--ledger off` discards calls and uses a static key; `--ledger bare` replaces the proxy with a bare Hummingbird +
// libcurl relay, the floor that the proxy's own work sits on.
//
// The proxy runs in a child process (this binary with `proxy-child`), so its RSS is its own; the stub upstream
// and the load generator (libcurl, the same client the proxy uses) share this process.
import Foundation
import Hummingbird
import LedgerBudgets
import LedgerCore
import LedgerProxy
import LedgerStore
import LedgerTestSupport
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Synchronization
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// The client key for `--ledger off` (a static verifier). With the ledger on, the parent creates a real key in the
/// ledger and the proxy verifies it with `KeyStore` (salted SHA-256 lookup per request), as `serve` does.
let staticBenchKey = "hsl-bench-0000000000"

/// `--ledger bare`: not the proxy, the floor under it. A bare Hummingbird route that reads the body, sends it
/// upstream with the same libcurl client and relays the reply (no auth, routing, JSON, metrics or ledger): what
/// Hummingbird plus one libcurl hop cost on this machine before the proxy does any work of its own.
func runBareRelayChild(upstreamPort: Int, port: Int) async throws {
    let streamNeedle = Array(#""stream":true"#.utf8)
    var logger = Logger(label: "bare-relay")
    logger.logLevel = .warning
    let upstream = try CurlUpstreamClient()
    defer { upstream.shutdown() }
    let router = Router()
    router.get("/healthz") { _, _ in Response(status: .ok) }
    router.post("/v1/chat/completions") { request, _ -> Response in
        let body = try await request.body.collect(upTo: 1 << 20)
        // memchr and memcmp (LedgerCore's search): Foundation's generic `firstRange(of:)` cost ~58,000 instructions
        // per call on a two-word prompt and grew with the body (52 million on a 64 KiB prompt; bench/callgrind.py):
        // a floor fatter than the stack under it.
        let stream = body.withUnsafeReadableBytes { $0.firstOffset(of: streamNeedle) } != nil
        let reply = try await upstream.send(
            UpstreamRequest(
                method: "POST", url: "http://127.0.0.1:\(upstreamPort)/v1/chat/completions",
                headers: [("Authorization", "Bearer bench-upstream-key"), ("Content-Type", "application/json")],
                body: body, wholeBodyLimit: stream ? nil : 1 << 20))
        if let whole = reply.wholeBody { return Response(status: .ok, body: ResponseBody(byteBuffer: whole)) }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream"],
            body: ResponseBody { writer in
                for try await chunk in reply.body { try await writer.write(chunk) }
                try await writer.finish(nil)
            })
    }
    let app = Application(
        router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: port)),
        logger: logger)
    try await ServiceGroup(
        configuration: ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm], logger: logger)
    ).run()
}

/// The proxy as `serve` builds it, on a fixed port, until SIGTERM.
func runProxyChild(
    upstreamPort: Int, port: Int, databasePath: String, ledgerOn: Bool, budgeted: Bool, secret: String
) async throws {
    var logger = Logger(label: "proxy-bench")
    logger.logLevel = .warning
    let database = try LedgerDatabase(path: databasePath)
    let writer = try LedgerWriter(database: database, logger: logger)
    let upstream = try CurlUpstreamClient()
    defer { upstream.shutdown() }
    var configuration = ProxyConfiguration(
        host: "127.0.0.1", port: port,
        providers: [
            ProviderConfiguration(
                name: "holysheep", baseURL: "http://127.0.0.1:\(upstreamPort)/v1", kind: .holysheep,
                apiKeyEnvironment: "HOLYSHEEP_API_KEY", apiKey: "bench-upstream-key")
        ])
    let registry = PrometheusCollectorRegistry()
    let recorder: any UsageRecorder = ledgerOn ? writer : DiscardingRecorder()
    var services: [any Service] = [writer]
    let prices = try LivePriceBook(database: database)
    if budgeted {
        // `--ledger budget`: a team budget and a key budget over every call (never reached), as `serve` builds them.
        let store = BudgetStore(database: database)
        _ = try store.set(
            scope: .team("bench"), period: .month, limitPico: 1_000_000 * 1_000_000_000_000, action: .block,
            alertAtBasisPoints: [5_000, 8_000, 10_000], webhook: nil, nowMicros: 0)
        _ = try store.set(
            scope: .key(1), period: .day, limitPico: 1_000_000 * 1_000_000_000_000, action: .block,
            alertAtBasisPoints: [], webhook: nil, nowMicros: 0)
        let budgets = try LocalBudgets(
            store: store, prices: BudgetPriceBook(book: prices, kinds: [.holysheep]), poster: nil,
            metrics: PrometheusMetricsFactory(registry: registry), logger: logger,
            now: { Int64(Date().timeIntervalSince1970 * 1_000_000) })
        configuration.admission = budgets
        services.append(budgets)
    }
    let app = buildApplication(
        configuration: configuration, upstream: upstream, recorder: recorder,
        keys: BenchKeyVerifier(
            base: ledgerOn
                ? try KeyVerifier(database: database)
                : StaticKeyVerifier([secret: ClientIdentity(keyID: 1, name: "bench", team: nil)])),
        prices: prices,
        metrics: ProxyMetrics(factory: PrometheusMetricsFactory(registry: registry)),
        services: services, logger: logger)
    try await ServiceGroup(
        configuration: ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm], logger: logger)
    ).run()
}

/// The real key store (ledger on) or a static one (ledger off), behind one concrete type.
struct BenchKeyVerifier: ClientKeyVerifier {
    let base: any ClientKeyVerifier
    func verify(secret: String) async -> ClientIdentity? { await base.verify(secret: secret) }
}

/// `--ledger off`: isolates the proxy's own cost from the ledger's.
final class DiscardingRecorder: UsageRecorder {
    private let next = Mutex<Int64>(1)
    func reserveCallID() -> Int64 {
        next.withLock { id in
            defer { id += 1 }
            return id
        }
    }
    func record(_ event: UsageEvent) async throws {}
}

/// A port nothing listens on right now.
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// CPU time (user + system, all threads) `pid` has used, in microseconds, from /proc (clock-tick resolution).
func cpuMicros(_ pid: Int32) -> Int64 {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return 0 }
    // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let user = Int64(fields[11]), let system = Int64(fields[12]) else { return 0 }
    let ticks = Int64(sysconf(Int32(_SC_CLK_TCK)))
    return (user + system) * 1_000_000 / max(ticks, 1)
}

/// Context switches (voluntary + involuntary, summed over its threads) `pid` has made, from /proc: each is a thread
/// parking or being preempted, so a hand-off between threads per call shows here even when the machine is busy.
func contextSwitches(_ pid: Int32) -> Int64 {
    guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return 0 }
    var total: Int64 = 0
    for thread in threads {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/status", encoding: .utf8) else {
            continue
        }
        for line in status.split(separator: "\n")
        where line.hasPrefix("voluntary_ctxt_switches:") || line.hasPrefix("nonvoluntary_ctxt_switches:") {
            let value = line.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? ""
            total += Int64(value) ?? 0
        }
    }
    return total
}

/// Resident set size of `pid` in MiB, from /proc.
func rssMiB(_ pid: Int32) -> Double {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
    else { return .nan }
    return kib / 1024
}

struct Result {
    var requestsPerSecond: Double
    var p50: Double
    var p99: Double
    /// Median time from the request's start to the first byte of the reply's body (a stream's first event).
    var firstByteP50: Double
    var failures: Int
}

/// One wire dialect's request: its path and its bodies (not streamed, streamed).
struct Scenario {
    var name: String
    var path: String
    var body: String
    var streamBody: String
}

let scenarios = [
    Scenario(
        name: "chat", path: "/v1/chat/completions",
        body: #"{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}"#,
        streamBody: #"{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"stream":true}"#),
    Scenario(
        name: "messages", path: "/v1/messages",
        body: #"{"model":"claude-sonnet-4.5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}"#,
        streamBody:
            #"{"model":"claude-sonnet-4.5","max_tokens":64,"messages":[{"role":"user","content":"hi"}],"stream":true}"#),
    Scenario(
        name: "responses", path: "/v1/responses", body: #"{"model":"gpt-4.1","input":"hi"}"#,
        streamBody: #"{"model":"gpt-4.1","input":"hi","stream":true}"#),
]

/// Sends `total` requests over `concurrency` workers; latency is request start to the body's last byte, time to
/// first byte to its first.
func measure(
    _ client: CurlUpstreamClient, port: Int, secret: String, scenario: Scenario = scenarios[0], stream: Bool,
    concurrency: Int, total: Int
) async throws -> Result {
    let body = ByteBuffer(string: stream ? scenario.streamBody : scenario.body)
    let request = UpstreamRequest(
        method: "POST", url: "http://127.0.0.1:\(port)\(scenario.path)",
        headers: [("Authorization", "Bearer \(secret)"), ("Content-Type", "application/json")], body: body,
        connectTimeout: .seconds(5), totalTimeout: .seconds(30))
    let perWorker = total / concurrency
    let start = ContinuousClock.now
    let (latencies, firstBytes, failures) = try await withThrowingTaskGroup(of: ([Duration], [Duration], Int).self) {
        group in
        for _ in 0..<concurrency {
            group.addTask {
                var latencies: [Duration] = []
                var firstBytes: [Duration] = []
                latencies.reserveCapacity(perWorker)
                firstBytes.reserveCapacity(perWorker)
                var failures = 0
                for _ in 0..<perWorker {
                    let t0 = ContinuousClock.now
                    var firstByte: Duration?
                    do {
                        let response = try await client.send(request)
                        for try await _ in response.body where firstByte == nil { firstByte = ContinuousClock.now - t0 }
                        if response.status != 200 { failures += 1 }
                    } catch { failures += 1 }
                    let latency = ContinuousClock.now - t0
                    latencies.append(latency)
                    firstBytes.append(firstByte ?? latency)
                }
                return (latencies, firstBytes, failures)
            }
        }
        var all: [Duration] = []
        var firsts: [Duration] = []
        var failures = 0
        for try await (part, firstPart, failed) in group {
            all += part
            firsts += firstPart
            failures += failed
        }
        return (all.sorted(), firsts.sorted(), failures)
    }
    let elapsed = ContinuousClock.now - start
    func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
    func percentile(_ p: Double, of sorted: [Duration] = latencies) -> Double {
        ms(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))])
    }
    return Result(
        requestsPerSecond: Double(latencies.count) / (ms(elapsed) / 1000), p50: percentile(0.50), p99: percentile(0.99),
        firstByteP50: percentile(0.50, of: firstBytes), failures: failures)
}

func option(_ name: String) -> String? {
    guard let index = CommandLine.arguments.firstIndex(of: name), index + 1 < CommandLine.arguments.count else {
        return nil
    }
    return CommandLine.arguments[index + 1]
}


func option(_ name: String, default value: Int) -> Int { option(name).flatMap(Int.init) ?? value }

func runBenchmark() async throws {
    let requests = option("--requests", default: 20_000)
    let soak = option("--soak", default: 0)
    let mode = option("--ledger") ?? "on"
    guard ["on", "off", "bare", "budget"].contains(mode) else {
        print("--ledger takes on (default), off, bare or budget")
        return
    }
    let ledgerOn = mode == "on" || mode == "budget"
    // `--only streamed` / `--only non-stream` and `--concurrency 64` pick scenarios (for profiling one of them).
    let only = option("--only")
    let streamModes = only == "streamed" ? [true] : only == "non-stream" ? [false] : [false, true]
    let concurrencies = CommandLine.arguments.contains("--concurrency") ? [option("--concurrency", default: 64)] : [1, 64]
    let dialect = option("--dialect") ?? "all"
    let chosen = mode == "bare" ? [scenarios[0]] : scenarios.filter { dialect == "all" || $0.name == dialect }
    guard !chosen.isEmpty else {
        print("--dialect takes chat, messages, responses or all")
        return
    }
    let stub = StubUpstream(keepsRequests: false)
    try await stub.run { stubPort in
        let proxyPort = freePort()
        let ledger = TemporaryLedgerPath("proxy-bench")
        let secret =
            ledgerOn
            ? try KeyStore(database: LedgerDatabase(path: ledger.path)).create(name: "bench", team: "bench", nowMicros: 0)
                .secret
            : staticBenchKey
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["proxy-child", String(stubPort), String(proxyPort), ledger.path, mode, secret]
        try child.run()
        defer {
            child.terminate()
            child.waitUntilExit()
            ledger.remove()
        }
        let client = try CurlUpstreamClient()
        defer { client.shutdown() }
        var healthy = false
        for _ in 0..<200 where !healthy {
            let health = UpstreamRequest(method: "GET", url: "http://127.0.0.1:\(proxyPort)/healthz")
            if let response = try? await client.send(health), response.status == 200 {
                healthy = true
            } else {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        guard healthy else { throw CancellationError() }
        print(
            mode == "bare"
                ? "ProxyBench: stub upstream direct vs through a bare Hummingbird + libcurl relay (the floor; not the proxy)"
                : "ProxyBench: stub upstream direct vs through the holysheep-ledger proxy, ledger "
                    + (mode == "budget"
                        ? "on (SQLite WAL file), a team and a key budget over every call"
                        : ledgerOn ? "on (SQLite WAL file)" : "off (calls discarded)"))
        print(
            "requests per scenario: \(requests) (concurrency 1: \(requests / 10)); latency = request start to last byte;"
                + " TTFB = to the first byte of the body (streamed rows)"
        )
        print("")
        print(
            "dialect    mode        conc  target   req/s      p50 ms   p99 ms   fail  | added p50  added p99"
                + "  proxy RSS MiB  proxy CPU us/req  ctx sw/req  added TTFB p50")
        for scenario in chosen {
            for stream in streamModes {
                for concurrency in concurrencies {
                    let total = concurrency == 1 ? requests / 10 : requests
                    _ = try await measure(
                        client, port: stubPort, secret: secret, scenario: scenario, stream: stream,
                        concurrency: concurrency, total: min(total, 2000))
                    _ = try await measure(
                        client, port: proxyPort, secret: secret, scenario: scenario, stream: stream,
                        concurrency: concurrency, total: min(total, 2000))
                    let direct = try await measure(
                        client, port: stubPort, secret: secret, scenario: scenario, stream: stream,
                        concurrency: concurrency, total: total)
                    let cpuBefore = cpuMicros(child.processIdentifier)
                    let switchesBefore = contextSwitches(child.processIdentifier)
                    let proxied = try await measure(
                        client, port: proxyPort, secret: secret, scenario: scenario, stream: stream,
                        concurrency: concurrency, total: total)
                    let cpuPerRequest = Double(cpuMicros(child.processIdentifier) - cpuBefore) / Double(total)
                    let switchesPerRequest =
                        Double(contextSwitches(child.processIdentifier) - switchesBefore) / Double(total)
                    let mode = stream ? "streamed  " : "non-stream"
                    let name = scenario.name.padding(toLength: 9, withPad: " ", startingAt: 0)
                    func row(_ target: String, _ r: Result, _ tail: String) -> String {
                        String(
                            format: "%@  %@  %4d  %@  %8.0f  %7.3f  %7.3f  %5d  %@", name, mode, concurrency, target,
                            r.requestsPerSecond,
                            r.p50, r.p99, r.failures, tail)
                    }
                    // A stream's direct TTFB goes under the proxied row's, past its five added/RSS/CPU/ctx columns.
                    let directTTFB =
                        String(repeating: " ", count: 71) + String(format: "TTFB p50 %.3f ms", direct.firstByteP50)
                    print(row("direct ", direct, stream ? "| " + directTTFB : "|"))
                    print(
                        row(
                            "proxied", proxied,
                            String(
                                format: "| %+8.3f  %+9.3f  %8.1f  %11.0f  %10.2f  %@", proxied.p50 - direct.p50,
                                proxied.p99 - direct.p99, rssMiB(child.processIdentifier), cpuPerRequest,
                                switchesPerRequest,
                                stream
                                    ? String(
                                        format: "%+14.3f (TTFB p50 %.3f ms)",
                                        proxied.firstByteP50 - direct.firstByteP50, proxied.firstByteP50) : "")))
                }
            }
        }
        if soak > 0 {
            print("")
            print("soak: \(soak) non-streamed requests at concurrency 64 through the proxy; RSS every 10%")
            for step in 1...10 {
                let r = try await measure(
                    client, port: proxyPort, secret: secret, stream: false, concurrency: 64, total: soak / 10)
                print(
                    String(
                        format: "  %3d%%  %8.0f req/s  p99 %7.3f ms  fail %d  RSS %7.1f MiB", step * 10,
                        r.requestsPerSecond, r.p99, r.failures, rssMiB(child.processIdentifier)))
            }
        }
    }
}

if CommandLine.arguments.count >= 3 && CommandLine.arguments[1] == "stub" {
    // `ProxyBench stub PORT`: only the stub upstream, until killed (for an external load generator such as wrk
    // against `serve`, see bench/wrk.sh).
    let port = Int(CommandLine.arguments[2]) ?? 0
    try await StubUpstream(keepsRequests: false).run(port: port) { bound in
        FileHandle.standardOutput.write(Data("stub upstream on 127.0.0.1:\(bound)\n".utf8))
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
} else if CommandLine.arguments.count >= 7 && CommandLine.arguments[1] == "proxy-child" && CommandLine.arguments[5] == "bare" {
    try await runBareRelayChild(
        upstreamPort: Int(CommandLine.arguments[2]) ?? 0, port: Int(CommandLine.arguments[3]) ?? 0)
} else if CommandLine.arguments.count >= 7 && CommandLine.arguments[1] == "proxy-child" {
    try await runProxyChild(
        upstreamPort: Int(CommandLine.arguments[2]) ?? 0, port: Int(CommandLine.arguments[3]) ?? 0,
        databasePath: CommandLine.arguments[4],
        ledgerOn: CommandLine.arguments[5] == "on" || CommandLine.arguments[5] == "budget",
        budgeted: CommandLine.arguments[5] == "budget", secret: CommandLine.arguments[6])
} else {
    try await runBenchmark()
}
