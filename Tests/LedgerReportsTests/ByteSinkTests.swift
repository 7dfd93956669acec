import LedgerCore
import Testing

@testable import LedgerReports

/// The export's byte writers against the String formatters they replace, on edge values and many pseudo-random ones.
@Suite struct ByteSinkTests {
    static func written(_ body: (inout ByteSink) -> Void) -> String {
        var sink = ByteSink(capacity: 64)
        defer { sink.deallocate() }
        body(&sink)
        return String(decoding: sink.bytes, as: UTF8.self)
    }

    /// Deterministic pseudo-random 64-bit values of every magnitude (splitmix64, then shifted to 0-63 bits).
    static func values(_ n: Int) -> [Int64] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var out: [Int64] = []
        for _ in 0..<n {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            out.append(Int64(bitPattern: z >> (z & 63)))
            out.append(0 &- Int64(bitPattern: z >> ((z >> 8) & 63)))
        }
        var edges: [Int64] = [0, 1, -1, 9, 10, 99, 100, 101, 999, 1000, .max, .min, .max - 1, .min + 1]
        var p: Int64 = 1
        for _ in 0..<18 {
            p *= 10
            edges += [p - 1, p, p + 1, -p, -(p - 1)]
        }
        return edges + out
    }

    @Test func decimalsAreStringOfTheInteger() {
        for v in Self.values(20_000) {
            #expect(Self.written { $0.reserve(ByteSink.maxNumberBytes); $0.writeDecimal(v) } == String(v))
        }
    }

    @Test func picoUSDIsMoneyExactUSDString() {
        for v in Self.values(20_000) {
            #expect(
                Self.written { $0.reserve(ByteSink.maxNumberBytes); $0.writePicoUSD(v) }
                    == Money(picoUSD: v).exactUSDString)
        }
    }

    /// Timestamps from 1900 to 9999, in order within a day and across days (the date cache), and shuffled.
    @Test func timestampsAreUTCDateISOTimestamp() {
        let lowest = UTCDate.micros(parsing: "1900-01-01")!
        let highest = UTCDate.micros(parsing: "9999-12-31T23:59:59.999999Z")!
        var stamps = Self.values(20_000).map { lowest + Int64(UInt64(bitPattern: $0) % UInt64(highest - lowest + 1)) }
        let start = UTCDate.micros(parsing: "2026-11-30T23:59:58.999999Z")!
        stamps += (0..<3000).map { start + Int64($0) * 1_000_003 }
        stamps += [0, -1, 1, highest, lowest, UTCDate.micros(parsing: "2024-02-29T12:00:00Z")!]
        var sink = ByteSink(capacity: 64)
        defer { sink.deallocate() }
        for t in stamps {
            sink.removeAll()
            sink.reserve(ByteSink.maxNumberBytes)
            sink.writeISOTimestamp(micros: t)
            #expect(String(decoding: sink.bytes, as: UTF8.self) == UTCDate.isoTimestamp(micros: t))
        }
    }

    @Test func textIsCSVRendererFieldAndJSONStringQuote() {
        let texts = [
            "", "plain", "legal, EU", "=HYPERLINK(\"http://x\",\"y\")", "+1", "-", "@a", "\ttab", "\rcr", "a\r\nb",
            "say \"hi\"", "back\\slash", "\u{01}\u{1F}\u{7F}", "nul\u{0}", "ünïcødé ✓ 🚀", "\"", ",", "\n",
            String(repeating: "\"", count: 300), String(repeating: "x", count: 5000),
        ]
        for text in texts {
            var bytes = Array(text.utf8)
            let csv = bytes.withUnsafeMutableBufferPointer { b in
                Self.written { $0.writeCSVField(UnsafeBufferPointer(b)) }
            }
            #expect(csv == CSVRenderer.field(text))
            bytes = Array(text.utf8)
            let json = bytes.withUnsafeMutableBufferPointer { b in
                Self.written { $0.writeJSONString(UnsafeBufferPointer(b)) }
            }
            #expect(json == JSONString.quote(text))
        }
    }

    @Test func nullIsFourBytes() {
        #expect(Self.written { $0.reserve(4); $0.writeNull() } == "null")
    }
}
