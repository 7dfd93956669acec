/// Calendar arithmetic in UTC without Foundation: proleptic Gregorian days since 1970-01-01.
/// (Howard Hinnant's `days_from_civil` / `civil_from_days`.)
package enum UTCDate {
    package static let microsPerDay: Int64 = 86_400_000_000

    /// Days since 1970-01-01 of a civil date.
    package static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day number.
    package static func civil(days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(yoe + era * 400 + (m <= 2 ? 1 : 0)), Int(m), Int(d))
    }

    package static func daysInMonth(year: Int, month: Int) -> Int {
        let next = month == 12 ? days(year: year + 1, month: 1, day: 1) : days(year: year, month: month + 1, day: 1)
        return Int(next - days(year: year, month: month, day: 1))
    }

    /// Floor division that rounds toward negative infinity.
    package static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// "2026-11-26" for a microsecond timestamp.
    package static func isoDay(micros: Int64) -> String {
        let c = civil(days: floorDiv(micros, microsPerDay))
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))"
    }

    /// "2026-11-26T12:34:56.123456Z" for a microsecond timestamp.
    package static func isoTimestamp(micros: Int64) -> String {
        let day = floorDiv(micros, microsPerDay)
        var rest = micros - day * microsPerDay
        let us = rest % 1_000_000
        rest /= 1_000_000
        return isoDay(micros: micros) + "T\(pad(Int(rest / 3600), 2)):\(pad(Int(rest / 60 % 60), 2)):\(pad(Int(rest % 60), 2))"
            + ".\(pad(Int(us), 6))Z"
    }

    /// Parses "YYYY-MM-DD" (UTC midnight) or "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" into microseconds since the epoch.
    package static func micros(parsing text: String) -> Int64? {
        let s = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= s.count, !range.isEmpty else { return nil }
            var v = 0
            for i in range {
                guard s[i] >= 48, s[i] <= 57 else { return nil }
                v = v * 10 + Int(s[i] - 48)
            }
            return v
        }
        guard s.count >= 10, s[4] == UInt8(ascii: "-"), s[7] == UInt8(ascii: "-"),
            let y = number(0..<4), let m = number(5..<7), let d = number(8..<10),
            (1...12).contains(m), d >= 1, d <= daysInMonth(year: y, month: m)
        else { return nil }
        var micros = days(year: y, month: m, day: d) * microsPerDay
        if s.count == 10 { return micros }
        guard s.count >= 20, s[10] == UInt8(ascii: "T"), s[13] == UInt8(ascii: ":"), s[16] == UInt8(ascii: ":"),
            s.last == UInt8(ascii: "Z"), let hh = number(11..<13), let mm = number(14..<16), let ss = number(17..<19),
            hh < 24, mm < 60, ss < 60
        else { return nil }
        micros += Int64((hh * 3600 + mm * 60 + ss)) * 1_000_000
        if s.count == 20 { return micros }
        guard s[19] == UInt8(ascii: "."), s.count >= 22, s.count <= 27, let frac = number(20..<(s.count - 1)) else {
            return nil
        }
        var f = frac
        for _ in 0..<(6 - (s.count - 21)) { f *= 10 }
        return micros + Int64(f)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let s = String(value)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
