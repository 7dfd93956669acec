import CCurl
import Foundation
package import Hummingbird
import Synchronization

/// `UpstreamClient` over libcurl: one `curl_multi` loop on a dedicated thread, keep-alive connections reused from
/// the multi handle's connection cache, transfers handed to Swift concurrency through continuations.
///
/// Call `shutdown()` when done (the loop thread also stops when the client is deinitialised).
package final class CurlUpstreamClient: UpstreamClient {
    private let loop: CurlMultiLoop

    /// - Parameter maxCachedConnections: idle keep-alive connections kept open across all hosts.
    package init(maxCachedConnections: Int = 512) throws {
        loop = try CurlMultiLoop(maxCachedConnections: maxCachedConnections)
        loop.start()
    }

    deinit { loop.stop() }

    /// Aborts every transfer still running and stops the loop thread.
    package func shutdown() { loop.stop() }

    /// Transfers that have been submitted and not yet completed or cancelled (for tests and metrics).
    package var activeTransfers: Int { loop.activeCount.load(ordering: .relaxed) }

    package func send(_ request: UpstreamRequest) async throws -> UpstreamResponse {
        let loop = self.loop
        let transfer = CurlTransfer(request: request)
        transfer.cancel = { [weak transfer] in if let transfer { loop.cancel(transfer) } }
        let (body, source) = UpstreamBody.make(onAbandoned: transfer.cancel)
        transfer.body = body
        transfer.source = source
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (head: CheckedContinuation<UpstreamResponse, any Error>) in
                transfer.head = head
                loop.submit(transfer)
            }
        } onCancel: {
            loop.cancel(transfer)
        }

    }
}

/// One transfer's state. Created by the caller, then owned by the loop thread alone once submitted; only
/// `cancelRequested` is touched from other threads, and it is atomic.
private final class CurlTransfer: @unchecked Sendable {
    let request: UpstreamRequest
    /// The reader's side, handed over with the head (then dropped here, so the reader alone holds it).
    var body: UpstreamBody?
    /// The producer's side, fed by the write callback; nil once finished.
    var source: UpstreamBody.Source?
    var head: CheckedContinuation<UpstreamResponse, any Error>?
    let cancelRequested = Atomic<Bool>(false)
    var easy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    var headers: [(name: String, value: String)] = []
    var aborted = false
    /// When a byte (header or body) last arrived, for the idle timeout of streamed replies.
    var lastActivity = ContinuousClock.now
    /// The body so far, when the request wants it whole (`UpstreamRequest.wholeBodyLimit`).
    var collected = ByteBuffer()
    var tooLarge = false
    /// Asks the loop to abort this transfer; weak, so it never keeps the transfer alive.
    var cancel: @Sendable () -> Void = {}

    init(request: UpstreamRequest) {
        self.request = request
    }
}

/// The curl_multi loop and its thread. Thread-confined state (`multi`, `active`, `idleHandles`) is touched only by
/// the loop thread; other threads talk to it through `inbox` (a Mutex) and `curl_multi_wakeup` (thread-safe).
/// This is the one documented `@unchecked Sendable` (STYLE.md §6).
private final class CurlMultiLoop: @unchecked Sendable {
    private enum Command {
        case add(CurlTransfer)
        case cancel(CurlTransfer)
    }

    private struct Inbox {
        var commands: [Command] = []
        var stopping = false
    }

    private let multi: UnsafeMutableRawPointer
    private let inbox = Mutex(Inbox())
    let activeCount = Atomic<Int>(0)
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]
    private var idleHandles: [UnsafeMutableRawPointer] = []
    /// Transfers whose timeout bounds each silence (`UpstreamRequest.timeoutIsIdle`), checked every `idleCheckEvery`.
    private var idleTimed: [UnsafeMutableRawPointer: CurlTransfer] = [:]
    private var nextIdleCheck = ContinuousClock.now
    private static let idleCheckEvery = Duration.milliseconds(20)

    init(maxCachedConnections: Int) throws {
        let code = hsl_curl_global_init_once()
        guard code == CURLE_OK else { throw UpstreamError.curl(code: Int(code.rawValue), detail: "curl_global_init") }
        guard let multi = curl_multi_init() else { throw UpstreamError.curl(code: -1, detail: "curl_multi_init") }
        self.multi = multi
        _ = hsl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, maxCachedConnections)
    }

    /// Starts the loop thread. The thread holds the loop until `stop()` ends it; nothing holds the thread (no cycle).
    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "curl-multi"
        thread.start()
    }

    func stop() {
        inbox.withLock { $0.stopping = true }
        curl_multi_wakeup(multi)
    }

    func submit(_ transfer: CurlTransfer) {
        activeCount.add(1, ordering: .relaxed)
        let accepted = inbox.withLock { inbox -> Bool in
            guard !inbox.stopping else { return false }
            inbox.commands.append(.add(transfer))
            return true
        }
        guard accepted else {
            activeCount.subtract(1, ordering: .relaxed)
            transfer.head?.resume(throwing: UpstreamError.shutDown)
            transfer.head = nil
            transfer.source?.finish(throwing: UpstreamError.shutDown)
            transfer.source = nil
            transfer.body = nil
            return
        }
        curl_multi_wakeup(multi)
    }

    func cancel(_ transfer: CurlTransfer) {
        guard !transfer.cancelRequested.exchange(true, ordering: .relaxed) else { return }
        inbox.withLock { $0.commands.append(.cancel(transfer)) }
        curl_multi_wakeup(multi)
    }

    // MARK: loop thread only

    private func run() {
        var running: Int32 = 0
        while true {
            let (commands, stopping) = inbox.withLock { inbox in
                defer { inbox.commands.removeAll(keepingCapacity: true) }
                return (inbox.commands, inbox.stopping)
            }
            for command in commands {
                switch command {
                case .add(let transfer): add(transfer)
                case .cancel(let transfer):
                    if let easy = transfer.easy, active[easy] != nil { finish(easy, error: .cancelled) }
                }
            }
            if stopping { break }
            curl_multi_perform(multi, &running)
            var left: Int32 = 0
            while let message = curl_multi_info_read(multi, &left) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                let result = message.pointee.data.result
                finish(easy, result: result)
            }
            var pollMilliseconds: Int32 = 1000
            if !idleTimed.isEmpty {
                let now = ContinuousClock.now
                if now >= nextIdleCheck {
                    expireIdleTransfers(now: now)
                    nextIdleCheck = now + Self.idleCheckEvery
                }
                pollMilliseconds = Int32(Self.milliseconds(Self.idleCheckEvery))
            }
            curl_multi_poll(multi, nil, 0, pollMilliseconds, nil)
        }
        for easy in Array(active.keys) { finish(easy, error: .shutDown) }
        for easy in idleHandles { curl_easy_cleanup(easy) }
        idleHandles.removeAll()
        curl_multi_cleanup(multi)
    }

    private func add(_ transfer: CurlTransfer) {
        guard !transfer.cancelRequested.load(ordering: .relaxed) else {
            fail(transfer, error: .cancelled)
            return
        }
        guard let easy = idleHandles.popLast() ?? curl_easy_init() else {
            fail(transfer, error: .curl(code: -1, detail: "curl_easy_init"))
            return
        }
        let request = transfer.request
        transfer.easy = easy
        _ = hsl_easy_setopt_string(easy, CURLOPT_URL, request.url)
        _ = hsl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = hsl_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        _ = hsl_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1)
        _ = hsl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(request.connectTimeout))
        if request.timeoutIsIdle {
            // No deadline for the whole transfer: the loop ends it after `totalTimeout` without a byte.
            transfer.lastActivity = .now
            idleTimed[easy] = transfer
        } else {
            _ = hsl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, Self.milliseconds(request.totalTimeout))
        }
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for header in request.headers { list = curl_slist_append(list, "\(header.name): \(header.value)") }
        // No "Expect: 100-continue" round trip before a body.
        list = curl_slist_append(list, "Expect:")
        transfer.headerList = list
        _ = hsl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list)
        if let body = request.body {
            _ = hsl_easy_setopt_offset(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.readableBytes))
            body.withUnsafeReadableBytes { bytes in
                _ = hsl_easy_setopt_pointer(
                    easy, CURLOPT_COPYPOSTFIELDS,
                    UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
            }
            if request.method != "POST" { _ = hsl_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method) }
        } else if request.method == "GET" {
            _ = hsl_easy_setopt_long(easy, CURLOPT_HTTPGET, 1)
        } else {
            _ = hsl_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method)
        }
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        _ = hsl_easy_setopt_write_callback(easy, CURLOPT_WRITEFUNCTION) { curlWriteBody($0, $1, $2, $3) }
        _ = hsl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, context)
        _ = hsl_easy_setopt_write_callback(easy, CURLOPT_HEADERFUNCTION) { curlWriteHeader($0, $1, $2, $3) }
        _ = hsl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, context)
        active[easy] = transfer
        let code = curl_multi_add_handle(multi, easy)
        if code != CURLM_OK {
            finish(easy, error: .curl(code: Int(code.rawValue), detail: String(cString: curl_multi_strerror(code))))
        }
    }

    /// Completes a transfer that curl reported done.
    private func finish(_ easy: UnsafeMutableRawPointer, result: CURLcode) {
        guard let transfer = active[easy] else { return }
        if result == CURLE_OK {
            deliverHead(transfer)
            finish(easy, error: nil)
            return
        }
        let url = transfer.request.url
        let detail = String(cString: curl_easy_strerror(result))
        let error: UpstreamError
        switch result {
        case CURLE_OPERATION_TIMEDOUT:
            // Not yet ready to send the request: still connecting. (CONNECT_TIME is 0 on a reused keep-alive
            // connection too, so it cannot tell a connect timeout from a slow reply.)
            var pretransferTime: curl_off_t = 0
            _ = hsl_easy_getinfo_offset(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransferTime)
            error =
                pretransferTime == 0
                ? .connectTimeout(url: url, after: transfer.request.connectTimeout)
                : .timeout(url: url, after: transfer.request.totalTimeout)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_SSL_CONNECT_ERROR,
            CURLE_PEER_FAILED_VERIFICATION:
            error = .connectFailed(url: url, detail: detail)
        case CURLE_WRITE_ERROR where transfer.tooLarge:
            error = .bodyTooLarge(limit: transfer.request.wholeBodyLimit ?? 0)
        case CURLE_WRITE_ERROR where transfer.aborted:
            error = .cancelled
        default:
            error = .interrupted(url: url, detail: detail)
        }
        finish(easy, error: error)
    }

    /// Ends the idle-timed transfers that have had no byte for longer than their timeout.
    private func expireIdleTransfers(now: ContinuousClock.Instant) {
        var expired: [(UnsafeMutableRawPointer, CurlTransfer)] = []
        for (easy, transfer) in idleTimed where now - transfer.lastActivity > transfer.request.totalTimeout {
            expired.append((easy, transfer))
        }
        for (easy, transfer) in expired {
            finish(easy, error: .idleTimeout(url: transfer.request.url, after: transfer.request.totalTimeout))
        }
    }

    /// Removes the handle from the multi, resumes whoever waits, and keeps the handle for reuse.
    private func finish(_ easy: UnsafeMutableRawPointer, error: UpstreamError?) {
        idleTimed.removeValue(forKey: easy)
        guard let transfer = active.removeValue(forKey: easy) else { return }
        curl_multi_remove_handle(multi, easy)
        curl_slist_free_all(transfer.headerList)
        transfer.headerList = nil
        transfer.easy = nil
        curl_easy_reset(easy)
        if idleHandles.count < 256 { idleHandles.append(easy) } else { curl_easy_cleanup(easy) }
        if let error {
            fail(transfer, error: error)
        } else {
            activeCount.subtract(1, ordering: .relaxed)
            transfer.source?.finish()
            transfer.source = nil
        }
    }

    private func fail(_ transfer: CurlTransfer, error: UpstreamError) {
        activeCount.subtract(1, ordering: .relaxed)
        if let head = transfer.head {
            transfer.head = nil
            head.resume(throwing: error)
        }
        transfer.source?.finish(throwing: error)
        transfer.source = nil
        transfer.body = nil
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}

/// Resumes the caller waiting for the status line and headers, once (loop thread).
private func deliverHead(_ transfer: CurlTransfer) {
    guard let head = transfer.head, let easy = transfer.easy else { return }
    transfer.head = nil
    var status = 0
    _ = hsl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
    if transfer.request.wholeBodyLimit != nil {
        transfer.source?.finish()
        transfer.source = nil
        transfer.body = nil
        head.resume(returning: UpstreamResponse(status: status, headers: transfer.headers, wholeBody: transfer.collected))
        return
    }
    guard let body = transfer.body else { return }
    transfer.body = nil
    head.resume(returning: UpstreamResponse(status: status, headers: transfer.headers, body: body, cancel: transfer.cancel))
}

/// CURLOPT_WRITEFUNCTION: hands each body chunk to the stream; returning 0 aborts when the consumer is gone.
private func curlWriteBody(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    if transfer.request.timeoutIsIdle { transfer.lastActivity = .now }
    if let limit = transfer.request.wholeBodyLimit {
        guard transfer.collected.readableBytes + length <= limit else {
            transfer.tooLarge = true
            return 0
        }
        transfer.collected.writeBytes(UnsafeRawBufferPointer(start: data, count: length))
        return length
    }
    deliverHead(transfer)
    guard let source = transfer.source else { return 0 }
    let buffer = ByteBuffer(bytes: UnsafeRawBufferPointer(start: data, count: length))
    if !source.yield(buffer) {
        transfer.aborted = true
        return 0
    }
    return length
}

/// CURLOPT_HEADERFUNCTION: collects "Name: value" lines; a new status line (after 1xx) starts over.
private func curlWriteHeader(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    if transfer.request.timeoutIsIdle { transfer.lastActivity = .now }
    let bytes = UnsafeRawBufferPointer(start: data, count: length)
    if bytes.starts(with: "HTTP/".utf8) {
        transfer.headers.removeAll()
    } else if let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
        func trimmed(_ part: Slice<UnsafeRawBufferPointer>) -> String {
            var part = part
            while let first = part.first, first == 0x20 || first == 0x09 { part = part.dropFirst() }
            while let last = part.last, last == 0x20 || last == 0x09 || last == 0x0D || last == 0x0A {
                part = part.dropLast()
            }
            return String(decoding: part, as: UTF8.self)
        }
        transfer.headers.append((name: trimmed(bytes[..<colon]), value: trimmed(bytes[(colon + 1)...])))
    }
    return length
}
