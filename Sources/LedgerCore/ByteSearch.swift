extension Array where Element == UInt8 {
    /// Where `needle` first occurs at or after `start`, or nil. A plain scan: the proxy's needles and haystacks
    /// (task types, SSE chunks) are short, and it beats the generic collection search there.
    package func firstOffset(of needle: [UInt8], from start: Int = 0) -> Int? {
        guard !needle.isEmpty, start >= 0, needle.count <= count - start else { return nil }
        var position = start
        while position <= count - needle.count {
            if self[position] == needle[0] {
                var offset = 1
                while offset < needle.count && self[position + offset] == needle[offset] { offset += 1 }
                if offset == needle.count { return position }
            }
            position += 1
        }
        return nil
    }
}
