import LedgerCore

/// Parses an HTTP `Retry-After` value (RFC 9110 §10.2.3): delay-seconds or an HTTP-date in any of the three forms a
/// recipient must accept (IMF-fixdate, RFC 850, asctime).
package enum RetryAfter {
    /// The wait the value asks for, or nil when it is neither form. A date in the past means "now" (zero).
    /// - Parameters:
    ///   - value: the header's text, e.g. "120" or "Wed, 21 Oct 2015 07:28:00 GMT".
    ///   - nowMicros: the wall clock, microseconds since 1970-01-01T00:00:00Z, to turn a date into a wait.
    package static func parse(_ value: String, nowMicros: Int64) -> Duration? {
        let text = value.trimmingSpaces()
        guard !text.isEmpty else { return nil }
        if text.allSatisfy(\.isASCIIDigit) {
            guard let seconds = Int64(text) else { return nil }
            return .seconds(seconds)
        }
        guard let dateMicros = httpDateMicros(text) else { return nil }
        return .microseconds(max(0, dateMicros - nowMicros))
    }

    /// Microseconds since the epoch of an HTTP-date, or nil.
    package static func httpDateMicros(_ text: String) -> Int64? {
        let fields = text.split(whereSeparator: { $0 == " " }).map(String.init)
        var day: Int?
        var month: Int?
        var year: Int?
        var time: String?
        if fields.count == 6, fields[0].hasSuffix(","), fields[5] == "GMT" {
            // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
            day = Int(fields[1])
            month = monthNumber(fields[2])
            year = Int(fields[3])
            time = fields[4]
        } else if fields.count == 4, fields[0].hasSuffix(","), fields[3] == "GMT" {
            // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
            let parts = fields[1].split(separator: "-").map(String.init)
            guard parts.count == 3, let twoDigit = Int(parts[2]) else { return nil }
            day = Int(parts[0])
            month = monthNumber(parts[1])
            year = parts[2].count == 2 ? (twoDigit < 70 ? 2000 + twoDigit : 1900 + twoDigit) : twoDigit
            time = fields[2]
        } else if fields.count == 5 {
            // asctime: "Sun Nov  6 08:49:37 1994" (the double space collapses in the split)
            month = monthNumber(fields[1])
            day = Int(fields[2])
            time = fields[3]
            year = Int(fields[4])
        }
        guard let day, let month, let year, let time, (1...31).contains(day) else { return nil }
        let clock = time.split(separator: ":").map { Int($0) }
        guard clock.count == 3, let hour = clock[0], let minute = clock[1], let second = clock[2],
            (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second),
            day <= UTCDate.daysInMonth(year: year, month: month)
        else { return nil }
        let days = UTCDate.days(year: year, month: month, day: day)
        let seconds = Int64(hour * 3600 + minute * 60 + second)
        return days * UTCDate.microsPerDay + seconds * 1_000_000
    }

    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    private static func monthNumber(_ name: String) -> Int? {
        months.firstIndex(of: name.lowercased()).map { $0 + 1 }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
