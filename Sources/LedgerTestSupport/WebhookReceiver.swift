import Foundation
import Hummingbird
import LedgerBudgets
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A local webhook receiver on 127.0.0.1: answers 500 to the first `failFirst` POSTs, then 200; keeps every body.
package final class WebhookReceiver: Sendable {
    package let failFirst: Int
    private let received = Mutex<[(status: Int, body: String)]>([])

    package init(failFirst: Int) { self.failFirst = failFirst }

    package var requests: [(status: Int, body: String)] { received.withLock { $0 } }

    package func run<T: Sendable>(_ body: @Sendable (Int) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 1 << 16)
            let status = self.received.withLock { r -> Int in
                let status = r.count < self.failFirst ? 500 : 200
                r.append((status, String(buffer: bytes)))
                return status
            }
            return Response(status: HTTPResponse.Status(code: status))
        }
        var logger = Logger(label: "webhook-receiver")
        logger.logLevel = .critical
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            }, logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            let result: Result<T, any Error>
            do { result = .success(try await body(port)) } catch { result = .failure(error) }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return try result.get()
        }
    }
}

/// POSTs with URLSession-free plain sockets would be more code; the tests use the proxy's libcurl client through
/// this small adapter, as `serve` does (LedgerCLI's CurlWebhookPoster).
package struct TestPoster: WebhookPoster {
    package let send: @Sendable (String, [UInt8], [(name: String, value: String)]) async throws -> Int
    package init(send: @escaping @Sendable (String, [UInt8], [(name: String, value: String)]) async throws -> Int) {
        self.send = send
    }

    package func post(url: String, json: [UInt8], headers: [(name: String, value: String)]) async throws -> Int {
        try await send(url, json, headers)
    }
}

/// Waits for `condition` with a deadline (no sleeps as synchronisation: polls the condition itself).
package func waitUntil(
    _ what: String, timeout: Duration = .seconds(20), _ condition: @Sendable () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            struct Timeout: Error, CustomStringConvertible { var description: String }
            throw Timeout(description: "timed out waiting for \(what)")
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}
