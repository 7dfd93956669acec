import ArgumentParser
import Foundation
import HTTPTypes
import LedgerCore
import LedgerProxy
import LedgerRouting
import LedgerStore
import Logging
import Metrics
import NIOCore
import ServiceLifecycle
import Synchronization

/// `holysheep-ledger batch FILE.jsonl`: each line through the same router, pool and ledger as proxied calls.
struct Batch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a JSONL file of chat requests through the router, pool and ledger; results in input order.",
        discussion: """
            Each line is an OpenAI chat request ({"model":"auto","messages":[...]}), optionally with "task_type" \
            and "priority" (1-5), or an OpenAI Batch API line ({"custom_id":..., "body":{...}}). Every call is \
            routed, retried, fallen back and recorded in the ledger exactly as a proxied call is (tagged \
            source=batch). Results are written as JSONL in input order; a failing or malformed line is reported \
            (malformed lines by their line number) and does not stop the batch. Exits non-zero when any line failed. \
            A progress bar shows on stderr when it is a terminal.

            Examples:
              holysheep-ledger batch prompts.jsonl --output results.jsonl
              holysheep-ledger batch jobs.jsonl --concurrency 16 --db ledger.sqlite
              holysheep-ledger batch jobs.jsonl --config /etc/holysheep-ledger.ini
            """)

    @Argument(help: ArgumentHelp("JSONL file, one chat request per line.", valueName: "file"))
    var file: String

    @Option(help: "Lines in flight at once (the pool's limits still apply).")
    var concurrency: Int = 4

    @Option(help: ArgumentHelp("Write results here instead of standard output.", valueName: "path"))
    var output: String?

    @Option(help: ArgumentHelp("Configuration file (INI; see config/holysheep-ledger.example.ini).", valueName: "path"))
    var config: String?

    @OptionGroup var ledger: LedgerOptions

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
    }

    func run() async throws {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw ValidationError("cannot read \(file): \(error.localizedDescription)")
        }
        let lines = BatchFile.parse(text)
        let configuration = try ServeConfiguration.load(path: config, host: nil, port: nil)
        var logger = Logger(label: "holysheep-ledger")
        logger.logLevel = .warning
        let store = try await ledger.openForRecording(logger: logger, live: false)
        let recorder = CapturingRecorder(store.recorder)
        let upstream = try CurlUpstreamClient()
        defer { upstream.shutdown() }
        let controller = ProxyController(
            configuration: configuration, upstream: upstream, recorder: recorder, keys: store.keys,
            prices: store.prices, metrics: ProxyMetrics(factory: NOOPMetricsHandler.instance),
            routing: ProxyRouting(configuration: configuration.routing, clock: ContinuousClock()), logger: logger,
            now: { Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()) })
        let results = try await BatchSession.withWriter(store.service, logger: logger) {
            await BatchRunner.run(
                lines, concurrency: concurrency,
                send: { await BatchSession.send($0, controller: controller, recorder: recorder) },
                progress: BatchSession.progressPrinter())
        }
        let body = results.map { $0.jsonLine + "\n" }.joined()
        if let output {
            do { try body.write(toFile: output, atomically: true, encoding: .utf8) } catch {
                throw ValidationError("cannot write \(output): \(error.localizedDescription)")
            }
        } else {
            FileHandle.standardOutput.write(Data(body.utf8))
        }
        let failed = results.filter { !$0.succeeded }
        for result in failed {
            FileHandle.standardError.write(Data("line \(result.line): \(result.errorMessage ?? "failed")\n".utf8))
        }
        if !failed.isEmpty { throw ExitCode(1) }
    }
}

/// The wiring of one batch run: the ledger writer as a running service, each line through the proxy pipeline.
enum BatchSession {
    /// Runs `body` while `writer` runs as a service, then drains the writer (every row committed) before returning.
    static func withWriter<T: Sendable>(
        _ writer: any Service, logger: Logger, _ body: @Sendable () async -> T
    ) async throws -> T {
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [writer], gracefulShutdownSignals: [], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let result = await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        }
    }

    /// Sends one line through the controller in-process and describes the outcome from its ledger row.
    static func send(
        _ request: BatchRequest, controller: ProxyController, recorder: CapturingRecorder
    ) async
        -> BatchResult
    {
        var headers: HTTPFields = [:]
        headers[.ledgerTags] = "source=batch"
        if let taskType = request.taskType { headers[.xTaskType] = taskType }
        if let priority = request.priority { headers[.xPriority] = String(priority.value) }
        let reply = await controller.callInProcess(.chatCompletions, body: request.body, headers: headers)
        let callID = reply.headers[.ledgerCallID].flatMap { Int64($0) }
        let event = callID.flatMap { recorder.take($0) }
        let text = String(decoding: reply.body.readableBytesView, as: UTF8.self)
        var result = BatchResult(
            line: request.line, customID: request.customID, requestedModel: event?.requestedModel ?? request.model,
            model: event?.model, provider: event?.provider, httpStatus: reply.status, attempts: event?.attempts ?? 0,
            fallbackUsed: event?.fallbackUsed ?? false, latencyMicros: event?.latencyMicros, callID: callID)
        if (200..<300).contains(reply.status) && (event?.status ?? .ok) == .ok {
            result.responseJSON = text
        } else {
            let parsed = try? JSONScanner.parse(text)
            result.errorMessage =
                parsed?["error"]?["message"]?.stringValue ?? "HTTP \(reply.status)"
                + (event.map { " (\($0.status.rawValue))" } ?? "")
            result.errorCode = parsed?["error"]?["code"]?.stringValue ?? event?.errorType
        }
        return result
    }

    /// Draws the progress bar on stderr when it is a terminal; does nothing otherwise.
    static func progressPrinter() -> (Int, Int, Int) -> Void {
        guard isatty(STDERR_FILENO) != 0 else { return { _, _, _ in } }
        return { done, total, failed in
            let end = done == total ? "\n" : ""
            FileHandle.standardError.write(
                Data(("\r" + BatchProgress.bar(done: done, total: total, failed: failed) + end).utf8))
        }
    }
}

/// Records through the ledger writer and keeps each recorded row until the batch reads it back.
final class CapturingRecorder: UsageRecorder {
    private let writer: any UsageRecorder
    private let recorded = Mutex<[Int64: UsageEvent]>([:])

    init(_ writer: any UsageRecorder) { self.writer = writer }

    func reserveCallID() -> Int64 { writer.reserveCallID() }

    func record(_ event: UsageEvent) async throws {
        _ = try await recordCosted(event)
    }

    /// The writer's own cost and failure state, so batch lines fail closed exactly as proxied calls do.
    func recordCosted(_ event: UsageEvent) async throws -> Int64? {
        try await recordCosted(event, othersInProgress: false)
    }

    func recordCosted(_ event: UsageEvent, othersInProgress: Bool) async throws -> Int64? {
        let cost = try await writer.recordCosted(event, othersInProgress: othersInProgress)
        recorded.withLock { $0[event.id] = event }
        return cost
    }

    func commitFailure() async -> String? { await writer.commitFailure() }

    /// The row recorded under `id`, removed from memory.
    func take(_ id: Int64) -> UsageEvent? { recorded.withLock { $0.removeValue(forKey: id) } }
}
