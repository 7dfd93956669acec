import LedgerCore

/// The export's output buffer: numbers, timestamps, amounts and text written straight into one allocation through a
/// pointer, without Strings, temporary arrays or a capacity check per byte (the export writes ~40 fields per call for
/// millions of calls). Callers `reserve` room for what they are about to write, then use the unchecked writers.
///
/// A plain struct over manually managed memory: the owner calls `deallocate()` once (the exporter, in a `defer`).
struct ByteSink {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    private(set) var count = 0
    /// The last day written by `writeISOTimestamp` and its "YYYY-MM-DD" (calls come in time order: one civil date
    /// computation per day, not per timestamp).
    private var cachedDay = Int64.min
    private var cachedDate: (UInt64, UInt16) = (0, 0)

    /// The most bytes `writeDecimal`, `writePicoUSD` and `writeISOTimestamp` can write (a 64-bit year's timestamp).
    static let maxNumberBytes = 48

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    func deallocate() { base.deallocate() }

    var isEmpty: Bool { count == 0 }

    /// The bytes written so far, as an array (one copy per flushed chunk).
    var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// Replaces `chunk`'s contents with the bytes written so far, in its existing storage (a new 1 MiB array per
    /// flush would be fresh pages to fault in and clear: 5% of the export).
    func copy(into chunk: inout [UInt8]) {
        chunk.removeAll(keepingCapacity: true)
        chunk.append(contentsOf: UnsafeBufferPointer(start: base, count: count))
    }

    mutating func removeAll() { count = 0 }

    /// Room for `n` more bytes (grows only for a row larger than the whole buffer's spare room).
    @inline(__always)
    mutating func reserve(_ n: Int) {
        if count + n > capacity { grow(count + n) }
    }

    private mutating func grow(_ needed: Int) {
        let newCapacity = max(needed, capacity * 2)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    // MARK: Unchecked writers (after `reserve`)

    @inline(__always)
    mutating func write(_ byte: UInt8) {
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress else { return }
        writeShort(source, count: bytes.count)
    }

    /// Copies `n` bytes: a byte loop for the short ones (field names, most text fields), where a `memmove` call costs
    /// more than the copy.
    @inline(__always)
    mutating func writeShort(_ source: UnsafePointer<UInt8>, count n: Int) {
        let p = base + count
        if n <= 24 {
            for k in 0..<n { p[k] = source[k] }
        } else {
            p.update(from: source, count: n)
        }
        count += n
    }

    /// "null" as one 32-bit store.
    @inline(__always)
    mutating func writeNull() {
        UnsafeMutableRawPointer(base + count).storeBytes(of: UInt32(0x6C6C_756E).littleEndian, as: UInt32.self)
        count += 4
    }

    /// A signed decimal integer.
    @inline(__always)
    mutating func writeDecimal(_ value: Int64) {
        if value < 0 {
            write(UInt8(ascii: "-"))
            // -Int64.min overflows; its magnitude as UInt64 does not.
            writeUnsigned(UInt64(bitPattern: 0 &- value))
        } else {
            writeUnsigned(UInt64(value))
        }
    }

    /// The decimal digits of `value`, at least `minimumDigits` of them (zero-padded on the left, at most 20).
    mutating func writeUnsigned(_ value: UInt64, minimumDigits: Int = 1) {
        let digits = max(Self.digitCount(value), minimumDigits)
        Self.putDigits(value, digits, at: base + count)
        count += digits
    }

    /// Exact USD with 12 decimals ("0.004900000000") for a pico-USD amount: the same text as `Money.exactUSDString`.
    mutating func writePicoUSD(_ pico: Int64) {
        let magnitude = pico < 0 ? UInt64(bitPattern: 0 &- pico) : UInt64(pico)
        if pico < 0 { write(UInt8(ascii: "-")) }
        let whole = magnitude / 1_000_000_000_000
        writeUnsigned(whole)
        write(UInt8(ascii: "."))
        Self.putDigits(magnitude - whole * 1_000_000_000_000, 12, at: base + count)
        count += 12
    }

    /// "2026-11-01T12:00:00.000001Z" for microseconds since the epoch (UTC).
    mutating func writeISOTimestamp(micros: Int64) {
        let day = UTCDate.floorDiv(micros, UTCDate.microsPerDay)
        let rest = UInt64(micros - day * UTCDate.microsPerDay)  // 0 ..< 86,400,000,000
        if day != cachedDay {
            let c = UTCDate.civil(days: day)
            if c.year < 0 || c.year > 9999 {
                // Outside four-digit years (never a recorded call): the general path, not cached.
                writeUnsigned(UInt64(c.year), minimumDigits: 4)
                writeMonthDay(c.month, c.day)
                writeTime(rest)
                return
            }
            var date: (UInt64, UInt16) = (0, 0)
            withUnsafeMutableBytes(of: &date) { raw in
                let p = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
                Self.putDigits(UInt64(c.year), 4, at: p)
                p[4] = UInt8(ascii: "-")
                Self.putDigits(UInt64(c.month), 2, at: p + 5)
                p[7] = UInt8(ascii: "-")
                Self.putDigits(UInt64(c.day), 2, at: p + 8)
            }
            cachedDay = day
            cachedDate = date
        }
        withUnsafeBytes(of: cachedDate) { raw in
            UnsafeMutableRawPointer(base + count).copyMemory(from: raw.baseAddress!, byteCount: 10)
        }
        count += 10
        writeTime(rest)
    }

    private mutating func writeMonthDay(_ month: Int, _ day: Int) {
        write(UInt8(ascii: "-"))
        Self.putDigits(UInt64(month), 2, at: base + count)
        count += 2
        write(UInt8(ascii: "-"))
        Self.putDigits(UInt64(day), 2, at: base + count)
        count += 2
    }

    /// "T12:00:00.000001Z" for microseconds into the day.
    private mutating func writeTime(_ microsOfDay: UInt64) {
        let seconds = microsOfDay / 1_000_000
        let us = microsOfDay - seconds * 1_000_000
        let p = base + count
        p[0] = UInt8(ascii: "T")
        Self.putDigits(seconds / 3600, 2, at: p + 1)
        p[3] = UInt8(ascii: ":")
        Self.putDigits(seconds / 60 % 60, 2, at: p + 4)
        p[6] = UInt8(ascii: ":")
        Self.putDigits(seconds % 60, 2, at: p + 7)
        p[9] = UInt8(ascii: ".")
        Self.putDigits(us, 6, at: p + 10)
        p[16] = UInt8(ascii: "Z")
        count += 17
    }

    /// A CSV text field from UTF-8 bytes, neutralised and quoted exactly as `CSVRenderer.field`.
    mutating func writeCSVField(_ bytes: UnsafeBufferPointer<UInt8>) {
        let first = bytes.first
        let neutralise =
            first == UInt8(ascii: "=") || first == UInt8(ascii: "+") || first == UInt8(ascii: "-")
            || first == UInt8(ascii: "@") || first == 9 || first == 13
        var quotes = 0
        var special = false
        for b in bytes where b == UInt8(ascii: ",") || b == UInt8(ascii: "\"") || b == 13 || b == 10 {
            special = true
            if b == UInt8(ascii: "\"") { quotes += 1 }
        }
        guard neutralise || special else {
            reserve(bytes.count)
            write(bytes)
            return
        }
        reserve(bytes.count + quotes + 3)
        write(UInt8(ascii: "\""))
        if neutralise { write(UInt8(ascii: "'")) }
        if quotes == 0 {
            write(bytes)
        } else {
            for b in bytes {
                if b == UInt8(ascii: "\"") { write(b) }
                write(b)
            }
        }
        write(UInt8(ascii: "\""))
    }

    /// A JSON string literal from UTF-8 bytes (RFC 8259 escapes), byte for byte as `JSONString.appendQuoted`.
    mutating func writeJSONString(_ bytes: UnsafeBufferPointer<UInt8>) {
        // Most fields need no escape: copy them whole; otherwise escape (6 bytes at most per input byte).
        if !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            reserve(bytes.count + 2)
            write(UInt8(ascii: "\""))
            write(bytes)
            write(UInt8(ascii: "\""))
            return
        }
        reserve(bytes.count * 6 + 2)
        write(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                write(0x5C)
                write(byte)
            case 0x0A:
                write(0x5C)
                write(UInt8(ascii: "n"))
            case 0x0D:
                write(0x5C)
                write(UInt8(ascii: "r"))
            case 0x09:
                write(0x5C)
                write(UInt8(ascii: "t"))
            case 0..<0x20:
                write(0x5C)
                write(UInt8(ascii: "u"))
                write(UInt8(ascii: "0"))
                write(UInt8(ascii: "0"))
                let low = byte & 0x0F
                write(UInt8(ascii: "0") + (byte >> 4))
                write(low < 10 ? UInt8(ascii: "0") + low : UInt8(ascii: "a") + low - 10)
            default: write(byte)
            }
        }
        write(UInt8(ascii: "\""))
    }

    // MARK: Digits

    /// How many decimal digits `value` has (1 for 0), by comparisons only.
    @inline(__always)
    static func digitCount(_ value: UInt64) -> Int {
        if value < 10 { return 1 }
        if value < 100 { return 2 }
        if value < 1000 { return 3 }
        if value < 10000 { return 4 }
        var n = 5
        var threshold: UInt64 = 100_000
        while n < 20, value >= threshold {
            n += 1
            threshold &*= 10
        }
        return n
    }

    /// "00" "01" ... "99": a literal in the binary's constant data (no lazy global, no `swift_once`).
    private static var pairs: StaticString {
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
    }

    /// Writes the last `digits` decimal digits of `value` (zero-padded) at `p`, two at a time from the right:
    /// divisions by the constant 100 (a multiplication), a 2-byte copy from the pair table per step.
    @inline(__always)
    static func putDigits(_ value: UInt64, _ digits: Int, at p: UnsafeMutablePointer<UInt8>) {
        let table = UnsafeRawPointer(pairs.utf8Start)
        var v = value
        var i = digits
        while i >= 2 {
            let q = v / 100
            let r = Int(v &- q &* 100)
            i -= 2
            UnsafeMutableRawPointer(p + i).copyMemory(from: table + 2 * r, byteCount: 2)
            v = q
        }
        if i == 1 { p[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v % 10) }
    }
}
