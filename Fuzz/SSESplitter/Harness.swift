/// libFuzzer entry: splitting a stream at any chunk boundaries gives the same events, and events plus the
/// remainder reproduce the input byte for byte.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSSESplitter(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard !bytes.isEmpty else { return 0 }
    // The first byte chooses the chunk size, the rest is the stream.
    let chunkSize = Int(bytes[0] % 17) + 1
    let stream = Array(bytes.dropFirst())

    var whole = SSEEventSplitter()
    let wholeEvents = whole.append(stream)

    var chunked = SSEEventSplitter()
    var chunkedEvents: [[UInt8]] = []
    var offset = 0
    while offset < stream.count {
        let end = min(offset + chunkSize, stream.count)
        chunkedEvents += chunked.append(stream[offset..<end])
        offset = end
    }
    precondition(wholeEvents == chunkedEvents, "chunking changed the events")
    precondition(whole.remainder == chunked.remainder, "chunking changed the remainder")
    precondition(Array(wholeEvents.joined()) + whole.remainder == stream, "events do not reproduce the stream")
    for event in wholeEvents { _ = SSEEventSplitter.data(of: event) }
    _ = SSEEventSplitter.data(of: whole.remainder)
    return 0
}
