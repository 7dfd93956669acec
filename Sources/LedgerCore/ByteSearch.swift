#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Array where Element == UInt8 {
    /// Where `needle` first occurs at or after `start`, or nil. Jumps between candidates with the C library's
    /// `memchr` (vectorised in glibc) on the needle's second byte (its first is often a quote, frequent in JSON) and
    /// compares with `memcmp`: the proxy runs this over every streamed event, where a byte-by-byte Swift scan cost
    /// ~15,000 instructions per streamed call (bench/callgrind.py).
    package func firstOffset(of needle: [UInt8], from start: Int = 0) -> Int? {
        withUnsafeBytes { $0.firstOffset(of: needle, from: start) }
    }

    /// Where the byte `byte` first occurs in `from..<to`, or nil (the C library's `memchr`).
    package func firstOffset(of byte: UInt8, from start: Int, to end: Int) -> Int? {
        guard start >= 0, start < end, end <= count else { return nil }
        return withUnsafeBufferPointer { bytes -> Int? in
            guard let base = bytes.baseAddress, let found = memchr(base + start, Int32(byte), end - start) else {
                return nil
            }
            return UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found))
        }
    }
}

extension UnsafeRawBufferPointer {
    /// ``Swift/Array/firstOffset(of:from:)`` over any contiguous bytes (a `ByteBuffer`'s readable bytes, say).
    package func firstOffset(of needle: [UInt8], from start: Int = 0) -> Int? {
        guard !needle.isEmpty, start >= 0, needle.count <= count - start, let base = baseAddress else { return nil }
        let anchor = needle.count > 1 ? 1 : 0
        let last = count - needle.count
        return needle.withUnsafeBufferPointer { needle -> Int? in
            guard let pattern = needle.baseAddress else { return nil }
            var position = start
            while position <= last {
                guard let hit = memchr(base + position + anchor, Int32(pattern[anchor]), last - position + 1) else {
                    return nil
                }
                let candidate = base.distance(to: UnsafeRawPointer(hit)) - anchor
                if memcmp(base + candidate, pattern, needle.count) == 0 { return candidate }
                position = candidate + 1
            }
            return nil
        }
    }
}
