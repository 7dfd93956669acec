import Testing

@testable import LedgerProxy

/// `"usage":null` removal from stream chunks (the client did not ask for usage; the proxy forced it upstream).
@Suite struct StreamUsageTests {
    private func strip(_ event: String) -> String? {
        ChatStreamRelay.removingNullUsage(Array(event.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test(arguments: [
        (#"data: {"id":"c1","choices":[{"index":0}],"usage":null}\#n\#n"#, #"data: {"id":"c1","choices":[{"index":0}]}\#n\#n"#),
        (#"data: {"usage":null,"id":"c1"}\#n\#n"#, #"data: {"id":"c1"}\#n\#n"#),
        (#"data: {"id":"c1","usage":null,"x":1}\#n\#n"#, #"data: {"id":"c1","x":1}\#n\#n"#),
        (#"data: {"usage":null}\#r\#n\#r\#n"#, "data: {}\r\n\r\n"),
        (#"data:{"id":"c1", "usage":null }\#n\#n"#, #"data:{"id":"c1" }\#n\#n"#),
    ])
    func removesTheTopLevelNullUsageMember(event: String, expected: String) {
        #expect(strip(event) == expected)
    }

    @Test(arguments: [
        #"data: {"id":"c1","choices":[],"usage":{"prompt_tokens":1}}\#n\#n"#,  // real usage stays
        #"data: {"id":"c1","choices":[{"delta":{"usage":null}}]}\#n\#n"#,  // not top-level
        #"data: {"id":"c1","choices":[{"delta":{"content":"say \"usage\":null"}}]}\#n\#n"#,  // inside a string
        "data: [DONE]\n\n",
        #"event: ping\#n\#n"#,
        #"data: {"id":"c1","usage":null\#n\#n"#,  // not JSON: left alone
    ])
    func leavesOtherEventsAlone(event: String) {
        #expect(strip(event) == nil)
    }
}
