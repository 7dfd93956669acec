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
        while i < pending.count {
            // "\n\n" or "\n\r\n", both newlines inside the current event: whether an event ends here depends only
            // on the bytes since the previous event ended, so any chunking of a stream gives the same events.
            if pending[i] == 0x0A {
                let endsEvent =
                    (i - 1 >= start && pending[i - 1] == 0x0A)
                    || (i - 2 >= start && pending[i - 1] == 0x0D && pending[i - 2] == 0x0A)
                if endsEvent {
                    events.append(Array(pending[start...i]))
                    start = i + 1
                }
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
        var i = 0
        while i <= event.count {
            if i == event.count || event[i] == 0x0A {
                var line = event[lineStart..<i]
                if line.last == 0x0D { line = line.dropLast() }
                if line.starts(with: "data:".utf8) {
                    var value = line.dropFirst(5)
                    if value.first == 0x20 { value = value.dropFirst() }
                    if payload == nil { payload = Array(value) } else { payload! += [0x0A] + value }
                }
                lineStart = i + 1
            }
            i += 1
        }
        return payload
    }
}
