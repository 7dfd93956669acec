import LedgerCore
import LedgerRouting

extension PingResult {
    /// "holysheep  gpt-4.1  ok  123.456 ms  \"pong\"" or "official  gpt-4.1  FAILED  12.000 ms  <diagnosis>".
    var line: String {
        let head =
            "\(provider.name)  \(model)  \(succeeded ? "ok" : "FAILED")  \(JSONText.milliseconds(latencyMicros)) ms"
        if let error { return "\(head)  \(error.description)" }
        let text = (reply ?? "").split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).joined(separator: " ")
        return "\(head)  \(JSONString.quote(String(text.prefix(60))))"
    }
}
