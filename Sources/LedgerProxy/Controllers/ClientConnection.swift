package import Hummingbird
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// The proxy's request context: Hummingbird's core context plus the client's connection, so that a call still
/// waiting for its upstream can be cancelled when its client goes away.
package struct ProxyRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    /// The client's connection (nil when the request did not come from a socket).
    let channel: (any Channel)?

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// Whether one client connection is still open, and what to do when it closes.
///
/// `ClientConnectionWatcher`, one per connection in the server pipeline, marks it closed when the client closes its
/// side (a FIN: Hummingbird allows half-closure, so that arrives as `inputClosed`) or the connection drops. Like
/// nginx, the proxy takes a client that closes while its call is still waiting for the upstream as gone.
package final class ClientConnection: Sendable {
    private struct State {
        var closed = false
        /// Cancels the call running in ``cancellingOnClose(_:)``, while one does.
        var onClose: (@Sendable () -> Void)?
        var closeAfterResponse = false
    }

    private let state = Mutex(State())
    /// Requests whose head has arrived but not yet their end, counted on the connection's event loop by
    /// ``ClientConnectionWatcher``: zero when every request seen so far is wholly in (then the body a handler is
    /// about to read is already buffered, and needs no timer).
    private let bodiesArriving = Atomic<Int>(0)
    /// The connection's event loop, for timers that must not outlive what they time (the body timeout).
    package let eventLoop: (any EventLoop)?

    package init(eventLoop: (any EventLoop)? = nil) { self.eventLoop = eventLoop }

    /// Whether some request's body is still arriving (its head came, its end has not). A handler runs after its own
    /// request's head was counted, so `false` means its body is already in: read it without a timer.
    package var bodyStillArriving: Bool { bodiesArriving.load(ordering: .acquiring) != 0 }

    /// The watcher's count, on the event loop: a request's head arrived (`+1`) or its end (`-1`).
    fileprivate func noteRequestPart(started: Bool) {
        bodiesArriving.add(started ? 1 : -1, ordering: .releasing)
    }

    /// Marks the connection closed and runs the registered action, once.
    package func close() {
        let action = state.withLock { s -> (@Sendable () -> Void)? in
            guard !s.closed else { return nil }
            s.closed = true
            defer { s.onClose = nil }
            return s.onClose
        }
        action?()
    }

    /// Asks for the connection to be closed once the current response has been written (a request whose body
    /// never finished arriving: the rest of it must not be read as the next request, nor waited for).
    package func closeAfterResponse() { state.withLock { $0.closeAfterResponse = true } }

    /// Whether ``closeAfterResponse()`` was asked for.
    package var closesAfterResponse: Bool { state.withLock { $0.closeAfterResponse } }

    /// Runs `body` in a task of its own, cancelled if the connection closes before `body` returns (at once if it is
    /// closed already) or if the calling task is cancelled. The close action holds only the `Task` handle, which is
    /// `Sendable` and may be cancelled from any thread (the connection's event loop); it is unregistered under the
    /// lock before this returns.
    ///
    /// A plain `Task`, not `Task.immediate`: it runs once per connection (``CancellableHTTP1Channel``), so the thread
    /// it wakes to start is paid once per connection, while an immediate task costs more at every suspension and
    /// resumption of the calls inside it (task status-record locking: ~18,000 instructions per call at c=64,
    /// bench/README.md). A connection closed (or a caller cancelled) already gets a task that is cancelled before it
    /// starts; a close that comes before the action is registered is seen by the `closed` check below, so no
    /// cancellation is lost.
    package func cancellingOnClose<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> T {
        if Task.isCancelled || state.withLock({ $0.closed }) {
            // A child of a cancelled group is created cancelled: `body` sees it from its first instruction.
            return await withTaskGroup(of: T.self) { group in
                group.cancelAll()
                group.addTask { await body() }
                return await group.next()!
            }
        }
        let task = Task { await body() }
        let closedAlready = state.withLock { s -> Bool in
            if s.closed { return true }
            s.onClose = { task.cancel() }
            return false
        }
        if closedAlready { task.cancel() }
        defer {
            // Taken under the lock, so `close()` either ran the action already or never will.
            if !closedAlready { state.withLock { $0.onClose = nil } }
        }
        return await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
    }
}

/// Hummingbird's HTTP/1 child channel, with each connection served in a task of its own that the connection's close
/// cancels (``ClientConnection/cancellingOnClose(_:)``): the call in progress, which runs inline in that task, is
/// cancelled when its client leaves. One task per connection, not per call: a keep-alive client's calls make no task
/// of their own (~35,000 instructions per call, bench/README.md).
struct CancellableHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    private let http: HTTP1Channel

    init(_ http: HTTP1Channel) { self.http = http }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        http.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        guard let connection = ClientConnections.connection(for: value.channel) else {
            return await http.handle(value: value, logger: logger)
        }
        let http = http
        await connection.cancellingOnClose { await http.handle(value: value, logger: logger) }
    }
}

/// The open connections' `ClientConnection`s, by channel, for the request handlers to find.
enum ClientConnections {
    private static let byChannel = Mutex<[ObjectIdentifier: ClientConnection]>([:])

    static func connection(for channel: any Channel) -> ClientConnection? {
        byChannel.withLock { $0[ObjectIdentifier(channel)] }
    }

    fileprivate static func register(_ connection: ClientConnection, for channel: ObjectIdentifier) {
        byChannel.withLock { $0[channel] = connection }
    }

    fileprivate static func remove(_ channel: ObjectIdentifier) {
        _ = byChannel.withLock { $0.removeValue(forKey: channel) }
    }
}

/// Sits in each client connection's pipeline, after HTTP decoding; passes everything through and notices the client
/// closing its side or the connection going away.
final class ClientConnectionWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart

    private var connection = ClientConnection()
    private var key: ObjectIdentifier?

    func handlerAdded(context: ChannelHandlerContext) {
        let key = ObjectIdentifier(context.channel)
        self.key = key
        connection = ClientConnection(eventLoop: context.eventLoop)
        ClientConnections.register(connection, for: key)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        forget()
    }

    /// Counts heads and ends (so handlers know whether their body is in), then passes the part on unchanged.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: connection.noteRequestPart(started: true)
        case .end: connection.noteRequestPart(started: false)
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(ChannelEvent.inputClosed) = event as? ChannelEvent { connection.close() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.close()
        forget()
        context.fireChannelInactive()
    }

    private func forget() {
        if let key {
            ClientConnections.remove(key)
            self.key = nil
        }
    }
}
