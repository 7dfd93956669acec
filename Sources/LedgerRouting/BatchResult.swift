import LedgerCore

/// The outcome of one batch line, written as one JSONL output line in input order.
package struct BatchResult: Sendable, Hashable {
    package var line: Int
    package var customID: String?
    package var requestedModel: String?
    /// The model after routing.
    package var model: String?
    package var provider: String?
    package var httpStatus: Int?
    package var attempts: Int
    package var fallbackUsed: Bool
    package var latencyMicros: Int64?
    /// The ledger row's id, when the call was recorded.
    package var callID: Int64?
    /// The upstream reply's JSON, embedded as is (as a string if it is not valid JSON).
    package var responseJSON: String?
    /// Nil on success.
    package var errorMessage: String?
    package var errorCode: String?

    package init(
        line: Int, customID: String? = nil, requestedModel: String? = nil, model: String? = nil,
        provider: String? = nil, httpStatus: Int? = nil, attempts: Int = 0, fallbackUsed: Bool = false,
        latencyMicros: Int64? = nil, callID: Int64? = nil, responseJSON: String? = nil, errorMessage: String? = nil,
        errorCode: String? = nil
    ) {
        self.line = line
        self.customID = customID
        self.requestedModel = requestedModel
        self.model = model
        self.provider = provider
        self.httpStatus = httpStatus
        self.attempts = attempts
        self.fallbackUsed = fallbackUsed
        self.latencyMicros = latencyMicros
        self.callID = callID
        self.responseJSON = responseJSON
        self.errorMessage = errorMessage
        self.errorCode = errorCode
    }

    /// A failed line that never reached the router (malformed input).
    package init(line: Int, error: RoutingError) {
        self.init(line: line, errorMessage: error.description, errorCode: error.openAICode)
    }

    package var succeeded: Bool { errorMessage == nil }

    /// One JSON object on one line (no trailing newline), keys in a fixed order.
    package var jsonLine: String {
        var fields: [(String, String)] = [("line", String(line))]
        if let customID { fields.append(("custom_id", JSONString.quote(customID))) }
        fields.append(("status", JSONString.quote(succeeded ? "ok" : "error")))
        if let httpStatus { fields.append(("http_status", String(httpStatus))) }
        if let requestedModel { fields.append(("requested_model", JSONString.quote(requestedModel))) }
        if let model { fields.append(("model", JSONString.quote(model))) }
        if let provider { fields.append(("provider", JSONString.quote(provider))) }
        fields.append(("attempts", String(attempts)))
        fields.append(("fallback_used", String(fallbackUsed)))
        if let latencyMicros { fields.append(("latency_ms", JSONText.milliseconds(latencyMicros))) }
        if let callID { fields.append(("call_id", String(callID))) }
        if let responseJSON {
            let isJSON = (try? JSONScanner.parse(responseJSON)) != nil
            fields.append(("response", isJSON ? responseJSON.trimmingSpaces() : JSONString.quote(responseJSON)))
        }
        if let errorMessage {
            var error = "{\"message\":\(JSONString.quote(errorMessage))"
            if let errorCode { error += ",\"code\":\(JSONString.quote(errorCode))" }
            fields.append(("error", error + "}"))
        }
        return "{" + fields.map { "\(JSONString.quote($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }
}

/// JSON text helpers without Foundation.
package enum JSONText {
    /// Microseconds as milliseconds with three decimals ("12.345"), exact.
    package static func milliseconds(_ micros: Int64) -> String {
        let sign = micros < 0 ? "-" : ""
        let magnitude = micros.magnitude
        let fraction = String(magnitude % 1000)
        return sign + String(magnitude / 1000) + "." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}

/// The one-line progress bar `batch` shows on a terminal.
package enum BatchProgress {
    /// "[#######.............]  12/40  1 failed" for `width` bar cells.
    package static func bar(done: Int, total: Int, failed: Int, width: Int = 30) -> String {
        let cells = total > 0 ? min(width, done * width / total) : width
        let bar = String(repeating: "#", count: cells) + String(repeating: ".", count: width - cells)
        var text = "[\(bar)] \(done)/\(total)"
        if failed > 0 { text += "  \(failed) failed" }
        return text
    }
}
