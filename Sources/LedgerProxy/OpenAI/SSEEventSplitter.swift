import LedgerCore

/// Splits a server-sent-events byte stream into whole events as the bytes arrive.
///
/// An event ends at a blank line ("\n\n" or "\r\n\r\n"); the bytes of each event are returned with their
/// terminator, so forwarding them unchanged reproduces the stream exactly.
package struct SSEEventSplitter: Sendable {
    private var pending: [UInt8] = []
    private var scanFrom = 0

    package init() {}

    /// Appends `chunk` and returns the events it completed, in order.
    package mutating func append(_ chunk: some Collection<UInt8>) -> [[UInt8]] {
        pending.append(contentsOf: chunk)
        var events: [[UInt8]] = []
        var start = 0
        var i = max(scanFrom, 1)
        // From newline to newline (the C library's memchr), not byte by byte.
        while i < pending.count, let newline = pending.firstOffset(of: 0x0A, from: i, to: pending.count) {
            i = newline
            // "\n\n" or "\n\r\n", both newlines inside the current event: whether an event ends here depends only
            // on the bytes since the previous event ended, so any chunking of a stream gives the same events.
            let endsEvent =
                (i - 1 >= start && pending[i - 1] == 0x0A)
                || (i - 2 >= start && pending[i - 1] == 0x0D && pending[i - 2] == 0x0A)
            if endsEvent {
                events.append(Array(pending[start...i]))
                start = i + 1
            }
            i += 1
        }
        if start > 0 { pending.removeFirst(start) }
        scanFrom = pending.count
        return events
    }

    /// Bytes of an unfinished event (the stream ended without its blank line).
    package var remainder: [UInt8] { pending }

    /// The `data:` payload of an event (several data lines joined by "\n"), or nil when it has none.
    package static func data(of event: [UInt8]) -> [UInt8]? {
        var payload: [UInt8]? = nil
        var lineStart = 0
        let count = event.count
        while lineStart <= count {
            let lineEnd = event.firstOffset(of: 0x0A, from: lineStart, to: count) ?? count
            var end = lineEnd
            if end > lineStart && event[end - 1] == 0x0D { end -= 1 }
            if end - lineStart >= 5 && event[lineStart] == UInt8(ascii: "d") && event[lineStart + 1] == UInt8(ascii: "a")
                && event[lineStart + 2] == UInt8(ascii: "t") && event[lineStart + 3] == UInt8(ascii: "a")
                && event[lineStart + 4] == UInt8(ascii: ":")
            {
                var valueStart = lineStart + 5
                if valueStart < end && event[valueStart] == 0x20 { valueStart += 1 }
                if payload == nil {
                    payload = Array(event[valueStart..<end])
                } else {
                    payload!.append(0x0A)
                    payload!.append(contentsOf: event[valueStart..<end])
                }
            }
            lineStart = lineEnd + 1
        }
        return payload
    }
}
