/// A calendar month in UTC: the half-open range [first instant, first instant of the next month).
package struct BillingMonth: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    package let year: Int
    package let month: Int

    package init(year: Int, month: Int) throws(BillingMonthError) {
        guard (1970...9999).contains(year) else { throw .yearOutOfRange(year) }
        guard (1...12).contains(month) else { throw .monthOutOfRange(month) }
        self.year = year
        self.month = month
    }

    /// Parses "2026-11". Anything else ("2026-13", "11/2026", "2026-1") is refused with a message naming the input.
    package init(parsing text: String) throws(BillingMonthError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2,
            let y = Int(parts[0]), let m = Int(parts[1]), parts.allSatisfy({ $0.allSatisfy(\.isASCII) })
        else { throw .malformed(text) }
        try self.init(year: y, month: m)
    }

    /// The month containing a timestamp (microseconds since the epoch, UTC).
    package init(containing micros: Int64) {
        let c = UTCDate.civil(days: UTCDate.floorDiv(micros, UTCDate.microsPerDay))
        self.year = c.year
        self.month = c.month
    }

    /// First microsecond of the month.
    package var startMicros: Int64 { UTCDate.days(year: year, month: month, day: 1) * UTCDate.microsPerDay }
    /// First microsecond of the next month (exclusive end).
    package var endMicros: Int64 { next.startMicros }

    package var next: BillingMonth {
        month == 12 ? BillingMonth(unchecked: year + 1, 1) : BillingMonth(unchecked: year, month + 1)
    }

    /// The `yyyymm` integer stored in `call.month` (202611).
    package var code: Int { year * 100 + month }

    package var dayCount: Int { UTCDate.daysInMonth(year: year, month: month) }

    package var description: String { "\(year)-\(month < 10 ? "0" : "")\(month)" }

    package static func < (lhs: BillingMonth, rhs: BillingMonth) -> Bool { lhs.code < rhs.code }

    private init(unchecked year: Int, _ month: Int) {
        self.year = year
        self.month = month
    }
}

/// Why a month could not be parsed.
package enum BillingMonthError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case monthOutOfRange(Int)
    case yearOutOfRange(Int)

    package var description: String {
        switch self {
        case .malformed(let text): "'\(text)' is not a month; use YYYY-MM, e.g. 2026-11"
        case .monthOutOfRange(let m): "month \(m) is out of range 01-12"
        case .yearOutOfRange(let y): "year \(y) is out of range 1970-9999"
        }
    }
}
