import Foundation
import Hummingbird
import LedgerTestSupport
import Testing

@testable import LedgerProxy

@Suite struct CurlUpstreamClientTests {
    private func chatBody(stream: Bool, fault: String? = nil) -> ByteBuffer {
        var json = #"{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"stream":\#(stream)"#
        if stream { json += #","stream_options":{"include_usage":true}"# }
        if let fault { json += #","x_stub_fault":"\#(fault)""# }
        return ByteBuffer(string: json + "}")
    }

    private func request(
        _ port: Int, path: String = "/v1/chat/completions", body: ByteBuffer?, total: Duration = .seconds(5)
    )
        -> UpstreamRequest
    {
        UpstreamRequest(
            method: body == nil ? "GET" : "POST", url: "http://127.0.0.1:\(port)\(path)",
            headers: [("Authorization", "Bearer upstream-secret"), ("Content-Type", "application/json")], body: body,
            connectTimeout: .seconds(2), totalTimeout: total)
    }

    @Test func returnsStatusHeadersAndWholeBodyOfAJSONReply() async throws {
        let stub = StubUpstream()
        try await stub.run { port in
            let client = try CurlUpstreamClient()
            defer { client.shutdown() }
            let response = try await client.send(request(port, body: chatBody(stream: false)))
            #expect(response.status == 200)
            #expect(response.header("X-Request-ID") == "req-stub-1")
            #expect(response.header("content-type") == "application/json")
            let body = String(buffer: try await response.collectBody(upTo: 1 << 20))
            #expect(body.contains(#""x_stub_unknown":{"kept":true}"#))
            #expect(body.contains(#""cached_tokens":3"#))
        }
        let received = try #require(stub.requests.first)
        #expect(received.authorization == "Bearer upstream-secret")
        #expect(String(decoding: received.body, as: UTF8.self) == String(buffer: chatBody(stream: false)))
    }

    @Test func streamsServerSentEventsInOrder() async throws {
        try await StubUpstream().run { port in
            let client = try CurlUpstreamClient()
            defer { client.shutdown() }
            let response = try await client.send(request(port, body: chatBody(stream: true)))
            #expect(response.status == 200)
            var text = ""
            for try await chunk in response.body { text += String(buffer: chunk) }
            let events = text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.count == 6)
            #expect(events.last == "data: [DONE]")
            #expect(events[4].contains(#""choices":[],"usage":{"prompt_tokens":11"#))
        }
    }

    @Test func passesUpstreamErrorStatusesThrough() async throws {
        try await StubUpstream().run { port in
            let client = try CurlUpstreamClient()
            defer { client.shutdown() }
            let response = try await client.send(request(port, body: chatBody(stream: false, fault: "status=503")))
            #expect(response.status == 503)
            #expect(String(buffer: try await response.collectBody(upTo: 1 << 20)).contains("stub_503"))
        }
    }

    @Test func reportsAConnectFailure() async throws {
        let client = try CurlUpstreamClient()
        defer { client.shutdown() }
        // Port 1 on loopback: nothing listens there.
        await #expect {
            _ = try await client.send(request(1, body: chatBody(stream: false)))
        } throws: { error in
            if case .connectFailed = error as? UpstreamError { return true }
            return false
        }
        #expect(client.activeTransfers == 0)
    }

    @Test func firesTheTotalTimeout() async throws {
        try await StubUpstream().run { port in
            let client = try CurlUpstreamClient()
            defer { client.shutdown() }
            await #expect(
                throws: UpstreamError.timeout(
                    url: "http://127.0.0.1:\(port)/v1/chat/completions", after: .milliseconds(150))
            ) {
                _ = try await client.send(
                    request(port, body: chatBody(stream: false, fault: "delay_ms=600"), total: .milliseconds(150)))
            }
            #expect(client.activeTransfers == 0)
        }
    }

    @Test func reportsASlowReplyOnAReusedConnectionAsATotalTimeoutNotAConnectTimeout() async throws {
        try await StubUpstream().run { port in
            let client = try CurlUpstreamClient()
            defer { client.shutdown() }
            // The first call opens the keep-alive connection; the second reuses it and then waits too long.
            let first = try await client.send(request(port, body: chatBody(stream: false)))
            _ = try await first.collectBody(upTo: 1 << 20)
            await #expect(
                throws: UpstreamError.timeout(
                    url: "http://127.0.0.1:\(port)/v1/chat/completions", after: .milliseconds(150))
            ) {
                _ = try await client.send(
                    request(port, body: chatBody(stream: false, fault: "delay_ms=600"), total: .milliseconds(150)))
            }
        }
    }

    @Test func deliversAWholeBodyAtOnceWhenAskedAndEnforcesItsLimit() async throws {
        try await StubUpstream().run { port in
            let client = try CurlUpstreamClient()
            defer { client.shutdown() }
            var whole = request(port, body: chatBody(stream: false))
            whole.wholeBodyLimit = 1 << 20
            let response = try await client.send(whole)
            #expect(response.status == 200)
            let body = try #require(response.wholeBody)
            #expect(String(buffer: body).contains(#""x_stub_unknown":{"kept":true}"#))
            // The stream view yields the same bytes.
            var streamed = ByteBuffer()
            for try await var chunk in response.body { streamed.writeBuffer(&chunk) }
            #expect(streamed == body)
            whole.wholeBodyLimit = 16
            await #expect(throws: UpstreamError.bodyTooLarge(limit: 16)) { _ = try await client.send(whole) }
            #expect(client.activeTransfers == 0)
        }
    }

    @Test func anIdleTimeoutEndsASilentStreamButNotABusyOne() async throws {
        try await StubUpstream().run { port in
            let client = try CurlUpstreamClient()
            defer { client.shutdown() }
            // Chunks 200 ms apart under a 1 s idle limit (0.8 s of margin for a loaded machine's stalls); the whole
            // stream (~1.2 s) runs past the limit, so only an idle timer lets it through.
            var busy = request(port, body: chatBody(stream: true, fault: "chunk_delay_ms=200"), total: .milliseconds(1000))
            busy.timeoutIsIdle = true
            let response = try await client.send(busy)
            var bytes = 0
            for try await chunk in response.body { bytes += chunk.readableBytes }
            #expect(bytes > 0)
            var silent = request(port, body: chatBody(stream: true, fault: "chunk_delay_ms=3000"), total: .milliseconds(200))
            silent.timeoutIsIdle = true
            let cut = try await client.send(silent)
            await #expect(
                throws: UpstreamError.idleTimeout(
                    url: "http://127.0.0.1:\(port)/v1/chat/completions", after: .milliseconds(200))
            ) {
                for try await _ in cut.body {}
            }
            #expect(client.activeTransfers == 0)
        }
    }

    @Test func reportsAStreamCutMidWay() async throws {
        try await StubUpstream().run { port in
            let client = try CurlUpstreamClient()
            defer { client.shutdown() }
            let response = try await client.send(request(port, body: chatBody(stream: true, fault: "cut_after=2")))
            var events = 0
            await #expect {
                for try await chunk in response.body {
                    events += String(buffer: chunk).components(separatedBy: "\n\n").count - 1
                }
            } throws: { error in
                if case .interrupted = error as? UpstreamError { return true }
                return false
            }
            #expect(events == 2)
        }
    }

    @Test func cancelsTheTransferWhenTheConsumerGoesAway() async throws {
        let stub = StubUpstream()
        try await stub.run { port in
            let client = try CurlUpstreamClient()
            defer { client.shutdown() }
            let response = try await client.send(
                request(port, body: chatBody(stream: true, fault: "chunk_delay_ms=100")))
            var iterator = response.body.makeAsyncIterator()
            _ = try await iterator.next()
            #expect(client.activeTransfers == 1)
            response.cancel()
            for _ in 0..<100 where client.activeTransfers > 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(client.activeTransfers == 0)
            // The stub's next write fails: the connection was closed, not left to finish.
            for _ in 0..<200 where stub.streamWriteFailures.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            #expect(stub.streamWriteFailures == [true])
        }
    }

    @Test func cancelsTheTransferWhenTheWaitingTaskIsCancelled() async throws {
        try await StubUpstream().run { port in
            let client = try CurlUpstreamClient()
            defer { client.shutdown() }
            let task = Task {
                try await client.send(request(port, body: chatBody(stream: false, fault: "delay_ms=2000")))
            }
            for _ in 0..<100 where client.activeTransfers == 0 { try await Task.sleep(for: .milliseconds(5)) }
            task.cancel()
            await #expect(throws: UpstreamError.cancelled) { _ = try await task.value }
            #expect(client.activeTransfers == 0)
        }
    }

    @Test func aClientStoppedTwiceNeverWritesToDescriptorsItNoLongerOwns() async throws {
        try await StubUpstream().run { port in
            // A stops and closes its descriptors; B's new sockets may then get the same numbers. A late stop() on A
            // (the deinit after an explicit shutdown) must not write its wake-up bytes into B's connections.
            let a = try CurlUpstreamClient()
            _ = try await a.send(request(port, path: "/v1/models", body: nil)).collectBody(upTo: 1 << 20)
            let b = try CurlUpstreamClient()
            defer { b.shutdown() }
            a.shutdown()
            try await Task.sleep(for: .milliseconds(50))
            for _ in 0..<20 {
                a.shutdown()
                let response = try await b.send(request(port, path: "/v1/models", body: nil))
                #expect(response.status == 200)
                #expect(String(buffer: try await response.collectBody(upTo: 1 << 20)).contains(#""object":"list""#))
            }
        }
    }

    @Test func servesManyConcurrentRequestsOverReusedConnections() async throws {
        let stub = StubUpstream()
        try await stub.run { port in
            let client = try CurlUpstreamClient()
            defer { client.shutdown() }
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        let response = try await client.send(request(port, path: "/v1/models", body: nil))
                        _ = try await response.collectBody(upTo: 1 << 20)
                        return response.status
                    }
                }
                for try await status in group { #expect(status == 200) }
            }
            #expect(client.activeTransfers == 0)
        }
        #expect(stub.requests.count == 40)
        #expect(stub.requests.allSatisfy { $0.method == "GET" && $0.path == "/v1/models" })
    }
}
