import Foundation
import HTTPTypes
package import Hummingbird
package import LedgerCore
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A fake upstream that speaks real HTTP on 127.0.0.1 in every dialect the proxy serves: deterministic JSON and SSE
/// OpenAI chat completions with usage, completions, embeddings and models; Anthropic Messages (cache reads and
/// 5m/1h cache writes in the usage) and token counting; the OpenAI Responses API (stored responses too); plus
/// injected faults. The `cut_after` fault cuts any stream after that many events.
///
/// Faults come from the `x-stub-fault` header or the body member `"x_stub_fault"` (so they pass through the proxy
/// unchanged), as comma-separated items: `status=500`, `delay_ms=50` (before the head), `chunk_delay_ms=20`
/// (between stream events), `cut_after=2` (drop the connection after 2 stream events), `no_usage`,
/// `retry_after=7` (a `Retry-After` header on a fault status), `reset` (answer 200 and drop the connection before
/// any body byte), `malformed` (answer 200 with a body that is not JSON), and `fail_first=N`: only the first N
/// requests carrying this exact fault text get the fault (delay, status, reset, malformed); later ones are served
/// normally, which is how "500, then success" is staged.
package final class StubUpstream: Sendable {
    /// One request as the stub received it.
    package struct Received: Sendable {
        package var method: String
        package var path: String
        package var authorization: String?
        package var body: [UInt8]
        /// Every request header, names lowercased.
        package var headers: [String: String] = [:]
        /// The body parsed as a JSON object, when it is one.
        package var json: [String: any Sendable]? {
            (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: any Sendable]
        }
    }

    /// Usage the stub reports for chat completions.
    package static let chatUsage = (prompt: 11, cached: 3, completion: 7, reasoning: 2)
    /// Usage the stub reports for embeddings.
    package static let embeddingTokens = 5
    /// Usage the stub reports for legacy completions.
    package static let completionUsage = (prompt: 4, completion: 6)
    /// The text a chat completion answers, split over three stream events.
    package static let chatPieces = ["Hel", "lo", "!"]

    private let received = Mutex<[Received]>([])
    /// Stream bodies whose writes have ended, and whether they ended because the writer failed (peer gone).
    private let streamOutcomes = Mutex<[Bool]>([])

    private let keepsRequests: Bool
    /// Requests seen per fault text, for `fail_first`.
    private let faultCounts = Mutex<[String: Int]>([:])

    /// - Parameter keepsRequests: false for benchmarks, so memory stays flat over millions of requests.
    package init(keepsRequests: Bool = true) { self.keepsRequests = keepsRequests }

    /// Every request so far, oldest first.
    package var requests: [Received] { received.withLock { $0 } }

    /// For each finished stream: true when the stub could not write (the proxy had gone away).
    package var streamWriteFailures: [Bool] { streamOutcomes.withLock { $0 } }

    /// The stub's routes.
    package func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/v1/chat/completions") { request, context in try await self.chat(request, legacy: false) }
        router.post("/v1/completions") { request, context in try await self.chat(request, legacy: true) }
        router.post("/v1/embeddings") { request, context in try await self.embeddings(request) }
        router.post("/v1/messages") { request, context in try await self.messages(request) }
        router.post("/v1/messages/count_tokens") { request, context in
            _ = try await self.parse(request)
            return Self.json(#"{"input_tokens":\#(Self.anthropicUsage.input)}"#)
        }
        router.post("/v1/responses") { request, context in try await self.responses(request) }
        router.get("/v1/responses/:id") { request, context in
            self.note(request, body: [])
            return Self.json(Self.responseJSON(id: context.parameters.get("id") ?? "", model: "gpt-4.1"))
        }
        router.delete("/v1/responses/:id") { request, context in
            self.note(request, body: [])
            let id = JSONString.quote(context.parameters.get("id") ?? "")
            return Self.json(#"{"id":\#(id),"object":"response","deleted":true}"#)
        }
        router.get("/v1/responses/:id/input_items") { request, context in
            self.note(request, body: [])
            return Self.json(#"{"object":"list","data":[],"first_id":null,"last_id":null,"has_more":false}"#)
        }
        router.get("/v1/models") { request, _ in
            self.note(request, body: [])
            return Self.json(
                #"{"object":"list","data":[{"id":"gpt-4.1","object":"model","created":1,"owned_by":"stub"},{"id":"deepseek-v3.2","object":"model","created":1,"owned_by":"stub"}]}"#
            )
        }
        return router
    }

    /// Runs the stub on an ephemeral port for the duration of `body`, which receives the port.
    package func run<T: Sendable>(
        host: String = "127.0.0.1", port: Int = 0, _ body: @Sendable (Int) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "stub-upstream")
        logger.logLevel = .critical
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router(), configuration: ApplicationConfiguration(address: .hostname(host, port: port)),
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

    // MARK: handlers

    private struct Fault {
        var status: Int?
        var delayMilliseconds = 0
        var chunkDelayMilliseconds = 0
        var cutAfter: Int?
        var noUsage = false
        var retryAfter: Int?
        var reset = false
        var malformed = false
        var failFirst: Int?

        /// Drops the one-shot faults (for requests after the first `fail_first`).
        mutating func clearOneShot() {
            status = nil
            delayMilliseconds = 0
            reset = false
            malformed = false
        }

        init(_ text: String?) {
            for item in (text ?? "").split(separator: ",") {
                let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                let value = parts.count == 2 ? Int(parts[1]) : nil
                switch parts[0] {
                case "status": status = value
                case "delay_ms": delayMilliseconds = value ?? 0
                case "chunk_delay_ms": chunkDelayMilliseconds = value ?? 0
                case "cut_after": cutAfter = value
                case "no_usage": noUsage = true
                case "retry_after": retryAfter = value
                case "reset": reset = true
                case "malformed": malformed = true
                case "fail_first": failFirst = value
                default: break
                }
            }
        }
    }

    private struct Cut: Error {}

    private func note(_ request: Request, body: [UInt8]) {
        guard keepsRequests else { return }
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let entry = Received(
            method: request.method.rawValue, path: request.uri.path, authorization: request.headers[.authorization],
            body: body, headers: headers)
        received.withLock { $0.append(entry) }
    }

    private func parse(_ request: Request) async throws -> (json: [String: Any], fault: Fault) {
        var request = request
        let buffer = try await request.collectBody(upTo: 64 << 20)
        let bytes = Array(buffer.readableBytesView)
        note(request, body: bytes)
        let json = ((try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]) ?? [:]
        let text = request.headers[HTTPField.Name("x-stub-fault")!] ?? json["x_stub_fault"] as? String
        var fault = Fault(text)
        if let failFirst = fault.failFirst, let text {
            let seen = faultCounts.withLock { counts in
                counts[text, default: 0] += 1
                return counts[text]!
            }
            if seen > failFirst { fault.clearOneShot() }
        }
        if fault.delayMilliseconds > 0 { try await Task.sleep(for: .milliseconds(fault.delayMilliseconds)) }
        return (json, fault)
    }

    private func errorResponse(_ status: Int, retryAfter: Int? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers,
            body: ResponseBody(
                byteBuffer: ByteBuffer(
                    string:
                        #"{"error":{"message":"stub fault \#(status)","type":"server_error","param":null,"code":"stub_\#(status)"}}"#
                )))
    }

    private func chat(_ request: Request, legacy: Bool) async throws -> Response {
        let (json, fault) = try await parse(request)
        if let status = fault.status { return errorResponse(status, retryAfter: fault.retryAfter) }
        if fault.reset {
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: ResponseBody { _ in throw Cut() })
        }
        if fault.malformed {
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"id":"stub-1","choices":[{"#)))
        }
        let model = json["model"] as? String ?? "unknown"
        let stream = json["stream"] as? Bool ?? false
        let usage = legacy ? Self.completionUsageJSON : Self.chatUsageJSON
        if !stream {
            let choice =
                legacy
                ? #"{"index":0,"text":"Hello!","finish_reason":"stop","logprobs":null}"#
                : #"{"index":0,"message":{"role":"assistant","content":"Hello!","refusal":null},"finish_reason":"stop"}"#
            let object = legacy ? "text_completion" : "chat.completion"
            return Self.json(
                #"{"id":"stub-1","object":"\#(object)","created":1,"model":"\#(model)","choices":[\#(choice)],"usage":\#(usage),"system_fingerprint":"fp_stub","x_stub_unknown":{"kept":true}}"#,
                requestID: "req-stub-1")
        }
        let includeUsage = ((json["stream_options"] as? [String: Any])?["include_usage"] as? Bool) ?? false
        var events: [String] = []
        let usageNull = includeUsage ? #","usage":null"# : ""
        let object = legacy ? "text_completion" : "chat.completion.chunk"
        for (index, piece) in Self.chatPieces.enumerated() {
            let delta =
                legacy
                ? #"{"index":0,"text":"\#(piece)","finish_reason":null}"#
                : #"{"index":0,"delta":{"#
                    + (index == 0 ? #""role":"assistant","# : "") + #""content":"\#(piece)"},"finish_reason":null}"#
            events.append(
                #"{"id":"stub-1","object":"\#(object)","created":1,"model":"\#(model)","choices":[\#(delta)]\#(usageNull)}"#
            )
        }
        let finish =
            legacy
            ? #"{"index":0,"text":"","finish_reason":"stop"}"# : #"{"index":0,"delta":{},"finish_reason":"stop"}"#
        events.append(
            #"{"id":"stub-1","object":"\#(object)","created":1,"model":"\#(model)","choices":[\#(finish)]\#(usageNull)}"#
        )
        if includeUsage && !fault.noUsage {
            events.append(
                #"{"id":"stub-1","object":"\#(object)","created":1,"model":"\#(model)","choices":[],"usage":\#(usage)}"#
            )
        }
        events.append("[DONE]")
        let stub = self
        let allEvents = events
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                var failed = false
                defer { stub.streamOutcomes.withLock { $0.append(failed) } }
                for (index, event) in allEvents.enumerated() {
                    if let cut = fault.cutAfter, index >= cut { throw Cut() }
                    if index > 0 && fault.chunkDelayMilliseconds > 0 {
                        try await Task.sleep(for: .milliseconds(fault.chunkDelayMilliseconds))
                    }
                    do { try await writer.write(ByteBuffer(string: "data: \(event)\n\n")) } catch {
                        failed = true
                        throw error
                    }
                }
                try await writer.finish(nil)
            })
    }

    /// Anthropic usage the stub reports: `input_tokens` excludes cache reads and writes (as Anthropic's does).
    package static let anthropicUsage = (input: 25, cacheRead: 400, cacheWrite5m: 40, cacheWrite1h: 60, output: 15)
    /// The usage above as the ledger normalises it (prompt = input + reads + writes).
    package static let anthropicTokenUsage = TokenUsage(
        promptTokens: Int64(anthropicUsage.input + anthropicUsage.cacheRead + anthropicUsage.cacheWrite5m
            + anthropicUsage.cacheWrite1h),
        cachedPromptTokens: Int64(anthropicUsage.cacheRead), completionTokens: Int64(anthropicUsage.output),
        cacheWrite5mTokens: Int64(anthropicUsage.cacheWrite5m), cacheWrite1hTokens: Int64(anthropicUsage.cacheWrite1h))
    /// Responses usage the stub reports.
    package static let responsesUsage = (input: 328, cached: 128, output: 52, reasoning: 20)
    package static let responsesTokenUsage = TokenUsage(
        promptTokens: Int64(responsesUsage.input), cachedPromptTokens: Int64(responsesUsage.cached),
        completionTokens: Int64(responsesUsage.output), reasoningTokens: Int64(responsesUsage.reasoning))

    private static var anthropicUsageJSON: String {
        let u = anthropicUsage
        return #"{"input_tokens":\#(u.input),"cache_creation_input_tokens":\#(u.cacheWrite5m + u.cacheWrite1h),"#
            + #""cache_read_input_tokens":\#(u.cacheRead),"cache_creation":{"ephemeral_5m_input_tokens":\#(u.cacheWrite5m),"#
            + #""ephemeral_1h_input_tokens":\#(u.cacheWrite1h)},"output_tokens":\#(u.output),"service_tier":"standard"}"#
    }

    private func messages(_ request: Request) async throws -> Response {
        let (json, fault) = try await parse(request)
        if let early = earlyFault(fault, anthropic: true) { return early }
        let model = JSONString.quote(json["model"] as? String ?? "unknown")
        let text = Self.chatPieces.joined()
        guard json["stream"] as? Bool ?? false else {
            return Self.json(
                #"{"id":"msg_stub","type":"message","role":"assistant","model":\#(model),"content":[{"type":"text","text":"\#(text)"}],"#
                    + #""stop_reason":"end_turn","stop_sequence":null,"usage":\#(Self.anthropicUsageJSON)}"#,
                requestID: "req-stub-anthropic", header: "request-id")
        }
        let u = Self.anthropicUsage
        let startUsage =
            #"{"input_tokens":\#(u.input),"cache_creation_input_tokens":\#(u.cacheWrite5m + u.cacheWrite1h),"#
            + #""cache_read_input_tokens":\#(u.cacheRead),"cache_creation":{"ephemeral_5m_input_tokens":\#(u.cacheWrite5m),"#
            + #""ephemeral_1h_input_tokens":\#(u.cacheWrite1h)},"output_tokens":1}"#
        var events: [(String, String)] = [
            ("message_start",
             #"{"type":"message_start","message":{"id":"msg_stub","type":"message","role":"assistant","content":[],"model":\#(model),"stop_reason":null,"stop_sequence":null,"usage":\#(startUsage)}}"#),
            ("content_block_start",
             #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
            ("ping", #"{"type": "ping"}"#),
        ]
        for piece in Self.chatPieces {
            events.append(
                ("content_block_delta",
                 #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\#(piece)"}}"#))
        }
        events.append(("content_block_stop", #"{"type":"content_block_stop","index":0}"#))
        if !fault.noUsage {
            events.append(
                ("message_delta",
                 #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":\#(u.output)}}"#))
        }
        events.append(("message_stop", #"{"type":"message_stop"}"#))
        return sse(events.map { "event: \($0.0)\ndata: \($0.1)\n\n" }, fault: fault)
    }

    /// A Response object, completed, with the stub's usage.
    package static func responseJSON(id: String, model: String) -> String {
        let u = responsesUsage
        let text = chatPieces.joined()
        return #"{"id":\#(JSONString.quote(id)),"object":"response","created_at":1741476542,"status":"completed","error":null,"#
            + #""incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":\#(JSONString.quote(model)),"#
            + #""output":[{"type":"message","id":"msg_stub","status":"completed","role":"assistant","content":[{"type":"output_text","text":"\#(text)","annotations":[]}]}],"#
            + #""parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"#
            + #""service_tier":"default","store":true,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","#
            + #""tools":[],"top_p":1.0,"truncation":"disabled","usage":{"input_tokens":\#(u.input),"#
            + #""input_tokens_details":{"cached_tokens":\#(u.cached)},"output_tokens":\#(u.output),"#
            + #""output_tokens_details":{"reasoning_tokens":\#(u.reasoning)},"total_tokens":\#(u.input + u.output)},"#
            + #""user":null,"metadata":{}}"#
    }

    private func responses(_ request: Request) async throws -> Response {
        let (json, fault) = try await parse(request)
        if let early = earlyFault(fault, anthropic: false) { return early }
        let model = json["model"] as? String ?? "unknown"
        let completed = Self.responseJSON(id: "resp_stub", model: model)
        guard json["stream"] as? Bool ?? false else { return Self.json(completed, requestID: "req-stub-responses") }
        let quoted = JSONString.quote(model)
        let inProgress =
            #"{"id":"resp_stub","object":"response","created_at":1741476542,"status":"in_progress","model":\#(quoted),"#
            + #""output":[],"usage":null}"#
        var events: [(String, String)] = [
            ("response.created", #"{"type":"response.created","sequence_number":0,"response":\#(inProgress)}"#),
            ("response.in_progress", #"{"type":"response.in_progress","sequence_number":1,"response":\#(inProgress)}"#),
            ("response.output_item.added",
             #"{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_stub","type":"message","status":"in_progress","role":"assistant","content":[]}}"#),
            ("response.content_part.added",
             #"{"type":"response.content_part.added","sequence_number":3,"item_id":"msg_stub","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}"#),
        ]
        var sequence = 4
        for piece in Self.chatPieces {
            events.append(
                ("response.output_text.delta",
                 #"{"type":"response.output_text.delta","sequence_number":\#(sequence),"item_id":"msg_stub","output_index":0,"content_index":0,"delta":"\#(piece)","logprobs":[]}"#))
            sequence += 1
        }
        let text = Self.chatPieces.joined()
        events.append(
            ("response.output_text.done",
             #"{"type":"response.output_text.done","sequence_number":\#(sequence),"item_id":"msg_stub","output_index":0,"content_index":0,"text":"\#(text)","logprobs":[]}"#))
        events.append(
            ("response.output_item.done",
             #"{"type":"response.output_item.done","sequence_number":\#(sequence + 1),"output_index":0,"item":{"id":"msg_stub","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"\#(text)","annotations":[]}]}}"#))
        if !fault.noUsage {
            events.append(
                ("response.completed",
                 #"{"type":"response.completed","sequence_number":\#(sequence + 2),"response":\#(completed)}"#))
        }
        return sse(events.map { "event: \($0.0)\ndata: \($0.1)\n\n" }, fault: fault)
    }

    /// The faults answered before any body: a status (in the dialect's error shape), a reset, a malformed body.
    private func earlyFault(_ fault: Fault, anthropic: Bool) -> Response? {
        if let status = fault.status {
            guard anthropic else { return errorResponse(status, retryAfter: fault.retryAfter) }
            var headers: HTTPFields = [.contentType: "application/json"]
            if let retryAfter = fault.retryAfter { headers[.retryAfter] = String(retryAfter) }
            return Response(
                status: HTTPResponse.Status(code: status), headers: headers,
                body: ResponseBody(
                    byteBuffer: ByteBuffer(
                        string: #"{"type":"error","error":{"type":"api_error","message":"stub fault \#(status)"}}"#)))
        }
        if fault.reset {
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: ResponseBody { _ in throw Cut() })
        }
        if fault.malformed {
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"id":"stub-1","content":[{"#)))
        }
        return nil
    }

    /// Streams whole SSE events, honouring `chunk_delay_ms` and `cut_after`.
    private func sse(_ events: [String], fault: Fault) -> Response {
        let stub = self
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                var failed = false
                defer { stub.streamOutcomes.withLock { $0.append(failed) } }
                for (index, event) in events.enumerated() {
                    if let cut = fault.cutAfter, index >= cut { throw Cut() }
                    if index > 0 && fault.chunkDelayMilliseconds > 0 {
                        try await Task.sleep(for: .milliseconds(fault.chunkDelayMilliseconds))
                    }
                    do { try await writer.write(ByteBuffer(string: event)) } catch {
                        failed = true
                        throw error
                    }
                }
                try await writer.finish(nil)
            })
    }

    private func embeddings(_ request: Request) async throws -> Response {
        let (json, fault) = try await parse(request)
        if let status = fault.status { return errorResponse(status) }
        let model = json["model"] as? String ?? "unknown"
        return Self.json(
            #"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.25,-0.5,0.125]}],"model":"\#(model)","usage":{"prompt_tokens":\#(Self.embeddingTokens),"total_tokens":\#(Self.embeddingTokens)}}"#
        )
    }

    private static let chatUsageJSON =
        #"{"prompt_tokens":\#(chatUsage.prompt),"completion_tokens":\#(chatUsage.completion),"total_tokens":\#(chatUsage.prompt + chatUsage.completion),"prompt_tokens_details":{"cached_tokens":\#(chatUsage.cached),"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":\#(chatUsage.reasoning),"audio_tokens":0}}"#
    private static let completionUsageJSON =
        #"{"prompt_tokens":\#(completionUsage.prompt),"completion_tokens":\#(completionUsage.completion),"total_tokens":\#(completionUsage.prompt + completionUsage.completion)}"#

    private static func json(_ text: String, requestID: String? = nil, header: String = "x-request-id") -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let requestID { headers[HTTPField.Name(header)!] = requestID }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
