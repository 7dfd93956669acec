import Hummingbird
import Synchronization
import Testing

@testable import LedgerProxy

@Suite struct UpstreamBodyTests {
    /// Waits (bounded) until a reader is suspended on `source`'s body.
    private func waitForReader(_ source: UpstreamBody.Source) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !source.hasWaitingReader && ContinuousClock.now < deadline { await Task.yield() }
        #expect(source.hasWaitingReader)
    }

    final class Calls: Sendable {
        let count = Mutex(0)
        func add() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    @Test func chunksThatArriveWhileTheReaderIsBusyComeAsOne() async throws {
        let (body, source) = UpstreamBody.make()
        #expect(source.yield(ByteBuffer(string: "data: 1\n\n")))
        #expect(source.yield(ByteBuffer(string: "data: 2\n\n")))
        var iterator = body.makeAsyncIterator()
        #expect(try await iterator.next().map { String(buffer: $0) } == "data: 1\n\ndata: 2\n\n")
        // A waiting reader gets the next chunk as it arrives, on its own.
        let waiting = Task {
            var iterator = body.makeAsyncIterator()
            return try await iterator.next().map { String(buffer: $0) }
        }
        try await waitForReader(source)
        source.yield(ByteBuffer(string: "data: 3\n\n"))
        #expect(try await waiting.value == "data: 3\n\n")
        source.finish()
        #expect(try await iterator.next() == nil)
        #expect(try await iterator.next() == nil)
    }

    @Test func aFailureComesAfterTheBytesBeforeIt() async throws {
        struct Cut: Error, Equatable {}
        let (body, source) = UpstreamBody.make()
        source.yield(ByteBuffer(string: "part"))
        source.finish(throwing: Cut())
        source.finish()  // later calls do nothing
        var iterator = body.makeAsyncIterator()
        #expect(try await iterator.next().map { String(buffer: $0) } == "part")
        await #expect(throws: Cut()) { _ = try await iterator.next() }
        #expect(try await iterator.next() == nil)
    }

    @Test func aFailureWakesAWaitingReader() async throws {
        struct Cut: Error, Equatable {}
        let (body, source) = UpstreamBody.make()
        let reader = Task { () async throws -> Int in
            var bytes = 0
            for try await chunk in body { bytes += chunk.readableBytes }
            return bytes
        }
        try await waitForReader(source)
        source.finish(throwing: Cut())
        await #expect(throws: Cut()) { _ = try await reader.value }
    }

    @Test func aCancelledReaderStopsTheProducerOnce() async throws {
        let abandoned = Calls()
        let (body, source) = UpstreamBody.make(onAbandoned: { abandoned.add() })
        let reader = Task {
            for try await _ in body {}
        }
        try await waitForReader(source)
        reader.cancel()
        await #expect(throws: CancellationError.self) { try await reader.value }
        #expect(abandoned.value == 1)
        #expect(!source.yield(ByteBuffer(string: "late")))
        #expect(abandoned.value == 1)
    }

    @Test func aDroppedBodyStopsTheProducerButNotOnceItEnded() async throws {
        let abandoned = Calls()
        var (body, source): (UpstreamBody?, UpstreamBody.Source) = UpstreamBody.make(onAbandoned: { abandoned.add() })
        #expect(body != nil)
        body = nil
        #expect(abandoned.value == 1)
        #expect(!source.yield(ByteBuffer(string: "nobody reads this")))

        let finished = Calls()
        var (other, otherSource): (UpstreamBody?, UpstreamBody.Source) = UpstreamBody.make(onAbandoned: { finished.add() })
        otherSource.finish()
        #expect(other != nil)
        other = nil
        #expect(finished.value == 0)
    }

    @Test func aWholeBodyYieldsItsBytesOnce() async throws {
        var chunks: [String] = []
        for try await chunk in UpstreamBody.whole(ByteBuffer(string: "{}")) { chunks.append(String(buffer: chunk)) }
        #expect(chunks == ["{}"])
        var none = 0
        for try await _ in UpstreamBody.whole(ByteBuffer()) { none += 1 }
        #expect(none == 0)
    }
}
