import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing

@testable import LedgerProxy

/// The connection watcher's count of requests whose body is still arriving, which decides whether a handler reads
/// its body with a timer (still arriving) or at once (already in).
@Suite struct ClientConnectionTests {
    private func channelWithWatcher() throws -> (EmbeddedChannel, ClientConnection) {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ClientConnectionWatcher())
        let connection = try #require(ClientConnections.connection(for: channel))
        return (channel, connection)
    }

    private let head = HTTPRequestPart.head(HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/v1/chat/completions"))

    @Test func aBodyIsArrivingFromItsHeadUntilItsEnd() throws {
        let (channel, connection) = try channelWithWatcher()
        #expect(!connection.bodyStillArriving)
        try channel.writeInbound(head)
        #expect(connection.bodyStillArriving)
        try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: "{\"model\":")))
        #expect(connection.bodyStillArriving)
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(!connection.bodyStillArriving)
        // Every part is passed on unchanged.
        #expect(try channel.readInbound(as: HTTPRequestPart.self) == head)
        #expect(try channel.readInbound(as: HTTPRequestPart.self) == .body(ByteBuffer(string: "{\"model\":")))
        #expect(try channel.readInbound(as: HTTPRequestPart.self) == .end(nil))
        _ = try channel.finish()
    }

    @Test func aPipelinedRequestStillArrivingKeepsTheCountUp() throws {
        let (channel, connection) = try channelWithWatcher()
        try channel.writeInbound(head)
        try channel.writeInbound(HTTPRequestPart.end(nil))
        try channel.writeInbound(head)
        #expect(connection.bodyStillArriving)
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(!connection.bodyStillArriving)
        _ = try channel.finish()
    }

    @Test func aCallOnAConnectionThatWentAwayRunsCancelled() async throws {
        let (channel, connection) = try channelWithWatcher()
        #expect(await connection.cancellingOnClose { Task.isCancelled } == false)
        _ = try channel.finish()
        #expect(ClientConnections.connection(for: channel) == nil)
        #expect(await connection.cancellingOnClose { Task.isCancelled } == true)
    }
}
