import Testing

@testable import LedgerProxy

@Suite struct SSEEventChunkingTests {
    private func events(_ stream: [UInt8], chunkSize: Int) -> (events: [[UInt8]], remainder: [UInt8]) {
        var splitter = SSEEventSplitter()
        var events: [[UInt8]] = []
        var offset = 0
        while offset < stream.count {
            let end = min(offset + chunkSize, stream.count)
            events += splitter.append(stream[offset..<end])
            offset = end
        }
        return (events, splitter.remainder)
    }

    @Test func splitsEventsAtBlankLinesKeepingTheirBytes() {
        let stream = Array("data: {\"a\":1}\n\ndata: [DONE]\r\n\r\ndata: cut".utf8)
        let (events, remainder) = events(stream, chunkSize: stream.count)
        #expect(events == [Array("data: {\"a\":1}\n\n".utf8), Array("data: [DONE]\r\n\r\n".utf8)])
        #expect(remainder == Array("data: cut".utf8))
        #expect(SSEEventSplitter.data(of: events[1]) == Array("[DONE]".utf8))
    }

    /// Found by the SSESplitter fuzz target: runs of blank lines (and a "\r\n" right after an event) were split
    /// differently depending on where the chunks of the stream happened to end.
    @Test(arguments: [1, 2, 3, 5, 7])
    func chunkingNeverChangesTheEvents(chunkSize: Int) {
        let stream = Array("\n\n\n\n\n`\n\n\n\r\n\n\ndata: x\n\n\r\n\nA\n\n\nClose\n\n\r\n\r\n".utf8)
        let whole = events(stream, chunkSize: stream.count)
        let chunked = events(stream, chunkSize: chunkSize)
        #expect(chunked.events == whole.events)
        #expect(chunked.remainder == whole.remainder)
        #expect(Array(whole.events.joined()) + whole.remainder == stream)
        #expect(whole.events.contains(Array("data: x\n\n".utf8)))
    }
}
