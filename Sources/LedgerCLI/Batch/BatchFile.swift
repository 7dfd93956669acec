import LedgerCore
import LedgerRouting

/// Reads `batch FILE.jsonl` input. Each non-blank line is one chat completion request, in either form:
///
///     {"model":"auto","messages":[{"role":"user","content":"Hi"}],"task_type":"code","priority":4}
///     {"custom_id":"r1","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4.1","messages":[...]}}
///
/// The second is the OpenAI Batch API's line format. `task_type` and `priority` may also sit in the request's
/// `metadata`. A malformed line becomes a failed ``BatchLine`` naming its line number; it does not stop the others.
enum BatchFile {
    /// Members that steer the batch and are not sent upstream.
    static let batchOnlyKeys: Set<String> = ["task_type", "priority", "custom_id"]

    /// Every non-blank line of `text`, in order. Accepts LF or CRLF line ends and a leading byte-order mark.
    static func parse(_ text: String) -> [BatchLine] {
        var lines: [BatchLine] = []
        var number = 0
        // "\r\n" is one Character in Swift, so it is a separator of its own.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            var line = Substring(rawLine)
            if number == 1, line.hasPrefix("\u{FEFF}") { line = line.dropFirst() }
            if line.hasSuffix("\r") { line = line.dropLast() }
            guard !String(line).trimmingSpaces().isEmpty else { continue }
            do {
                lines.append(BatchLine(line: number, request: .success(try request(fromLine: line, number: number))))
            } catch {
                lines.append(BatchLine(line: number, request: .failure(error)))
            }
        }
        return lines
    }

    /// Reads one line.
    /// - Throws: ``RoutingError/malformedBatchLine(line:reason:)`` naming `number`.
    static func request(fromLine text: some StringProtocol, number: Int) throws(RoutingError) -> BatchRequest {
        let bytes = Array(text.utf8)
        let document: JSONValue
        do {
            document = try JSONScanner.parse(bytes: bytes)
        } catch {
            throw .malformedBatchLine(line: number, reason: "not valid JSON: \(error)")
        }
        guard case .object(let lineMembers) = document else {
            throw .malformedBatchLine(line: number, reason: "expected a JSON object, got \(document.kindName)")
        }

        var customID: String?
        var requestValue = document
        var requestMembers = lineMembers
        var requestBytes = bytes
        if let body = document["body"] {
            // OpenAI Batch API form.
            guard case .object(let members) = body else {
                throw .malformedBatchLine(line: number, reason: "\"body\" must be an object, got \(body.kindName)")
            }
            if let url = document["url"] {
                guard url.stringValue == "/v1/chat/completions" else {
                    throw .malformedBatchLine(
                        line: number,
                        reason: "only /v1/chat/completions requests can be batched (url is \(url.display))"
                    )
                }
            }
            if let method = document["method"], method.stringValue?.uppercased() != "POST" {
                throw .malformedBatchLine(line: number, reason: "\"method\" must be POST (got \(method.display))")
            }
            let range = lineMembers.last(where: { $0.key == "body" })!.valueRange
            requestBytes = Array(bytes[range])
            // Rebase the member ranges onto the body's own bytes.
            requestMembers = members.map { member in
                var rebased = member
                rebased.range = member.range.shifted(by: -range.lowerBound)
                rebased.valueRange = member.valueRange.shifted(by: -range.lowerBound)
                return rebased
            }
            requestValue = body
        }
        if let id = document["custom_id"] {
            guard let text = id.stringValue else {
                throw .malformedBatchLine(line: number, reason: "\"custom_id\" must be a string, got \(id.kindName)")
            }
            customID = text
        }

        guard let modelValue = requestValue["model"] else {
            throw .malformedBatchLine(line: number, reason: "missing \"model\"")
        }
        guard let model = modelValue.stringValue, !model.trimmingSpaces().isEmpty else {
            throw .malformedBatchLine(line: number, reason: "\"model\" must be a non-empty string")
        }
        guard case .array(let messages)? = requestValue["messages"], !messages.isEmpty else {
            throw .malformedBatchLine(line: number, reason: "\"messages\" must be a non-empty array")
        }
        for (position, message) in messages.enumerated() {
            guard case .object = message, message["role"]?.stringValue != nil else {
                throw .malformedBatchLine(
                    line: number, reason: "messages[\(position)] must be an object with a string \"role\""
                )
            }
        }
        var stream = false
        if let streamValue = requestValue["stream"] {
            guard case .bool(let flag) = streamValue else {
                throw .malformedBatchLine(line: number, reason: "\"stream\" must be true or false")
            }
            stream = flag
        }

        let metadata = requestValue["metadata"]
        let taskValue = document["task_type"] ?? requestValue["task_type"] ?? metadata?["task_type"]
        var taskType: String?
        if let taskValue {
            guard let text = taskValue.stringValue else {
                throw .malformedBatchLine(
                    line: number, reason: "\"task_type\" must be a string, got \(taskValue.kindName)")
            }
            taskType = TaskRouter.taskType(header: nil, metadata: text)
        }
        var priority: RequestPriority?
        if let priorityValue = document["priority"] ?? requestValue["priority"] ?? metadata?["priority"] {
            let text: String? =
                switch priorityValue {
                case .number(let literal): literal
                case .string(let literal): literal
                default: nil
                }
            guard let text, let parsed = try? RequestPriority(parsing: text) else {
                throw .malformedBatchLine(
                    line: number,
                    reason: "\"priority\" must be a whole number from 1 to 5 (got \(priorityValue.display))"
                )
            }
            priority = parsed
        }

        let body = JSONScanner.removingMembers(batchOnlyKeys, from: requestMembers, in: requestBytes)
        return BatchRequest(
            line: number, customID: customID, model: model, body: body, taskType: taskType, priority: priority,
            stream: stream
        )
    }
}

extension JSONValue {
    /// A short rendering for messages.
    fileprivate var display: String {
        switch self {
        case .string(let text): "'\(text)'"
        case .number(let text): text
        case .bool(let flag): String(flag)
        case .null: "null"
        case .object, .array: kindName
        }
    }
}

extension Range<Int> {
    fileprivate func shifted(by offset: Int) -> Range<Int> { (lowerBound + offset)..<(upperBound + offset) }
}
