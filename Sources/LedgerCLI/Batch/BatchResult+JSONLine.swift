import LedgerCore
import LedgerProxy
import LedgerRouting

extension BatchResult {
    /// One JSON object on one line (no trailing newline), keys in a fixed order.
    var jsonLine: String {
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
            // A line that never reached the proxy carries the routing failure; its wire code is the proxy's.
            if let errorCode = errorCode ?? failure?.openAICode { error += ",\"code\":\(JSONString.quote(errorCode))" }
            fields.append(("error", error + "}"))
        }
        return "{" + fields.map { "\(JSONString.quote($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }
}

/// JSON text helpers without Foundation.
enum JSONText {
    /// Microseconds as milliseconds with three decimals ("12.345"), exact.
    static func milliseconds(_ micros: Int64) -> String {
        let sign = micros < 0 ? "-" : ""
        let magnitude = micros.magnitude
        let fraction = String(magnitude % 1000)
        return sign + String(magnitude / 1000) + "." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}

/// The one-line progress bar `batch` shows on a terminal.
enum BatchProgress {
    /// "[#######.............]  12/40  1 failed" for `width` bar cells.
    static func bar(done: Int, total: Int, failed: Int, width: Int = 30) -> String {
        let cells = total > 0 ? min(width, done * width / total) : width
        let bar = String(repeating: "#", count: cells) + String(repeating: ".", count: width - cells)
        var text = "[\(bar)] \(done)/\(total)"
        if failed > 0 { text += "  \(failed) failed" }
        return text
    }
}
