import CCurl
import Foundation
import Hummingbird
import Synchronization

/// `UpstreamClient` over libcurl: one `curl_multi` handle driven through curl's socket interface over epoll (by a
/// dedicated thread, or by the submitting caller when the handle is idle), keep-alive connections reused from the
/// multi handle's connection cache, transfers handed to Swift concurrency through continuations.
///
/// Call `shutdown()` when done (the loop thread also stops when the client is deinitialised).
package final class CurlUpstreamClient: UpstreamClient {
    private let loop: CurlMultiLoop

    /// - Parameter maxCachedConnections: idle keep-alive connections kept open across all hosts.
    package init(maxCachedConnections: Int = 512) throws {
        loop = try CurlMultiLoop.make(maxCachedConnections: maxCachedConnections)
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

    /// Ends the body the reader sees (with an error when the transfer failed) and lets go of both sides.
    func endBody(throwing error: UpstreamError? = nil) {
        source?.finish(throwing: error)
        source = nil
        body = nil
    }
}

/// The curl_multi handle, driven with libcurl's socket interface (`curl_multi_socket_action`) over epoll.
///
/// Whoever holds `driver` may drive the multi handle: the loop thread, which sleeps in `epoll_wait` on curl's sockets
/// (registered by curl's socket callback) and wakes for ready sockets, curl's timer, or a command; or a caller that
/// submits or cancels a transfer and finds the lock free, which then does the work itself. A request submitted to an
/// idle client is therefore sent on the caller's thread at once, without waking the loop thread first; when the lock
/// is busy, the command goes to `inbox` and the loop thread is woken (an eventfd) to do it. Only the ready sockets'
/// transfers are touched on each event (curl_multi_perform walks every transfer on every call).
///
/// `driver` guards `multi`, `active`, `idleHandles`, `idleTimed`, `sockets`, `timerDeadline`, `loopWakesAt` and
/// `closed`; the callbacks run inside curl calls made under it. This is the one documented `@unchecked Sendable` of
/// the upstream client (docs/ARCHITECTURE.md, "Concurrency").
private final class CurlMultiLoop: @unchecked Sendable {
    private enum Command {
        case add(CurlTransfer)
        case cancel(CurlTransfer)
    }

    private struct Inbox {
        var commands: [Command] = []
        var stopping = false
        /// The eventfd and epoll descriptors are closed: their numbers may already belong to other sockets, so
        /// nothing may write to them any more (a late `stop()` or cancel after shutdown).
        var descriptorsClosed = false
    }

    private let multi: UnsafeMutableRawPointer
    private let driver = Mutex(())
    private let inbox = Mutex(Inbox())
    private let epoll: Int32
    private let wakeFD: Int32
    let activeCount = Atomic<Int>(0)
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]
    private var idleHandles: [UnsafeMutableRawPointer] = []
    /// Transfers whose timeout bounds each silence (`UpstreamRequest.timeoutIsIdle`), checked every `idleCheckEvery`.
    private var idleTimed: [UnsafeMutableRawPointer: CurlTransfer] = [:]
    private var nextIdleCheck = ContinuousClock.now
    private static let idleCheckEvery = Duration.milliseconds(20)
    /// Sockets registered with epoll (curl's socket callback keeps this in step).
    private var sockets: Set<Int32> = []
    /// When curl wants `curl_multi_socket_action(CURL_SOCKET_TIMEOUT)` next; nil for never.
    private var timerDeadline: ContinuousClock.Instant?
    /// When the sleeping loop thread will wake by itself; a caller that leaves an earlier deadline wakes it.
    private var loopWakesAt = ContinuousClock.now
    private var closed = false

    /// Opens the loop's epoll set, wake-up eventfd and curl multi handle. A factory rather than a throwing init: a
    /// class init that throws after its `Atomic` and `Mutex` properties exist makes Swift 6.3's optimizer crash
    /// ("Found ownership error" in CopyPropagation) as the module around it changes.
    static func make(maxCachedConnections: Int) throws -> CurlMultiLoop {
        let code = hsl_curl_global_init_once()
        guard code == CURLE_OK else { throw UpstreamError.curl(code: Int(code.rawValue), detail: "curl_global_init") }
        let epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else { throw UpstreamError.curl(code: -1, detail: "epoll_create1 failed: errno \(errno)") }
        let wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard wakeFD >= 0, hsl_epoll_ctl(epoll, EPOLL_CTL_ADD, wakeFD, EPOLLIN.rawValue) == 0 else {
            close(epoll)
            throw UpstreamError.curl(code: -1, detail: "eventfd failed: errno \(errno)")
        }
        guard let multi = curl_multi_init() else {
            close(epoll)
            close(wakeFD)
            throw UpstreamError.curl(code: -1, detail: "curl_multi_init")
        }
        _ = hsl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, maxCachedConnections)
        return CurlMultiLoop(multi: multi, epoll: epoll, wakeFD: wakeFD)
    }

    private init(multi: UnsafeMutableRawPointer, epoll: Int32, wakeFD: Int32) {
        self.multi = multi
        self.epoll = epoll
        self.wakeFD = wakeFD
    }

    /// Starts the loop thread. The thread holds the loop until `stop()` ends it; nothing holds the thread (no cycle).
    /// The callbacks get an unretained pointer to the loop: the multi handle is cleaned up before the thread lets go.
    func start() {
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = hsl_multi_setopt_socket_callback(multi) { _, socket, what, context, _ in
            guard let context else { return -1 }
            Unmanaged<CurlMultiLoop>.fromOpaque(context).takeUnretainedValue().watch(socket, what: what)
            return 0
        }
        _ = hsl_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, context)
        _ = hsl_multi_setopt_timer_callback(multi) { _, milliseconds, context in
            guard let context else { return -1 }
            Unmanaged<CurlMultiLoop>.fromOpaque(context).takeUnretainedValue().setTimer(milliseconds)
            return 0
        }
        _ = hsl_multi_setopt_pointer(multi, CURLMOPT_TIMERDATA, context)
        let thread = Thread { [self] in run() }
        thread.name = "curl-multi"
        thread.start()
    }

    func stop() {
        inbox.withLock { $0.stopping = true }
        wake()
    }

    func submit(_ transfer: CurlTransfer) {
        activeCount.add(1, ordering: .relaxed)
        if inbox.withLock({ $0.stopping }) {
            fail(transfer, error: .shutDown)
            return
        }
        // Free lock: send it from here, and wake the sleeping loop thread only if curl now wants its timer sooner
        // than the thread means to wake. Busy: the loop thread (or whoever drives now) picks it up.
        enum Outcome { case sent(wakeLoop: Bool), closed }
        let outcome = driver.withLockIfAvailable { _ -> Outcome in
            guard !closed else { return .closed }
            add(transfer)
            socketAction(Int32(-1), events: 0)
            return .sent(wakeLoop: timerDeadline.map { $0 < loopWakesAt } ?? false)
        }
        switch outcome {
        case .sent(let wakeLoop): if wakeLoop { wake() }
        case .closed: fail(transfer, error: .shutDown)
        case nil:
            inbox.withLock { $0.commands.append(.add(transfer)) }
            wake()
        }
    }

    func cancel(_ transfer: CurlTransfer) {
        guard !transfer.cancelRequested.exchange(true, ordering: .relaxed) else { return }
        let handled: Void? = driver.withLockIfAvailable { _ in
            if let easy = transfer.easy, active[easy] != nil { finish(easy, error: .cancelled) }
        }
        if handled == nil {
            inbox.withLock { $0.commands.append(.cancel(transfer)) }
            wake()
        }
    }

    /// Wakes the loop thread (under the inbox lock, so never after `shutDown` closed the eventfd).
    private func wake() {
        inbox.withLock { inbox in
            guard !inbox.descriptorsClosed else { return }
            var one: UInt64 = 1
            _ = write(wakeFD, &one, 8)
        }
    }

    // MARK: under `driver`

    /// CURLMOPT_SOCKETFUNCTION: keeps epoll's interest in step with curl's.
    private func watch(_ socket: Int32, what: Int32) {
        if what == CURL_POLL_REMOVE {
            if sockets.remove(socket) != nil { _ = hsl_epoll_ctl(epoll, EPOLL_CTL_DEL, socket, 0) }
            return
        }
        var events: UInt32 = 0
        if what == CURL_POLL_IN || what == CURL_POLL_INOUT { events |= EPOLLIN.rawValue }
        if what == CURL_POLL_OUT || what == CURL_POLL_INOUT { events |= EPOLLOUT.rawValue }
        // epoll forgets a descriptor when it is closed, so a number curl reuses may be new to it even if known here.
        let known = !sockets.insert(socket).inserted
        if hsl_epoll_ctl(epoll, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, socket, events) != 0 {
            _ = hsl_epoll_ctl(epoll, known ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, socket, events)
        }
    }

    /// CURLMOPT_TIMERFUNCTION: -1 clears the timer.
    private func setTimer(_ milliseconds: Int) {
        timerDeadline = milliseconds < 0 ? nil : ContinuousClock.now + .milliseconds(milliseconds)
    }

    /// Lets curl act on one socket's readiness (or, with socket -1, on its timer), then completes what finished.
    private func socketAction(_ socket: Int32, events: Int32) {
        var running: Int32 = 0
        if socket == -1 { timerDeadline = nil }
        curl_multi_socket_action(multi, socket, events, &running)
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi, &left) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            finish(easy, result: message.pointee.data.result)
        }
    }

    // MARK: loop thread

    private func run() {
        var fds = [Int32](repeating: 0, count: 64)
        var readiness = [UInt32](repeating: 0, count: 64)
        var timeout: Int32 = 0
        while true {
            let count = fds.withUnsafeMutableBufferPointer { fds in
                readiness.withUnsafeMutableBufferPointer { readiness in
                    hsl_epoll_wait(epoll, fds.baseAddress, readiness.baseAddress, 64, timeout)
                }
            }
            let (commands, stopping) = inbox.withLock { inbox in
                defer { inbox.commands.removeAll(keepingCapacity: true) }
                return (inbox.commands, inbox.stopping)
            }
            let stop = driver.withLock { _ -> Bool in
                for command in commands {
                    switch command {
                    case .add(let transfer): add(transfer)
                    case .cancel(let transfer):
                        if let easy = transfer.easy, active[easy] != nil { finish(easy, error: .cancelled) }
                    }
                }
                if stopping {
                    shutDown()
                    return true
                }
                for index in 0..<max(0, Int(count)) {
                    if fds[index] == wakeFD {
                        var value: UInt64 = 0
                        _ = read(wakeFD, &value, 8)
                        continue
                    }
                    let ready = readiness[index]
                    var events: Int32 = 0
                    if ready & EPOLLIN.rawValue != 0 { events |= CURL_CSELECT_IN }
                    if ready & EPOLLOUT.rawValue != 0 { events |= CURL_CSELECT_OUT }
                    if ready & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 { events |= CURL_CSELECT_ERR }
                    socketAction(fds[index], events: events)
                }
                var now = ContinuousClock.now
                if !commands.isEmpty || (timerDeadline.map { $0 <= now } ?? false) {
                    socketAction(Int32(-1), events: 0)
                    now = ContinuousClock.now
                }
                if !idleTimed.isEmpty && now >= nextIdleCheck {
                    expireIdleTransfers(now: now)
                    nextIdleCheck = now + Self.idleCheckEvery
                }
                // Sleep until curl's timer, the next idle check, or a second at most.
                var wakeAt = now + .seconds(1)
                if let timerDeadline { wakeAt = min(wakeAt, timerDeadline) }
                if !idleTimed.isEmpty { wakeAt = min(wakeAt, nextIdleCheck) }
                loopWakesAt = wakeAt
                timeout = Int32(max(0, Self.millisecondsRoundedUp(now.duration(to: wakeAt))))
                return false
            }
            if stop { break }
        }
    }

    /// Fails every transfer, frees the handles and the multi (under `driver`, loop thread).
    private func shutDown() {
        closed = true
        for easy in Array(active.keys) { finish(easy, error: .shutDown) }
        for easy in idleHandles { curl_easy_cleanup(easy) }
        idleHandles.removeAll()
        curl_multi_cleanup(multi)
        inbox.withLock { inbox in
            inbox.descriptorsClosed = true
            close(epoll)
            close(wakeFD)
        }
    }

    // MARK: transfers (under `driver`)

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
            transfer.endBody()
        }
    }

    /// Resumes whoever waits with `error`. Touches only the transfer and the atomic count, so `submit` may also
    /// call it for a transfer that never reached the multi handle.
    private func fail(_ transfer: CurlTransfer, error: UpstreamError) {
        activeCount.subtract(1, ordering: .relaxed)
        if let head = transfer.head {
            transfer.head = nil
            head.resume(throwing: error)
        }
        transfer.endBody(throwing: error)
    }

    private static func millisecondsRoundedUp(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int((attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
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
        transfer.endBody()
        head.resume(returning: UpstreamResponse(status: status, headers: transfer.headers, wholeBody: transfer.collected))
        return
    }
    guard let body = transfer.body else { return }
    transfer.body = nil
    head.resume(returning: UpstreamResponse(status: status, headers: transfer.headers, body: body, cancel: transfer.cancel))
}

/// The transfer behind a write or header callback's context, its idle clock restarted: bytes have arrived.
private func arrivingTransfer(_ context: UnsafeMutableRawPointer?) -> CurlTransfer? {
    guard let context else { return nil }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    if transfer.request.timeoutIsIdle { transfer.lastActivity = .now }
    return transfer
}

/// CURLOPT_WRITEFUNCTION: hands each body chunk to the stream; returning 0 aborts when the consumer is gone.
private func curlWriteBody(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let transfer = arrivingTransfer(context) else { return 0 }
    let length = size * count
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
    guard let transfer = arrivingTransfer(context) else { return 0 }
    let length = size * count
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
