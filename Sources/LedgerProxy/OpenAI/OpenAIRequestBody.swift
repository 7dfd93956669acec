package import LedgerCore

/// A client's JSON request body (any dialect), scanned once: what the proxy reads from it and the minimal edits it
/// makes.
package struct OpenAIRequestBody: Sendable {
    package let bytes: [UInt8]
    package let object: JSONObjectScan

    /// Scans `bytes`; throws when they are not one JSON object.
    package init(bytes: [UInt8]) throws(JSONScanError) {
        self.bytes = bytes
        self.object = try JSONObjectScan(bytes)
    }

    /// The `model` member when it is a string.
    package var model: String? { object.string("model", in: bytes) }
    /// True when the client asked for a streamed reply.
    package var stream: Bool { object.bool("stream", in: bytes) ?? false }
    /// True when the client itself asked for the usage chunk (`stream_options.include_usage: true`).
    package var clientRequestedUsage: Bool {
        object.object("stream_options", in: bytes)?.bool("include_usage", in: bytes) ?? false
    }
    /// `metadata.task_type` when it is a string (routes `auto` models).
    package var metadataTaskType: String? { object.object("metadata", in: bytes)?.string("task_type", in: bytes) }
    /// `metadata.priority` as written: a number's digits or a string's text.
    package var metadataPriority: String? {
        guard let metadata = object.object("metadata", in: bytes) else { return nil }
        if let text = metadata.string("priority", in: bytes) { return text }
        guard let member = metadata.member("priority"), bytes[member.valueRange.lowerBound] != UInt8(ascii: "n")
        else { return nil }
        return String(decoding: bytes[member.valueRange], as: UTF8.self)
    }
    /// True when the body has a member named `key` (any value but null).
    package func has(_ key: String) -> Bool {
        guard let member = object.member(key) else { return false }
        return bytes[member.valueRange.lowerBound] != UInt8(ascii: "n")
    }

    /// The body to send upstream when it differs from ``bytes``: unchanged except `model` (when routed elsewhere or
    /// named otherwise at the provider) and, for OpenAI chat streams (`forcingStreamUsage`),
    /// `stream_options.include_usage` forced to true; everything else byte-for-byte what the client sent. Nil when
    /// no edit applies (the usual case, where the client's buffer is sent as it came).
    package func editedBytes(model routed: String?, forcingStreamUsage: Bool = true) -> [UInt8]? {
        var edits: [(range: Range<Int>, replacement: [UInt8])] = []
        if let routed, routed != model, let member = object.member("model") {
            edits.append((member.valueRange, JSONString.quotedBytes(routed)))
        }
        if forcingStreamUsage && stream && !clientRequestedUsage {
            if let member = object.member("stream_options") {
                if let options = object.object("stream_options", in: bytes) {
                    if let include = options.member("include_usage") {
                        edits.append((include.valueRange, Array("true".utf8)))
                    } else {
                        let at = options.range.lowerBound + 1
                        let separator = options.members.isEmpty ? "" : ","
                        edits.append((at..<at, Array("\"include_usage\":true\(separator)".utf8)))
                    }
                } else {
                    edits.append((member.valueRange, Array("{\"include_usage\":true}".utf8)))
                }
            } else {
                let at = object.range.upperBound - 1
                let separator = object.members.isEmpty ? "" : ","
                edits.append((at..<at, Array("\(separator)\"stream_options\":{\"include_usage\":true}".utf8)))
            }
        }
        guard !edits.isEmpty else { return nil }
        var result = bytes
        for edit in edits.sorted(by: { $0.range.lowerBound > $1.range.lowerBound }) {
            result.replaceSubrange(edit.range, with: edit.replacement)
        }
        return result
    }
}
