import HTTPTypes
import LedgerCore
import NIOCore
import Testing

@testable import LedgerProxy

/// The per-request header helpers, which scan bytes rather than characters (they run on every call).
@Suite struct RequestHeaderTests {
    @Test func theBearerSchemeIsMatchedInAnyCaseAndItsSecretTrimmed() {
        #expect(ProxyController.bearer("Bearer hsl-abc") == "hsl-abc")
        #expect(ProxyController.bearer("bearer hsl-abc") == "hsl-abc")
        #expect(ProxyController.bearer("BEARER hsl-abc  ") == "hsl-abc")
        #expect(ProxyController.bearer("BeArEr \thsl-abc\t") == "hsl-abc")
        #expect(ProxyController.bearer("Bearer hsl-é") == "hsl-é")
    }

    @Test func otherSchemesAndEmptySecretsAreNoBearer() {
        #expect(ProxyController.bearer(nil) == nil)
        #expect(ProxyController.bearer("Bearer ") == nil)
        #expect(ProxyController.bearer("Bearer    ") == nil)
        #expect(ProxyController.bearer("Bearerhsl-abc") == nil)
        #expect(ProxyController.bearer("Basic aHNsLWFiYw==") == nil)
        #expect(ProxyController.bearer("Bearar hsl-abc") == nil)
        // Bytes that set bit 5 into a letter are not that letter: "B" is 0x42, "b" 0x62, "\"" 0x22.
        #expect(ProxyController.bearer("\"earer hsl-abc") == nil)
        #expect(ProxyController.bearer("Béarer hsl-abc") == nil)
    }

    @Test func trimmingSpacesRemovesSpacesTabsAndLineEndsAtBothEndsOnly() {
        #expect(" a b ".trimmingSpaces == "a b")
        #expect("\t\r\na\r\n".trimmingSpaces == "a")
        #expect("   ".trimmingSpaces == "")
        #expect("".trimmingSpaces == "")
        #expect("é ".trimmingSpaces == "é")
        #expect("x".trimmingSpaces == "x")
    }

    @Test func hopByHopAndLedgerHeadersAreNotRelayedWhateverTheirCase() {
        let relayed = ProxyController.relayedHeaders([
            ("Content-Type", "application/json"), ("Connection", "keep-alive"), ("TRANSFER-ENCODING", "chunked"),
            ("content-length", "12"), ("Date", "today"), ("Server", "upstream"), ("x-request-id", "req-1"),
            ("Keep-Alive", "timeout=5"), ("TE", "trailers"), ("Trailer", "x"), ("Upgrade", "h2c"),
            ("Proxy-Connection", "close"), ("openai-processing-ms", "7"), ("X-Ledger-Call-Id", "forged"),
            ("x-ledger-provider", "forged"),
        ])
        #expect(relayed.map(\.name.canonicalName) == ["content-type", "x-request-id", "openai-processing-ms"])
        #expect(relayed[.contentType] == "application/json")
    }

    /// Names one byte off a dropped one (longer, shorter, a letter changed, a prefix of it) are relayed.
    @Test func onlyTheExactNamesAreKeptOut() {
        let dropped = [
            "te", "date", "server", "upgrade", "trailer", "connection", "keep-alive", "content-length",
            "proxy-connection", "transfer-encoding", "x-ledger-", "x-ledger-call-id", "X-LEDGER-TAGS", "x-Ledger-x",
        ]
        for name in dropped { #expect(ProxyController.isNotRelayed(name), "\(name)") }
        let kept = [
            "t", "tee", "dates", "dat", "servers", "upgrades", "trailers", "connectio", "connectionx", "keep-alivE2",
            "content-lengths", "content-type", "proxy-authenticate", "transfer-encodings", "x-ledger", "x-ledgers-a",
            "x-request-id", "retry-after", "x-latency-ms", "", "d@te",
        ]
        for name in kept { #expect(!ProxyController.isNotRelayed(name), "\(name)") }
    }
}

@Suite struct UpstreamHeaderLookupTests {
    @Test func headerNamesMatchIgnoringASCIICaseOnly() {
        #expect(UpstreamResponse.sameName("Content-Type", "content-type"))
        #expect(UpstreamResponse.sameName("X-REQUEST-ID", "x-request-id"))
        #expect(UpstreamResponse.sameName("", ""))
        #expect(!UpstreamResponse.sameName("content-type", "content-typ"))
        #expect(!UpstreamResponse.sameName("content-type", "content_type"))
        // '-' (0x2D) and '\r' (0x0D) differ only in bit 5, but are not letters.
        #expect(!UpstreamResponse.sameName("a-b", "a\rb"))
        #expect(!UpstreamResponse.sameName("[", "{"))
        let response = UpstreamResponse(
            status: 200, headers: [("Content-Type", "text/event-stream"), ("Request-Id", "req_1")],
            wholeBody: ByteBuffer())
        #expect(response.header("content-type") == "text/event-stream")
        #expect(response.header("REQUEST-ID") == "req_1")
        #expect(response.header("x-request-id") == nil)
    }
}
