import LedgerCore
import LedgerRouting
import Testing

@testable import LedgerCLI

@Suite struct BatchFileTests {
    @Test func readsPlainRequestsAndStripsBatchOnlyFieldsKeepingTheRestByteForByte() throws {
        let text = """
            {"model":"auto","messages":[{"role":"user","content":"Write a sort"}],"task_type":"code","temperature":0.70,"priority":4,"x_unknown":{"a":[1,2e3]}}
            """
        let lines = BatchFile.parse(text)
        #expect(lines.count == 1)
        let request = try lines[0].request.get()
        #expect(request.line == 1)
        #expect(request.model == "auto")
        #expect(request.taskType == "code")
        #expect(request.priority?.value == 4)
        #expect(!request.stream)
        #expect(
            request.body
                == #"{"model":"auto","messages":[{"role":"user","content":"Write a sort"}],"temperature":0.70,"x_unknown":{"a":[1,2e3]}}"#
        )
    }

    @Test func readsTheOpenAIBatchAPIFormAndMetadataHints() throws {
        let text = """
            {"custom_id":"r-1","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4.1","stream":true,"messages":[{"role":"user","content":"Hi \\u00e9"}],"metadata":{"task_type":"fast","priority":"2"}}}
            """
        let request = try #require(try BatchFile.parse(text).first?.request.get())
        #expect(request.customID == "r-1")
        #expect(request.model == "gpt-4.1")
        #expect(request.stream)
        #expect(request.taskType == "fast")
        #expect(request.priority?.value == 2)
        #expect(request.body.hasPrefix(#"{"model":"gpt-4.1","stream":true,"#))
        #expect(request.body.hasSuffix(#""metadata":{"task_type":"fast","priority":"2"}}"#))
    }

    @Test func malformedLinesAreNamedByLineNumberAndDoNotStopTheOthers() {
        let text =
            [
                #"{"model":"a","messages":[{"role":"user","content":"1"}]}"#,
                "",
                #"{"model":"a","messages":[{"role":"user","content":"2"}"#,
                #"{"messages":[{"role":"user","content":"3"}]}"#,
                #"{"model":"a","messages":[]}"#,
                #"{"model":"a","messages":[{"role":"user"}],"priority":9}"#,
                #"["not","an","object"]"#,
                #"{"custom_id":"e","url":"/v1/embeddings","body":{"model":"a","messages":[{"role":"user"}]}}"#,
                #"{"model":"a","messages":[{"role":"user","content":"ok"}]}"#,
            ].joined(separator: "\r\n") + "\n"
        let lines = BatchFile.parse(text)
        #expect(lines.map(\.line) == [1, 3, 4, 5, 6, 7, 8, 9])
        var failures: [Int: String] = [:]
        for line in lines {
            if case .failure(let error) = line.request { failures[line.line] = error.description }
        }
        #expect(Set(failures.keys) == [3, 4, 5, 6, 7, 8])
        #expect(failures[3] == "line 3: not valid JSON: unexpected end of input in an array at column 55")
        #expect(failures[4] == #"line 4: missing "model""#)
        #expect(failures[5] == #"line 5: "messages" must be a non-empty array"#)
        #expect(failures[6] == #"line 6: "priority" must be a whole number from 1 to 5 (got 9)"#)
        #expect(failures[7] == "line 7: expected a JSON object, got an array")
        #expect(failures[8]?.contains("/v1/embeddings") == true)
        #expect((try? lines.last?.request.get())?.line == 9)
    }

    @Test func resultLinesAreOneJSONObjectInAFixedKeyOrder() throws {
        let ok = BatchResult(
            line: 2, customID: "r\"1", requestedModel: "auto", model: "deepseek-v3.2", provider: "holysheep",
            httpStatus: 200, attempts: 2, fallbackUsed: false, latencyMicros: 12_345, callID: 7,
            responseJSON: #" {"id":"x","choices":[]} "#
        )
        #expect(
            ok.jsonLine
                == #"{"line":2,"custom_id":"r\"1","status":"ok","http_status":200,"requested_model":"auto","model":"deepseek-v3.2","provider":"holysheep","attempts":2,"fallback_used":false,"latency_ms":12.345,"call_id":7,"response":{"id":"x","choices":[]}}"#
        )
        let failed = BatchResult(line: 3, error: .malformedBatchLine(line: 3, reason: "missing \"model\"\n"))
        #expect(
            failed.jsonLine
                == #"{"line":3,"status":"error","attempts":0,"fallback_used":false,"error":{"message":"line 3: missing \"model\"\n","code":"invalid_request_error"}}"#
        )
        _ = try JSONScanner.parse(ok.jsonLine)
        _ = try JSONScanner.parse(failed.jsonLine)
        #expect(BatchResult(line: 1, responseJSON: "oops {").jsonLine.contains(#""response":"oops {""#))
    }

    @Test func theProgressBarFillsInProportion() {
        #expect(BatchProgress.bar(done: 0, total: 4, failed: 0, width: 8) == "[........] 0/4")
        #expect(BatchProgress.bar(done: 3, total: 4, failed: 1, width: 8) == "[######..] 3/4  1 failed")
        #expect(BatchProgress.bar(done: 4, total: 4, failed: 0, width: 8) == "[########] 4/4")
    }
}
